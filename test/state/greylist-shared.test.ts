import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedis, startRedisCluster } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import type { TestServer } from '../helpers/borderpatrol.js';
import { attempt, sleep, startMx } from './fixture.js';

const run = promisify(execFile);
const GREYLIST = { 'greylist.enabled': 'true', 'greylist.delay': '2', 'admin.password': 'sekrit' };

/** Two MX instances sharing one Redis: what one learns, the other knows. */
for (const kind of ['standalone', 'cluster'] as const) {
  describe(`greylisting shared by two instances (Redis ${kind})`, () => {
    let redis: { url: string; stop(): Promise<void> };
    let sink: SmtpSink;
    let a: TestServer;
    let b: TestServer;

    before(async () => {
      [redis, sink] = await Promise.all([kind === 'cluster' ? startRedisCluster() : startRedis(), startSmtpSink()]);
      const set = { ...GREYLIST, 'store.redis': redis.url };
      [a, b] = await Promise.all([startMx(sink.port, set), startMx(sink.port, set)]);
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await Promise.all([redis?.stop(), sink?.stop()]);
    });

    it('greylists on A and accepts the retry on B after the delay', async () => {
      const from = `first-${kind}@origin.test`;
      const first = await attempt(a.port, { from });
      assert.match(first.rcpts[0] ?? '', /^451 4\.7\.1 Greylisted, please try again in 2 seconds$/);
      const early = await attempt(b.port, { from });
      assert.match(early.rcpts[0] ?? '', /^451 4\.7\.1 Greylisted, please try again in [12] seconds$/, 'B knows the triplet A saw');
      await sleep(2100);
      const retry = await attempt(b.port, { from });
      assert.equal(retry.rcpts[0], '250 2.1.5 Accepted');
      assert.match(retry.end ?? '', /^250 /);
      const again = await attempt(a.port, { from });
      assert.equal(again.rcpts[0], '250 2.1.5 Accepted', 'A now knows it passed');
    });

    it('lets a message through to the recipients that passed when another is greylisted', async () => {
      const from = `mixed-${kind}@origin.test`;
      await attempt(a.port, { from, rcpts: ['old@example.com'] });
      await sleep(2100);
      const before = sink.messages().length;
      const mixed = await attempt(b.port, { from, rcpts: ['old@example.com', 'new@example.com'] });
      assert.deepEqual(
        mixed.rcpts.map((r) => r.slice(0, 9)),
        ['250 2.1.5', '451 4.7.1'],
      );
      assert.match(mixed.end ?? '', /^250 /, 'the greylisted recipient does not hold back the message');
      assert.equal(sink.messages().length, before + 1);
    });

    it('defers a message in the score band and accepts its retry on the other instance', async () => {
      // Another pair on the same Redis whose allow-list symbol scores in the greylist band
      // (10 ≤ score < 15); an allow-listed client is exempt from triplet greylisting, so
      // only the score band acts here.
      const files = { 'symbols.yaml': 'ALLOWLIST_IP:\n  score: 12\n', 'lists/allow_ips.txt': '127.0.0.1\n' };
      const set = { ...GREYLIST, 'store.redis': redis.url };
      const [c, d] = await Promise.all([startMx(sink.port, set, files), startMx(sink.port, set, files)]);
      try {
        const msg = { from: `band-${kind}@origin.test`, messageId: `band-${kind}-${Date.now()}@origin.test` };
        const first = await attempt(c.port, msg);
        assert.equal(first.rcpts[0], '250 2.1.5 Accepted');
        assert.match(first.end ?? '', /^451 4\.7\.1 Greylisted, please try again in 2 seconds$/);
        const other = await attempt(d.port, { ...msg, messageId: `other-${msg.messageId}` });
        assert.match(other.end ?? '', /^451 4\.7\.1 /, 'a different message is deferred on its own');
        await sleep(2100);
        const retry = await attempt(d.port, msg);
        assert.match(retry.end ?? '', /^250 /);
        const relayed = sink.messages().filter((m) => m.includes(msg.messageId));
        assert.equal(relayed.length, 1, 'relayed once');
        assert.match(relayed[0] ?? '', /X-Spam-Action: add_header/);
        assert.match(relayed[0] ?? '', /X-Spam-Score: 12\.00/);
      } finally {
        await Promise.all([c.stop(), d.stop()]);
      }
    });
  });
}

