import { z } from 'zod';
import { policySchema } from './schema.js';

export interface PolicyKey {
  /** Dotted path, as `--set` and `policy set` take it. */
  path: string;
  type: string;
  default: unknown;
}

interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  default?: unknown;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
}

/**
 * Every leaf key of the policy with its type and default, read from the schema itself so
 * the list can never drift from what the loader accepts (README's key table is checked
 * against it).
 */
export function policyKeys(): PolicyKey[] {
  const root = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const out: PolicyKey[] = [];
  const typeOf = (n: JsonSchemaNode): string => {
    if (n.enum) return n.enum.map(String).join(' | ');
    if (Array.isArray(n.type)) return n.type.join(' | ');
    if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'values'}`;
    if (n.anyOf) return n.anyOf.map(typeOf).join(' | ');
    return n.type ?? 'value';
  };
  const walk = (n: JsonSchemaNode, path: string[]): void => {
    if (n.type === 'object' && n.properties && Object.keys(n.properties).length > 0) {
      for (const [k, v] of Object.entries(n.properties)) walk(v, [...path, k]);
      return;
    }
    out.push({ path: path.join('.'), type: typeOf(n), default: n.default });
  };
  walk(root, []);
  return out;
}
