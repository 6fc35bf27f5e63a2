import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Override } from '../policy/load.js';
import { splitHostPort } from '../net/schema.js';

/** A problem with the command line or its input: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Options every command that reads policy or the store shares with `serve`. */
export const commonOptions = {
  policies: { type: 'string', default: './policies' },
  set: { type: 'string', multiple: true, default: [] as string[] },
  redis: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function parseSet(values: readonly string[]): Override[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${v}: expected key=value (e.g. --set local_domains=example.com)`);
    return { key: v.slice(0, eq).trim(), value: v.slice(eq + 1) };
  });
}

function checkHostPort(flag: string, value: string): void {
  const { host, port } = splitHostPort(value);
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${flag} ${value}: expected HOST:PORT`);
}

/** Turn the shortcut flags into the policy overrides they stand for. */
export function flagOverrides(values: Record<string, unknown>): Override[] {
  const out: Override[] = [];
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const listen = str('listen');
  if (listen) {
    checkHostPort('--listen', listen);
    out.push({ key: 'listen', value: listen });
  }
  const relay = str('relay');
  if (relay) {
    checkHostPort('--relay', relay);
    const { host, port } = splitHostPort(relay);
    out.push({ key: 'relay.host', value: host }, { key: 'relay.port', value: String(port) });
  }
  const admin = str('admin');
  if (admin) {
    checkHostPort('--admin', admin);
    out.push({ key: 'admin.listen', value: admin });
  }
  const redis = str('redis');
  if (redis !== undefined) out.push({ key: 'store.redis', value: redis });
  const dataDir = str('data-dir');
  // Paths in policy files are relative to the policies directory; on the command line, to here.
  if (dataDir) out.push({ key: 'store.data_dir', value: path.resolve(dataDir) });
  if (values['dry-run'] === true) out.push({ key: 'dry_run', value: 'true' });
  return out;
}

/** All overrides for a command: the shortcut flags first, then --set (which wins). */
export function overridesFrom(values: Record<string, unknown>): Override[] {
  const sets = Array.isArray(values.set) ? (values.set as string[]) : [];
  return [...flagOverrides(values), ...parseSet(sets)];
}
