import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startBorderpatrol, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { cli } from '../policy/helpers.js';
import { policyDir, cleanupPolicies } from './helpers.js';
import { hamMessage, spamMessage } from './synthetic.js';

/**
 * `borderpatrol scan` and the live proxy must give the same verdict for the same message
 * from the same client: train a data dir with `learn`, start the server on it (relaying to
 * smtp-sink), send each message with swaks, and compare the server's history entry (and
 * the X-Spam-* fields of what it relayed) with `scan --json` on the same data dir.
 */

const SHIPPED_SYMBOLS = await fs.readFile(new URL('../../policies/symbols.yaml', import.meta.url), 'utf8');
const PASSWORD = 'parity';
const HELO = 'mail.sender.example';
const FROM = 'sender@sender.example';
const RCPT = 'user@example.com';

let work: string;
let policies: string;
let dataDir: string;
let sink: SmtpSink;
let server: TestServer | null = null;
const files: Record<string, string> = {};

before(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-parity-'));
  dataDir = path.join(work, 'data');
  policies = await policyDir(
    {
    // Loopback is a trusted network here (as shipped), so greylisting leaves the test client alone.
    'server.yaml': 'hostname: mx.example.com\nlocal_domains: [example.com]\noffline: true\nrecipient_verification:\n  mode: none\n',
    // Bayes alone can reject here, so the test sees a rejection as well as acceptances.
    'symbols.yaml': SHIPPED_SYMBOLS.replace(/BAYES_SPAM:\n  score: [\d.]+/, 'BAYES_SPAM:\n  score: 16'),
    'checks/bayes.yaml': 'min_learns: 20\n',
  }, { shipped: true });
  for (const cls of ['spam', 'ham'] as const) {
    const dir = path.join(work, `train-${cls}`);
    await fs.mkdir(dir);
    for (let i = 0; i < 30; i++) await fs.writeFile(path.join(dir, `${i}.eml`), cls === 'spam' ? spamMessage({ seed: i }) : hamMessage({ seed: i }));
    const r = await cli(['learn', cls, dir, '--policies', policies, '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
  }
  const half = spamMessage({ seed: 501 }).split('\r\n\r\n')[0] + '\r\n\r\n' + hamMessage({ seed: 501 }).split('\r\n\r\n').slice(1).join('\r\n\r\n');
  const probes = { 'ham.eml': hamMessage({ seed: 500 }), 'spam.eml': spamMessage({ seed: 500 }), 'mixed.eml': half, 'no-date.eml': hamMessage({ seed: 502 }).replace(/^Date: .*\r\n/m, '') };
  for (const [name, text] of Object.entries(probes)) {
    files[name] = path.join(work, name);
    await fs.writeFile(files[name], text);
  }
  sink = await startSmtpSink();
  server = await startBorderpatrol({ relayPort: sink.port, policiesDir: policies, set: { 'store.data_dir': dataDir, 'admin.password': PASSWORD, 'recipient_verification.mode': 'none' } });
});

after(async () => {
  await server?.stop();
  await sink?.stop();
  await fs.rm(work, { recursive: true, force: true });
  await cleanupPolicies();
});

interface HistoryEntry {
  action: string;
  score?: number;
  hits: Array<[string, number]>;
}

async function newestHistory(): Promise<HistoryEntry> {
  const res = await fetch(`http://127.0.0.1:${server!.adminPort}/history?limit=1`, { headers: { Password: PASSWORD } });
  const body = (await res.json()) as { entries: HistoryEntry[] };
  assert.ok(body.entries[0], 'the server recorded the transaction');
  return body.entries[0];
}

test('scan --json and the live proxy agree on every message', async () => {
  const live: Record<string, { action: string; score: number | undefined; headers: string | null }> = {};
  for (const [name, file] of Object.entries(files)) {
    const r = await swaks(['--server', `127.0.0.1:${server!.port}`, '--helo', HELO, '--from', FROM, '--to', RCPT, '--data', file]);
    const entry = await newestHistory();
    // smtp-sink's file names are not in arrival order: find the copy by its Message-ID.
    const messageId = /^Message-ID: (.*)$/m.exec(await fs.readFile(file, 'utf8'))?.[1]?.trim() ?? '';
    const relayed = sink.messages().filter((m) => m.includes(messageId));
    live[name] = { action: entry.action, score: entry.score, headers: relayed[0] ?? null };
    if (entry.action === 'reject') assert.match(r.out, /<\*\* 550 5\.7\.1 /, `${name}: rejected at end of DATA`);
    else if (entry.action === 'greylist') assert.match(r.out, /<\*\* 451 4\.7\.1 /, `${name}: deferred at end of DATA`);
    else assert.equal(relayed.length, 1, `${name}: relayed (${r.out})`);
  }
  const scanned = await cli(['scan', '--json', '--offline', '--ip', '127.0.0.1', '--helo', HELO, '--from', FROM, '--rcpt', RCPT, ...Object.values(files), '--policies', policies, '--data-dir', dataDir]);
  assert.equal(scanned.code, 0, scanned.stderr);
  const results = scanned.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; action: string; score: number; symbols: Record<string, number> });
  assert.equal(results.length, Object.keys(files).length);
  for (const r of results) {
    const name = path.basename(r.file);
    const l = live[name]!;
    assert.equal(r.action, l.action, `${name}: scan says ${r.action}, the proxy did ${l.action}`);
    assert.equal(r.score, l.score, `${name}: same score`);
    if (l.headers) {
      assert.match(l.headers, new RegExp(`^X-Spam-Score: ${r.score.toFixed(2)}\\r?$`, 'm'), `${name}: relayed with the scan's score`);
      assert.match(l.headers, new RegExp(`^X-Spam-Action: ${r.action}\\r?$`, 'm'));
      for (const [symbol, score] of Object.entries(r.symbols)) assert.ok(l.headers.includes(`${symbol}(${score})`), `${name}: ${symbol}(${score}) stamped`);
    }
  }
  const actions = new Set(results.map((r) => r.action));
  assert.ok(actions.has('reject') && actions.has('accept'), `both a rejection and an acceptance were compared: ${[...actions].join(', ')}`);
});
