import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadPolicy } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compiled.js';
import { createChecks } from '../../src/checks/registry.js';
import { Pipeline } from '../../src/pipeline/runner.js';
import { scanMessage, type ScanEnvelope } from '../../src/session/scan.js';
import { Session } from '../../src/session/session.js';
import { quietRecorder } from '../../src/session/recorder.js';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Verdict } from '../../src/decision/verdict.js';

/** Symbol weights the Bayes tests rely on, whatever the shipped policy says. */
export const TEST_SYMBOLS = `BAYES_SPAM:
  score: 10
BAYES_HAM:
  score: -5
ALLOWLIST_IP:
  score: -20
ALLOWLIST_SENDER:
  score: -20
ALLOWLIST_SENDER_DOMAIN:
  score: -10
`;

export const TEST_SERVER = `hostname: mx.example.com
local_domains: [example.com]
offline: true
smtp:
  trusted_networks: []
recipient_verification:
  mode: none
`;

const dirs: string[] = [];

/**
 * A policies directory of its own (removed by cleanupPolicies): our test server and symbol
 * weights, or with `shipped` a copy of the shipped policies/ (every check's file and weight).
 * `files` are written over either.
 */
export async function policyDir(files: Record<string, string> = {}, options: { shipped?: boolean } = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-bayes-test-'));
  dirs.push(dir);
  if (options.shipped) await fs.cp(new URL('../../policies', import.meta.url), dir, { recursive: true });
  const defaults = options.shipped ? { 'server.yaml': TEST_SERVER } : { 'server.yaml': TEST_SERVER, 'symbols.yaml': TEST_SYMBOLS };
  for (const [rel, text] of Object.entries({ ...defaults, ...files })) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  return dir;
}

export async function cleanupPolicies(): Promise<void> {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
}

export async function bayesPolicy(files: Record<string, string> = {}, set: Record<string, string> = {}): Promise<CompiledPolicy> {
  const { compiled } = await loadPolicy(await policyDir(files), { overrides: Object.entries(set).map(([key, value]) => ({ key, value })) });
  return compiled;
}

/** The scan path of `borderpatrol scan` on a SqliteStore. */
export class BayesScanner {
  readonly store = new SqliteStore();
  private readonly pipeline: Pipeline;

  constructor(readonly policy: CompiledPolicy) {
    this.pipeline = new Pipeline(createChecks({ store: this.store, log: silentLogger(), metrics: null }));
  }

  async scan(raw: string, envelope: Partial<ScanEnvelope> = {}): Promise<{ verdict: Verdict; symbols: Record<string, number>; details: Record<string, string> }> {
    const verdict = await scanMessage({ policy: this.policy, store: this.store, pipeline: this.pipeline, log: silentLogger() }, Buffer.from(raw), {
      ip: '192.0.2.10',
      helo: 'mail.sender.example',
      from: 'sender@sender.example',
      rcpts: ['user@example.com'],
      ...envelope,
    });
    return {
      verdict,
      symbols: Object.fromEntries(verdict.hits.map((h) => [h.name, h.score])),
      details: Object.fromEntries(verdict.hits.map((h) => [h.name, h.detail ?? ''])),
    };
  }

  /** The live path instead (a scan writes nothing): a Session on the store itself, without a deliverer. */
  async receive(raw: string, envelope: { from: string }): Promise<void> {
    const s = new Session({ policy: () => this.policy, pipeline: this.pipeline, store: this.store, deliverer: null, verifier: null, recorder: quietRecorder, log: silentLogger() });
    await s.connect({ ip: '192.0.2.10', port: 0, rdns: '', source: 'socket' });
    await s.helo('mail.sender.example');
    await s.mail(envelope.from);
    await s.rcpt('user@example.com');
    await s.data(Buffer.from(raw.replace(/\r?\n/g, '\r\n')));
    s.close();
  }
}
