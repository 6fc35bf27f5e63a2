import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { freePort } from '../helpers/ports.js';
import { rspamc as rspamcAt } from '../helpers/rspamc.js';
import { cli } from '../policy/helpers.js';
import { policyDir, cleanupPolicies } from './helpers.js';
import { hamMessage, spamMessage } from './synthetic.js';

/**
 * The admin learn endpoints with the real Debian `rspamc` client (package rspamd), plain
 * HTTP, and `borderpatrol learn --server`.
 */

const PASSWORD = 'learn-secret';
let server: TestServer;
let work: string;
let base: string;

before(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-admin-learn-'));
  const policiesDir = await policyDir({ 'checks/bayes.yaml': 'min_learns: 5\n' });
  // Nothing is relayed in this file: the relay port only has to be a valid one.
  server = await startBorderpatrol({ relayPort: await freePort(), policiesDir, set: { 'admin.password': PASSWORD, 'store.data_dir': path.join(work, 'data') } });
  base = `http://127.0.0.1:${server.adminPort}`;
});

after(async () => {
  await server?.stop();
  await fs.rm(work, { recursive: true, force: true });
  await cleanupPolicies();
});

/** The counts GET /bayes reports as learned. */
async function learnedCounts(): Promise<{ spam: number; ham: number }> {
  return ((await (await fetch(`${base}/bayes`)).json()) as { learned: { spam: number; ham: number } }).learned;
}

function rspamc(args: string[]): Promise<{ code: number; out: string }> {
  return rspamcAt(server.adminPort, args);
}

async function file(name: string, text: string): Promise<string> {
  const p = path.join(work, name);
  // As a mailbox file would be: LF line ends.
  await fs.writeFile(p, text.replace(/\r\n/g, '\n'));
  return p;
}

test('learn endpoints need the admin password', async () => {
  for (const headers of [{}, { Password: 'wrong' }]) {
    const res = await fetch(`${base}/learnspam`, { method: 'POST', headers, body: spamMessage({ seed: 1 }) });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: 'password required' });
  }
  assert.deepEqual(await learnedCounts(), { spam: 0, ham: 0 }, 'nothing was learned');
});

test('POST /learnspam and /learnham: learned, already learned (208), moved', async () => {
  const body = spamMessage({ seed: 2 });
  const post = (p: string, b: string) => fetch(`${base}${p}`, { method: 'POST', headers: { Password: PASSWORD }, body: b });
  let res = await post('/learnspam', body);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { success: true, result: 'learned' });
  res = await post('/learnspam', body);
  assert.equal(res.status, 208);
  assert.match(((await res.json()) as { error: string }).error, /already been learned as spam/);
  res = await post('/learnham', body);
  assert.deepEqual(await res.json(), { success: true, result: 'relearned' });
  res = await post('/learnham', '');
  assert.equal(res.status, 400);
  assert.deepEqual(await learnedCounts(), { spam: 0, ham: 1 });
});

test('Debian rspamc learn_spam / learn_ham work unchanged', async () => {
  const spam = await file('rspamc-spam.eml', spamMessage({ seed: 3 }));
  let r = await rspamc(['-P', PASSWORD, 'learn_spam', spam]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /success = true;/);
  assert.match(r.out, /result = "learned";/);

  r = await rspamc(['-P', PASSWORD, 'learn_spam', spam]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /already been learned as spam/);

  r = await rspamc(['-P', PASSWORD, 'learn_ham', spam]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /result = "relearned";/);

  r = await rspamc(['learn_spam', spam]);
  assert.notEqual(r.code, 0, 'no password: refused');
  assert.match(r.out, /HTTP error: 401/);

  // Read from stdin, as a sieve pipe hands it over.
  const ham = hamMessage({ seed: 3 }).replace(/\r\n/g, '\n');
  const viaStdin = await new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile('rspamc', ['-h', `127.0.0.1:${server.adminPort}`, '-P', PASSWORD, 'learn_ham'], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: stdout + stderr }),
    );
    child.stdin?.end(ham);
  });
  assert.equal(viaStdin.code, 0, viaStdin.out);
  assert.match(viaStdin.out, /success = true;/);
  assert.deepEqual(await learnedCounts(), { spam: 0, ham: 3 });
});

test('rspamc symbols scans over /checkv2 with the server\'s verdict', async () => {
  const msg = await file('rspamc-scan.eml', hamMessage({ seed: 4 }));
  const r = await rspamc(['-P', PASSWORD, '-i', '192.0.2.7', 'symbols', msg]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Action: no action/);
  assert.match(r.out, /Spam: false/);
});

test('borderpatrol learn --server trains a running server; a wrong password stops at once', async () => {
  const dir = path.join(work, 'bulk');
  await fs.mkdir(dir);
  for (let i = 10; i < 16; i++) await file(`bulk/s${i}.eml`, spamMessage({ seed: i }));
  const ok = await cli(['learn', 'spam', '--server', base, '--password', PASSWORD, dir]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /learn spam: 6 messages, .*6 learned/);
  const again = await cli(['learn', 'spam', '--server', `127.0.0.1:${server.adminPort}`, '--password', PASSWORD, dir]);
  assert.match(again.stderr, /6 already learned/);
  const bad = await cli(['learn', 'spam', '--server', base, '--password', 'nope', dir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /wrong or missing admin password/);
  assert.deepEqual(await learnedCounts(), { spam: 6, ham: 3 });
});
