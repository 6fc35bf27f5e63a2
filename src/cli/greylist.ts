import { commonOptions, overridesFrom, parse, UsageError } from './common.js';
import { adminPassword, PASSWORD_HINT } from './password.js';
import { openEngine } from './engine.js';
import type { GreylistEntry } from '../stores/types.js';

export const GREYLIST_HELP = `Usage: borderpatrol greylist list [MATCH] [options]
       borderpatrol greylist release KEY [options]

See greylisted entries (keys are CLIENT_NETWORK|SENDER|RECIPIENT for triplets,
msg:HASH|SENDER|RECIPIENT for messages deferred by score) and let one through at once.

  --server URL        ask a running server's admin listener (e.g. http://127.0.0.1:11334);
                      the way to go with the embedded store while the server runs
  --password PW       admin password for --server (default: $BORDERPATROL_PASSWORD, or the
                      first line of the file $BORDERPATROL_PASSWORD_FILE)
  --limit N           list at most N entries (default 100)
  --json              print JSON instead of a table
  --policies DIR      policy directory (default ./policies), for the local store
  --redis URL         the Redis store a server uses
  --data-dir DIR      the embedded store in DIR (only while no server uses it)
  --set KEY=VALUE     override any policy key by its dotted path (repeatable)
`;

interface Listed {
  key: string;
  first_seen: string;
  passed: boolean;
  ttl: number;
}

/** Where the entries live: a running server (admin API) or the store itself. */
interface Target {
  list(match: string, limit: number): Promise<Listed[]>;
  release(key: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function greylistCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...commonOptions,
    server: { type: 'string' },
    password: { type: 'string' },
    limit: { type: 'string', default: '100' },
    json: { type: 'boolean', default: false },
  });
  if (values.help) {
    process.stdout.write(GREYLIST_HELP);
    return 0;
  }
  const [action, arg, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`greylist: unexpected "${extra.join(' ')}"`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit ${values.limit}: expected a whole number from 1 to 10000`);
  if (action !== 'list' && action !== 'release') throw new UsageError(`greylist: expected list or release, not ${action === undefined ? 'nothing' : `"${action}"`}\n\n${GREYLIST_HELP}`);
  if (action === 'release' && !arg) throw new UsageError('greylist release: give the KEY of the entry (see greylist list)');

  const target = values.server ? remoteTarget(values.server, adminPassword(values.password) ?? '') : await localTarget(values, action);
  try {
    if (action === 'list') {
      const entries = await target.list(arg ?? '', limit);
      if (values.json) process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
      else printTable(entries);
      return 0;
    }
    const key = arg as string;
    if (await target.release(key)) {
      process.stdout.write(`released ${key}\n`);
      return 0;
    }
    process.stderr.write(`borderpatrol: no greylist entry ${key}\n`);
    return 1;
  } finally {
    await target.close();
  }
}

function printTable(entries: Listed[]): void {
  if (entries.length === 0) {
    process.stdout.write('no entries\n');
    return;
  }
  for (const e of entries) process.stdout.write(`${e.key}\t${e.first_seen}\t${e.passed ? 'passed' : 'waiting'}\t${e.ttl}s\n`);
}

function remoteTarget(server: string, password: string): Target {
  if (!password) throw new UsageError(`--server needs the admin password: ${PASSWORD_HINT}`);
  const base = /^https?:\/\//i.test(server) ? server : `http://${server}`;
  const call = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> => {
    const url = new URL(path, base);
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { Password: password, 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new UsageError(`${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    if (res.status === 401 || res.status === 403) throw new UsageError(`${url.origin}: ${res.status}: wrong or missing admin password (--password)`);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message
    }
    if (res.status !== 200 && res.status !== 404) throw new Error(`${url.origin} answered ${res.status}: ${text.trim().slice(0, 200)}`);
    return { status: res.status, body };
  };
  return {
    list: async (match, limit) => {
      const { body } = await call(`/greylist?match=${encodeURIComponent(match)}&limit=${limit}`);
      return (body as { entries: Listed[] }).entries;
    },
    release: async (key) => (await call('/greylist/release', { method: 'POST', body: JSON.stringify({ key }) })).status === 200,
    close: async () => undefined,
  };
}

async function localTarget(values: Record<string, unknown>, action: 'list' | 'release'): Promise<Target> {
  const engine = await openEngine({ policiesDir: String(values.policies), overrides: overridesFrom(values), access: action === 'list' ? 'read' : 'write', command: `greylist ${action}` });
  const passTtl = engine.policy.policy.greylist.pass_ttl;
  const shown = (e: GreylistEntry): Listed => ({ key: e.key, first_seen: new Date(e.firstSeen).toISOString(), passed: e.passed, ttl: e.ttl });
  return {
    list: async (match, limit) => (await engine.store.greylistList(match, limit)).map(shown),
    release: (key) => engine.store.greylistRelease(key, passTtl),
    close: () => engine.close(),
  };
}
