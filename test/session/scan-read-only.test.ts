import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { cli } from '../policy/helpers.js';

const run = promisify(execFile);

/**
 * `scan` and `/checkv2` judge through a read-only view of the store: over a shared Redis
 * they leave no greylist entry, rate-limit count or history line behind, and a new
 * sender's scan shows the verdict of its message, not a greylisting it cannot record.
 */

let redis: RunningRedis;
let work: string;
let sink: SmtpSink;
let server: TestServer | null = null;

const MESSAGE = 'From: New Sender <new@sender.test>\r\nTo: user@example.com\r\nSubject: hello\r\nMessage-ID: <n1@sender.test>\r\n\r\nJust saying hello.\r\n';

async function keys(): Promise<string[]> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), '--scan']);
  return stdout.split('\n').filter(Boolean).sort();
}

before(async () => {
  redis = await startRedis();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-scan-ro-'));
  await fs.writeFile(path.join(work, 'new.eml'), MESSAGE);
  sink = await startSmtpSink();
});

after(async () => {
  await server?.stop();
  await sink?.stop();
  await redis?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

test('scan over Redis, from a stranger to a local user, three times: no key written, and no greylist verdict', async () => {
  const before = await keys();
  for (let i = 0; i < 3; i++) {
    const r = await cli(['scan', '--json', '--offline', '--ip', '192.0.2.10', '--helo', 'mail.sender.test', '--rcpt', 'user@example.com', path.join(work, 'new.eml'), '--policies', 'policies', '--redis', redis.url, '--set', 'local_domains=example.com']);
    assert.equal(r.code, 0, r.stderr);
    const line = JSON.parse(r.stdout.trim()) as { action: string; symbols: Record<string, number> };
    assert.notEqual(line.action, 'greylist', `a new sender's scan is judged on its message: ${r.stdout}`);
  }
  assert.deepEqual(await keys(), before);
});

test('scan --rcpt victim@other.test says what the live proxy says: reject (relay access denied)', async () => {
  const r = await cli(['scan', '--json', '--offline', '--ip', '192.0.2.10', '--rcpt', 'victim@other.test', path.join(work, 'new.eml'), '--policies', 'policies', '--redis', redis.url, '--set', 'local_domains=example.com']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout.trim()) as { action: string }).action, 'reject');
});

test('/checkv2 on a server over Redis writes nothing either', async () => {
  // The shipped policy: greylisting and rate limits on.
  const policiesDir = path.join(work, 'policies');
  await fs.cp('policies', policiesDir, { recursive: true });
  server = await startBorderpatrol({ relayPort: sink.port, policiesDir, set: { 'store.redis': redis.url, 'admin.password': 'pw' } });
  const before = await keys();
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/checkv2`, {
      method: 'POST',
      headers: { Password: 'pw', IP: '192.0.2.10', Helo: 'mail.sender.test', From: 'new@sender.test', Rcpt: 'user@example.com' },
      body: MESSAGE,
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { action: string };
    assert.notEqual(body.action, 'greylist');
  }
  assert.deepEqual(await keys(), before);
});
