import { parse, UsageError } from './common.js';
import { adminPassword, PASSWORD_HINT } from './password.js';
import { loadPolicy } from '../policy/load.js';
import { splitHostPort } from '../net/schema.js';
import type { Stats } from '../history/stats.js';

export const STATS_HELP = `Usage: borderpatrol stats [options]

Print the last hour's verdict counts (by action and by refusal reason) from a running
server's admin API.

  --server URL        admin API (default: admin.listen from the policies, http://127.0.0.1:11334)
  --password PW       admin password (default: $BORDERPATROL_PASSWORD, the file
                      $BORDERPATROL_PASSWORD_FILE, then admin.password from the policies)
  --window SECONDS    how far back to count (default 3600)
  --policies DIR      policy directory to read the defaults from (default ./policies)
  --json              print the JSON the API returned
`;

export async function statsCommand(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      server: { type: 'string' },
      password: { type: 'string' },
      window: { type: 'string', default: '3600' },
      policies: { type: 'string', default: './policies' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    false,
  );
  if (values.help) {
    process.stdout.write(STATS_HELP);
    return 0;
  }
  if (!/^\d+$/.test(values.window)) throw new UsageError(`--window ${values.window}: expected a number of seconds`);
  const { server, password } = await target(values.server, adminPassword(values.password), values.policies);
  const url = new URL('/stats', server);
  url.searchParams.set('window', values.window);
  let res: Response;
  try {
    res = await fetch(url, { headers: password ? { Password: password } : {}, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    process.stderr.write(`borderpatrol: cannot reach the admin API at ${server}: ${cause}\n  (is the server running? is admin.enabled true? --server URL)\n`);
    return 1;
  }
  const text = await res.text();
  if (res.status === 401 || res.status === 403) {
    process.stderr.write(`borderpatrol: the admin API at ${server} refused the password (HTTP ${res.status}): give ${PASSWORD_HINT}\n`);
    return 1;
  }
  if (!res.ok) {
    process.stderr.write(`borderpatrol: ${url.href} answered HTTP ${res.status}: ${text.trim()}\n`);
    return 1;
  }
  const stats = JSON.parse(text) as Stats;
  process.stdout.write(values.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats));
  return 0;
}

/** The admin URL and password: flags first, then the policy the server runs with. */
async function target(server: string | undefined, password: string | undefined, policiesDir: string): Promise<{ server: string; password: string }> {
  if (server && password !== undefined) return { server: normalizeServer(server), password };
  let listen = '127.0.0.1:11334';
  let policyPassword = '';
  try {
    const { compiled } = await loadPolicy(policiesDir);
    listen = compiled.policy.admin.listen;
    policyPassword = compiled.policy.admin.password;
  } catch {
    // No readable policy here: the built-in defaults stand.
  }
  const { host, port } = splitHostPort(listen);
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const fromPolicy = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  return { server: normalizeServer(server ?? fromPolicy), password: password ?? policyPassword };
}

function normalizeServer(s: string): string {
  const withScheme = /^https?:\/\//.test(s) ? s : `http://${s}`;
  try {
    return new URL(withScheme).origin;
  } catch {
    throw new UsageError(`--server ${s}: expected a URL like http://127.0.0.1:11334`);
  }
}

/** Two small tables an admin reads at a glance. */
export function formatStats(s: Stats): string {
  const minutes = Math.round(s.window / 60);
  const span = minutes % 60 === 0 ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}` : `${minutes} minutes`;
  const lines = [`Last ${span} (${s.since.slice(0, 16).replace('T', ' ')} to ${s.until.slice(0, 16).replace('T', ' ')} UTC): ${s.total} transaction${s.total === 1 ? '' : 's'}`];
  if (s.truncated) lines.push(`(the history holds only the newest entries: counts are a lower bound; raise history.size)`);
  const table = (title: string, counts: Record<string, number>) => {
    const entries = Object.entries(counts);
    lines.push('', title);
    if (entries.length === 0) {
      lines.push('  (none)');
      return;
    }
    const width = Math.max(...entries.map(([k]) => k.length));
    for (const [k, n] of entries) lines.push(`  ${k.padEnd(width)}  ${String(n).padStart(6)}`);
  };
  table('by action', s.actions);
  table('refusals by reason', s.reasons);
  return lines.join('\n') + '\n';
}
