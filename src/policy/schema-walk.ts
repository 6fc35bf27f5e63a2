import type { z } from 'zod';
import { policySchema } from './schema.js';

/**
 * Looks inside the policy schema by object path, so error messages can suggest the key an
 * admin meant and the loader can tell an empty section (`admin:` with every line commented
 * out) from a value of the wrong type.
 */

type AnySchema = z.core.$ZodType;

/** The def fields this walker reads; zod's own types are a union too wide to narrow cheaply. */
interface WalkDef {
  type: string;
  innerType?: AnySchema;
  shape?: Record<string, AnySchema>;
  valueType?: AnySchema;
  element?: AnySchema;
  in?: AnySchema;
}

function defOf(s: AnySchema): WalkDef {
  return s._zod.def as unknown as WalkDef;
}

/** Strip defaults, optionals, nullables and pipes down to the schema that holds the shape. */
export function unwrap(s: AnySchema): AnySchema {
  for (let i = 0; i < 20; i++) {
    const d = defOf(s);
    if ((d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'nullable') && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else break;
  }
  return s;
}

/** The schema at an object path, or undefined when the path leaves the schema. */
export function schemaAt(path: readonly PropertyKey[], root: AnySchema = policySchema): AnySchema | undefined {
  let s: AnySchema | undefined = root;
  for (const key of path) {
    if (!s) return undefined;
    const d = defOf(unwrap(s));
    if (d.type === 'object' && d.shape) s = Object.hasOwn(d.shape, String(key)) ? d.shape[String(key)] : undefined;
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'array') s = d.element;
    else return undefined;
  }
  return s;
}

/** The kind of value expected at a path: 'object', 'record', 'array', 'number', … */
export function kindAt(path: readonly PropertyKey[]): string | undefined {
  const s = schemaAt(path);
  return s ? defOf(unwrap(s)).type : undefined;
}

/** The keys an object at `path` accepts (undefined when it is not a fixed-shape object). */
export function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  const s = schemaAt(path);
  if (!s) return undefined;
  const d = defOf(unwrap(s));
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined;
}

/** The known key closest to a mistyped one, when it is close enough to be a typo. */
export function closestKey(wrong: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(wrong.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(wrong.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/**
 * True when a null at `path` should read as "use the defaults": a section whose every line
 * is commented out parses as null, which is not a mistake worth refusing a reload for.
 */
export function emptyMeansDefault(path: readonly PropertyKey[]): boolean {
  let s = schemaAt(path);
  for (let i = 0; s && i < 20; i++) {
    const d = defOf(s);
    if (d.type === 'nullable') return false;
    if (d.type === 'object' || d.type === 'record') return true;
    s = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
  }
  return false;
}
