import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { PolicyError } from '../../src/policy/errors.js';
import { loadPolicy, type Override } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compiled.js';
import { createChecks } from '../../src/checks/registry.js';
import { Pipeline } from '../../src/pipeline/runner.js';
import { scanMessage } from '../../src/session/scan.js';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Verdict } from '../../src/decision/verdict.js';
import { tempPolicies } from '../policy/helpers.js';

/**
 * "Scan this message from this client, expect this symbol": a real policy directory (the
 * shipped symbols.yaml plus the files a test gives), the registered checks, a SqliteStore,
 * and the same scan path as `borderpatrol scan` (connect, helo, mail, rcpt, then
 * evaluateMessage at end of DATA).
 */

const SHIPPED = (rel: string) => fs.readFileSync(new URL(`../../policies/${rel}`, import.meta.url), 'utf8');

/** Our server in the tests: example.com is local, nothing is a trusted network. */
export const TEST_SERVER_YAML = `hostname: mx.example.com
local_domains: [example.com]
smtp:
  trusted_networks: []
`;

export interface TestPolicyOptions {
  /** Files to write over the shipped ones (paths relative to the policies directory). */
  files?: Record<string, string>;
  /** Scores for symbols the test's own rules name. */
  symbols?: Record<string, number>;
  /** The test DNS server (`127.0.0.1:PORT`); without one the policy is offline. */
  dns?: string;
  set?: Record<string, string>;
}

/**
 * The shipped policy for the checks tested here (headers, auth, dnsbl, content and every
 * symbol's score), with our test server's identity, changed by the test's own files. A
 * shipped score whose rule the test replaced is left out, as an admin would remove it.
 * Never touches the network: DNS goes to the test's server on loopback, or nowhere.
 */
export async function testPolicy(o: TestPolicyOptions = {}): Promise<CompiledPolicy> {
  const files: Record<string, string> = { 'server.yaml': TEST_SERVER_YAML };
  for (const name of ['headers', 'auth', 'dnsbl', 'content']) files[`checks/${name}.yaml`] = SHIPPED(`checks/${name}.yaml`);
  Object.assign(files, o.files);
  const symbols = { ...(parseYaml(SHIPPED('symbols.yaml')) as Record<string, { score: number }>) };
  for (const [name, score] of Object.entries(o.symbols ?? {})) symbols[name] = { score };
  const set: Record<string, string> = o.dns ? { 'dns.servers': o.dns, 'dns.timeout': '500' } : { offline: 'true' };
  const overrides: Override[] = Object.entries({ ...set, ...o.set }).map(([key, value]) => ({ key, value }));
  const dir = await tempPolicies({ ...files, 'symbols.yaml': stringifyYaml(symbols) });
  try {
    return (await loadPolicy(dir, { overrides })).compiled;
  } catch (err) {
    const unknown = err instanceof PolicyError ? err.problems.flatMap((p) => /unknown symbol "(\w+)": no check emits it/.exec(p.message)?.[1] ?? []) : [];
    if (unknown.length === 0) throw err;
    for (const u of unknown) delete symbols[u];
    await fs.promises.writeFile(path.join(dir, 'symbols.yaml'), stringifyYaml(symbols));
    return (await loadPolicy(dir, { overrides })).compiled;
  }
}

export interface Client {
  ip?: string;
  helo?: string;
  from?: string;
  rcpts?: string[];
}

export interface Scanned {
  verdict: Verdict;
  /** Symbol → its score in the verdict. */
  symbols: Record<string, number>;
  /** Symbol → the detail its check gave. */
  details: Record<string, string>;
}

export class Scanner {
  readonly store = new SqliteStore();
  private readonly pipeline: Pipeline;
  private readonly log = silentLogger();

  constructor(readonly policy: CompiledPolicy) {
    this.pipeline = new Pipeline(createChecks({ store: this.store, log: this.log, metrics: null }));
  }

  async scan(raw: string | Buffer, client: Client = {}): Promise<Scanned> {
    const verdict = await scanMessage(
      { policy: this.policy, store: this.store, pipeline: this.pipeline, log: this.log },
      Buffer.isBuffer(raw) ? raw : Buffer.from(raw),
      { ip: client.ip ?? '127.0.0.2', helo: client.helo ?? 'mail.sender.test', from: client.from ?? 'alice@sender.test', rcpts: client.rcpts ?? ['bob@example.com'] },
    );
    const symbols: Record<string, number> = {};
    const details: Record<string, string> = {};
    for (const h of verdict.hits) {
      symbols[h.name] = h.score;
      details[h.name] = h.detail ?? '';
    }
    return { verdict, symbols, details };
  }
}

export interface MessageSpec {
  /** Header lines in order; each "Name: value". Defaults give a complete, valid message. */
  headers?: string[];
  /** Default headers to leave out (field names, any case). */
  omit?: string[];
  /** Replace the default headers entirely. */
  onlyHeaders?: string[];
  body?: string;
}

/** A complete, plain, valid message unless the spec changes it. Lines end in CRLF. */
export function message(spec: MessageSpec = {}): string {
  const defaults = [
    'From: Alice <alice@sender.test>',
    'To: Bob <bob@example.com>',
    'Subject: Lunch on Thursday',
    'Date: ' + new Date().toUTCString().replace('GMT', '+0000'),
    'Message-ID: <20240101.1234@sender.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  const overridden = new Set([...(spec.headers ?? []).map((h) => h.slice(0, h.indexOf(':'))), ...(spec.omit ?? [])].map((n) => n.toLowerCase()));
  const headers = spec.onlyHeaders ?? [...defaults.filter((h) => !overridden.has(h.slice(0, h.indexOf(':')).toLowerCase())), ...(spec.headers ?? [])];
  return [...headers, '', spec.body ?? 'Shall we meet at noon?\r\nAlice', ''].join('\r\n');
}

/** A multipart/mixed message from ready-made parts (each part: its header lines and body). */
export function multipart(headers: string[], parts: Array<{ headers: string[]; body: string }>, boundary = 'b-o-u-n-d'): string {
  const lines = [...headers, `Content-Type: multipart/mixed; boundary="${boundary}"`, '', 'This is a multi-part message.'];
  for (const p of parts) lines.push(`--${boundary}`, ...p.headers, '', p.body);
  lines.push(`--${boundary}--`, '');
  return lines.join('\r\n');
}