describe('greylisting: exemptions, admin API and CLI', () => {
  let redis: { url: string; stop(): Promise<void> };
  let sink: SmtpSink;
  let mx: TestServer;
  const admin = (p: string) => `http://127.0.0.1:${mx.adminPort}${p}`;

  before(async () => {
    [redis, sink] = await Promise.all([startRedis(), startSmtpSink()]);
    mx = await startMx(sink.port, { ...GREYLIST, 'greylist.delay': '300', 'store.redis': redis.url });
  });
  after(async () => {
    await mx?.stop();
    await Promise.all([redis?.stop(), sink?.stop()]);
  });

  it('lists an entry and releases it over the admin API', async () => {
    const from = 'api@origin.test';
    assert.match((await attempt(mx.port, { from })).rcpts[0] ?? '', /^451 4\.7\.1/);
    assert.equal((await fetch(admin('/greylist?match=api@'))).status, 401, 'listing needs the password');
    const listed = await fetch(admin('/greylist?match=api@'), { headers: { Password: 'sekrit' } });
    const { entries } = (await listed.json()) as { entries: Array<{ key: string; passed: boolean; ttl: number }> };
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.key, '127.0.0.0/24|api@origin.test|user@example.com');
    assert.equal(entries[0]?.passed, false);
    assert.equal((await fetch(admin('/greylist/release'), { method: 'POST', body: JSON.stringify({ key: entries[0]?.key }) })).status, 401);
    const released = await fetch(admin('/greylist/release'), { method: 'POST', headers: { Password: 'sekrit' }, body: JSON.stringify({ key: entries[0]?.key }) });
    assert.equal(released.status, 200);
    assert.equal((await attempt(mx.port, { from })).rcpts[0], '250 2.1.5 Accepted');
    const missing = await fetch(admin('/greylist/release'), { method: 'POST', headers: { Password: 'sekrit' }, body: JSON.stringify({ key: '127.0.0.0/24|nobody' }) });
    assert.equal(missing.status, 404);
    const bad = await fetch(admin('/greylist?limit=0'), { headers: { Password: 'sekrit' } });
    assert.equal(bad.status, 400);
  });

  it('lists and releases from the command line, locally and through the server', async () => {
    const from = 'cli@origin.test';
    assert.match((await attempt(mx.port, { from })).rcpts[0] ?? '', /^451 4\.7\.1/);
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.resolve('src/cli.ts'), 'greylist', ...args], { timeout: 30_000 });
    const local = await cli('list', 'cli@', '--policies', mx.policiesDir, '--redis', redis.url);
    assert.match(local.stdout, /^127\.0\.0\.0\/24\|cli@origin\.test\|user@example\.com\t\S+\twaiting\t\d+s\n$/);
    const json = JSON.parse((await cli('list', 'cli@', '--json', '--server', admin(''), '--password', 'sekrit')).stdout) as Array<{ key: string }>;
    assert.equal(json[0]?.key, '127.0.0.0/24|cli@origin.test|user@example.com');
    const released = await cli('release', '127.0.0.0/24|cli@origin.test|user@example.com', '--server', admin(''), '--password', 'sekrit');
    assert.equal(released.stdout, 'released 127.0.0.0/24|cli@origin.test|user@example.com\n');
    await assert.rejects(cli('release', '127.0.0.0/24|nobody@origin.test|user@example.com', '--policies', mx.policiesDir, '--redis', redis.url), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /no greylist entry/);
      return true;
    });
    await assert.rejects(cli('list', '--server', admin(''), '--password', 'wrong'), /wrong or missing admin password/);
    assert.equal((await attempt(mx.port, { from })).rcpts[0], '250 2.1.5 Accepted');
  });

  it('does not greylist networks on greylist_exempt_ips', async () => {
    const exempt = await startMx(sink.port, { ...GREYLIST, 'greylist.delay': '300', 'store.redis': redis.url }, { 'lists/greylist_exempt_ips.txt': '127.0.0.0/8\n' });
    try {
      const r = await attempt(exempt.port, { from: 'exempt@origin.test' });
      assert.equal(r.rcpts[0], '250 2.1.5 Accepted');
      assert.match(r.end ?? '', /^250 /);
    } finally {
      await exempt.stop();
    }
  });
});
