import { parse as parseYamlValue } from 'yaml';
import { policySchema, type Policy } from './schema.js';
import type { SourceMap } from './source-map.js';

/** A `--set key=value` override, applied after the files and before validation. */
export interface Override {
  key: string;
  value: string;
}

const DEFAULTS: Policy = policySchema.parse({});

/**
 * What the text of `--set key=value` (or `policy set KEY VALUE`) means for that key:
 * comma lists where the key is a list, YAML scalars (numbers, booleans, null) elsewhere,
 * and always a string where the key is a string.
 */
export function parseOverrideValue(key: string, value: string): unknown {
  let defaultAt: unknown = DEFAULTS;
  for (const p of key.split('.')) defaultAt = defaultAt && typeof defaultAt === 'object' ? (defaultAt as Record<string, unknown>)[p] : undefined;
  if (Array.isArray(defaultAt)) return value.trim() === '' ? [] : value.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof defaultAt === 'string') return value;
  let parsed: unknown;
  try {
    parsed = parseYamlValue(value);
  } catch {
    return value;
  }
  if (parsed === null && value !== 'null' && value !== '~') return value;
  return parsed;
}

/** Apply `--set a.b.c=value` overrides to the raw policy before validation. */
export function applyOverrides(raw: Record<string, unknown>, overrides: readonly Override[], sources: SourceMap): void {
  for (const { key, value } of overrides) {
    const parts = key.split('.');
    let target = raw;
    for (const p of parts.slice(0, -1)) {
      const next = target[p];
      if (!next || typeof next !== 'object' || Array.isArray(next)) target[p] = {};
      target = target[p] as Record<string, unknown>;
    }
    target[parts[parts.length - 1] as string] = parseOverrideValue(key, value);
    sources.set(parts, { file: `--set ${key}`, line: 0, col: 0 });
  }
}

