import fs from 'node:fs/promises';
import { adminPassword, PASSWORD_HINT } from './password.js';
import { parse, UsageError } from './common.js';
import { policiesDirOf, policiesOption, reportFailure } from './policy-errors.js';
import { loadPolicy } from '../policy/load.js';
import { splitHostPort } from '../net/schema.js';
import { historyEntryProblem, replayHistory, type WhatIfReport } from '../history/whatif.js';
import type { HistoryEntry } from '../history/record.js';

export const POLICY_WHATIF_HELP = `Usage: borderpatrol policy whatif DIR [--server URL] [--password PW] [--limit N]
       borderpatrol policy whatif DIR --history FILE

Replay the verdict history of a running server (the symbols each message hit, not the mail)
under the draft policy in DIR, and print how many messages would change action, from what
to what, with examples. Nothing is changed anywhere.

  --server URL     admin API of the running server (default: the draft's admin.listen)
  --password PW    admin password (default: $BORDERPATROL_PASSWORD, the file $BORDERPATROL_PASSWORD_FILE, then the draft's)
  --limit N        newest N history entries (default 10000)
  --history FILE   read entries from a file instead: JSON lines, or a saved GET /history answer
  --examples N     examples to print (default 10)
`;

class WhatIfInputError extends Error {}

export async function policyWhatifCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...policiesOption,
    server: { type: 'string' },
    password: { type: 'string' },
    limit: { type: 'string', default: '10000' },
    history: { type: 'string' },
    examples: { type: 'string', default: '10' },
  });
  if (values.help) {
    process.stdout.write(POLICY_WHATIF_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`policy whatif takes one draft directory, got ${positionals.length}`);
  const dir = policiesDirOf(values.policies, positionals[0]);
  const limit = wholeNumber('--limit', values.limit, 1, 100_000);
  const examples = wholeNumber('--examples', values.examples, 0, 10_000);
  if (values.history !== undefined && values.server !== undefined) throw new UsageError('give --history or --server, not both');
  try {
    const { compiled } = await loadPolicy(dir);
    let entries: HistoryEntry[];
    if (values.history !== undefined) entries = await readHistoryFile(values.history);
    else {
      const server = values.server ?? adminUrl(compiled.policy.admin.listen);
      const password = adminPassword(values.password) ?? compiled.policy.admin.password;
      process.stderr.write(`fetching up to ${limit} history entries from ${server} ...\n`);
      entries = await fetchHistory(server, password, limit);
    }
    process.stderr.write(`replaying ${entries.length} entries under ${dir} (version ${compiled.version})\n`);
    process.stdout.write(formatReport(replayHistory(entries, compiled), dir, examples));
    return 0;
  } catch (err) {
    if (err instanceof WhatIfInputError) {
      process.stderr.write(`borderpatrol: ${err.message}\n`);
      return 1;
    }
    return reportFailure(err);
  }
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${text}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** The admin listener as a URL a client can reach (a wildcard bind is reached on loopback). */
function adminUrl(listen: string): string {
  const { host, port } = splitHostPort(listen);
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

async function fetchHistory(server: string, password: string, limit: number): Promise<HistoryEntry[]> {
  const url = new URL('/history', server);
  url.searchParams.set('limit', String(limit));
  let res: Response;
  try {
    res = await fetch(url, { headers: password ? { Password: password } : {}, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new WhatIfInputError(`cannot reach the server at ${server}: ${cause} (is it running? use --server URL, or --history FILE)`);
  }
  if (res.status === 401 || res.status === 403) {
    throw new WhatIfInputError(`${server} refused the history (HTTP ${res.status}): give the admin password with ${PASSWORD_HINT}`);
  }
  if (!res.ok) throw new WhatIfInputError(`${server}/history answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const body = (await res.json()) as { entries?: unknown[] };
  return checkEntries(body.entries ?? [], `${server}/history`);
}

/** JSON lines (one entry a line), or one JSON document with an `entries` list. */
async function readHistoryFile(file: string): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new WhatIfInputError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && /^\{\s*"(count|entries)"/.test(trimmed)) {
    try {
      const doc = JSON.parse(text) as { entries?: unknown[] };
      return checkEntries(doc.entries ?? [], file);
    } catch (err) {
      if (err instanceof WhatIfInputError) throw err;
      // Not one document: read it as JSON lines below.
    }
  }
  const out: HistoryEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new WhatIfInputError(`${file}:${i + 1}: not valid JSON`);
    }
    const problem = historyEntryProblem(value);
    if (problem) throw new WhatIfInputError(`${file}:${i + 1}: not a history entry: ${problem}`);
    out.push(value as HistoryEntry);
  });
  return out;
}

function checkEntries(values: unknown[], source: string): HistoryEntry[] {
  values.forEach((v, i) => {
    const problem = historyEntryProblem(v);
    if (problem) throw new WhatIfInputError(`${source}: entry ${i + 1} is not a history entry: ${problem}`);
  });
  return values as HistoryEntry[];
}

function score(n: number | undefined): string {
  return n === undefined ? 'unscored' : n.toFixed(2);
}

export function formatReport(r: WhatIfReport, dir: string, examples: number): string {
  const out: string[] = [];
  const pct = r.replayed > 0 ? ` (${((100 * r.changed) / r.replayed).toFixed(1)}%)` : '';
  out.push(`${dir}: ${r.changed} of ${r.replayed} replayed messages would change action${pct}`);
  if (r.skipped > 0) out.push(`  ${r.skipped} of ${r.total} history entries skipped: refused for reasons the policy does not decide (relaying, unknown recipient, size)`);
  if (r.transitions.length > 0) {
    out.push('', 'changes:');
    const width = Math.max(...r.transitions.map((t) => `${t.before} -> ${t.after}`.length));
    for (const t of r.transitions) out.push(`  ${`${t.before} -> ${t.after}`.padEnd(width)}  ${t.count}`);
  }
  const actions = [...new Set([...Object.keys(r.before), ...Object.keys(r.after)])] as Array<keyof WhatIfReport['before']>;
  if (actions.length > 0) {
    out.push('', 'actions now -> under the draft:');
    for (const a of actions) out.push(`  ${a.padEnd(15)} ${String(r.before[a] ?? 0).padStart(7)} -> ${r.after[a] ?? 0}`);
  }
  const shown = r.changes.slice(0, examples);
  if (shown.length > 0) {
    out.push('', 'examples:');
    for (const c of shown) {
      const note = c.contentUnseen ? '  (refused before DATA: content never scored)' : '';
      out.push(`  ${c.time}  tx ${c.tx}  from <${c.from}> [${c.ip}]  score ${score(c.oldScore)} -> ${score(c.newScore)}  ${c.before} -> ${c.after}${note}`);
    }
  }
  return out.join('\n') + '\n';
}
