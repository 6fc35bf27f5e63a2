import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startBorderpatrol, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { spamMessage } from '../bayes/synthetic.js';

/**
 * rspamd's read-only controller routes, driven by Debian's real `rspamc`: what an admin
 * types (`rspamc stat`, `rspamc counters`) and what monitoring agents poll (/stat, /ping).
 */

const PASSWORD = 'stat-secret';
const SYMBOLS = 'INVALID_DATE:\n  score: 1.5\nBAYES_SPAM:\n  score: 5\n';
let server: TestServer;
let sink: SmtpSink;
let work: string;

before(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-rspamd-ctl-'));
  sink = await startSmtpSink();
  server = await startBorderpatrol({ relayPort: sink.port, set: { 'admin.password': PASSWORD, 'store.data_dir': path.join(work, 'data') }, files: { 'symbols.yaml': SYMBOLS } });
});

after(async () => {
  await server?.stop();
  await sink?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

function rspamc(args: string[], stdin?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('rspamc', ['-h', `127.0.0.1:${server.adminPort}`, '-t', '10', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

test('GET /ping answers pong', async () => {
  const res = await fetch(`http://127.0.0.1:${server.adminPort}/ping`);
  assert.equal(res.status, 200);
  assert.equal((await res.text()).trim(), 'pong');
});

test('rspamc stat: scanned messages by action, learned counts and the two statfiles', async () => {
  let r = await rspamc(['stat']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Messages scanned: 0\n/);
  assert.match(r.out, /Messages learned: 0\n/);

  const accepted = await swaks(['--server', `127.0.0.1:${server.port}`, '--from', 'sender@origin.test', '--to', 'user@example.com']);
  assert.equal(accepted.code, 0, accepted.out);
  const refused = await swaks(['--server', `127.0.0.1:${server.port}`, '--from', 'sender@origin.test', '--to', 'someone@elsewhere.test']);
  assert.notEqual(refused.code, 0, 'relaying to a foreign domain is refused');
  const learned = await rspamc(['-P', PASSWORD, 'learn_spam'], spamMessage({ seed: 11 }).replace(/\r\n/g, '\n'));
  assert.equal(learned.code, 0, learned.out);

  r = await rspamc(['stat']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Messages scanned: 2\n/);
  assert.match(r.out, /Messages with action no action: 1, 50\.00%/);
  assert.match(r.out, /Messages with action reject: 1, 50\.00%/);
  assert.match(r.out, /Messages treated as spam: 1, 50\.00%/);
  assert.match(r.out, /Messages learned: 1\n/);
  assert.match(r.out, /Connections count: 2\n/);
  assert.match(r.out, /Statfile: BAYES_SPAM <spam> type: \w+; .*learned: 1;/);
  assert.match(r.out, /Statfile: BAYES_HAM <ham> type: \w+; .*learned: 0;/);
  assert.match(r.out, /Total learns: 1\n/);
});

test('rspamc counters: one row per symbol with its weight and hits', async () => {
  // A message without Date and Message-ID headers, so the header checks have something to say.
  const bare = await swaks(['--server', `127.0.0.1:${server.port}`, '--from', 'sender@origin.test', '--to', 'user@example.com', '--header', 'Date:', '--header', 'Message-Id:', '--body', 'no date here']);
  assert.equal(bare.code, 0, bare.out);
  const res = (await (await fetch(`http://127.0.0.1:${server.adminPort}/counters`)).json()) as Array<{ symbol: string; weight: number; hits: number }>;
  const hit = res.filter((row) => row.hits > 0);
  assert.ok(hit.length > 0, `some symbol was hit: ${JSON.stringify(res)}`);
  const r = await rspamc(['counters']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Symbols cache/);
  for (const row of hit) {
    const line = r.out.split('\n').find((l) => l.includes(` ${row.symbol} `));
    assert.ok(line, `rspamc prints ${row.symbol}`);
    assert.match(line, new RegExp(`\\|\\s+${row.hits}\\s+\\|\\s*$`), `hits column of ${row.symbol}: ${line}`);
  }
  assert.deepEqual(
    res.filter((row) => row.symbol === 'INVALID_DATE' || row.symbol === 'BAYES_SPAM').map((row) => [row.symbol, row.weight, row.hits]),
    [['BAYES_SPAM', 5, 0], ['INVALID_DATE', 1.5, 1]],
    'weights from symbols.yaml; symbols never hit are listed too',
  );
  assert.match(r.out, /\| INVALID_DATE\s+\|\s+1\.5\s+\|/);
});
