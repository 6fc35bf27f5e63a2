import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startRedis, startRedisCluster } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import type { TestServer } from '../helpers/borderpatrol.js';
import { attempt, startMx } from './fixture.js';

const RULES = `enabled: true
rules:
  - name: msgs_per_sender
    key: sender
    count: messages
    rate: 3
    window: 60
  - name: per_mailbox
    key: recipient
    count: messages
    rate: 2
    window: 60
  - name: bursty
    key: sender_domain
    count: recipients
    rate: 1
    window: 60
    burst: 2
`;

/** Limits counted in the shared store: a sender spreading over both MX hits one limit. */
for (const kind of ['standalone', 'cluster'] as const) {
  describe(`rate limits shared by two instances (Redis ${kind})`, () => {
    let redis: { url: string; stop(): Promise<void> };
    let sink: SmtpSink;
    let a: TestServer;
    let b: TestServer;

    before(async () => {
      [redis, sink] = await Promise.all([kind === 'cluster' ? startRedisCluster() : startRedis(), startSmtpSink()]);
      const set = { 'store.redis': redis.url };
      const files = { 'checks/ratelimit.yaml': RULES };
      [a, b] = await Promise.all([startMx(sink.port, set, files), startMx(sink.port, set, files)]);
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await Promise.all([redis?.stop(), sink?.stop()]);
    });

    it('counts messages per sender across both instances', async () => {
      // (each message has one recipient, so the per-domain recipient rule, 1 + burst 2, allows 3 too)
      const from = `spreader@spam-${kind}.test`;
      const rcpt = (i: number) => [`r${i}@example.com`];
      for (const [i, mx] of [a, b, a].entries()) assert.match((await attempt(mx.port, { from, rcpts: rcpt(i) })).end ?? '', /^250 /, `message ${i + 1}`);
      const fourth = await attempt(b.port, { from, rcpts: rcpt(4) });
      assert.match(fourth.mail ?? '', /^451 4\.7\.1 Rate limit exceeded \(msgs_per_sender\), try again in \d+ seconds$/);
      const seconds = Number(/in (\d+) seconds/.exec(fourth.mail ?? '')?.[1]);
      assert.ok(seconds >= 1 && seconds <= 60, `retry time ${seconds}`);
      assert.match((await attempt(a.port, { from, rcpts: rcpt(5) })).mail ?? '', /^451 4\.7\.1 /);
      assert.match((await attempt(a.port, { from: `other@elsewhere-${kind}.test`, rcpts: rcpt(6) })).end ?? '', /^250 /, 'another sender is not affected');
    });

    it('folds case and plus-tags of a recipient key', async () => {
      const box = `box-${kind}`;
      assert.match((await attempt(a.port, { from: `x1-${kind}@one.test`, rcpts: [`${box}+news@example.com`] })).end ?? '', /^250 /);
      assert.match((await attempt(b.port, { from: `x2-${kind}@two.test`, rcpts: [`${box.toUpperCase()}@Example.COM`] })).end ?? '', /^250 /);
      const third = await attempt(a.port, { from: `x3-${kind}@three.test`, rcpts: [`${box}+other@example.com`] });
      assert.match(third.rcpts[0] ?? '', /^451 4\.7\.1 Rate limit exceeded \(per_mailbox\)/);
    });

    it('allows a burst above the rate, then refuses', async () => {
      const from = `burst@bursty-${kind}.test`;
      const r = await attempt(a.port, { from, rcpts: ['b1@example.com', 'b2@example.com', 'b3@example.com', 'b4@example.com'] });
      assert.deepEqual(
        r.rcpts.map((x) => x.slice(0, 9)),
        ['250 2.1.5', '250 2.1.5', '250 2.1.5', '451 4.7.1'],
        'rate 1 plus a burst of 2',
      );
    });
  });
}

describe('rate limits: connections, reload, exemptions (embedded store)', () => {
  let sink: SmtpSink;
  let mx: TestServer;
  before(async () => {
    sink = await startSmtpSink();
    mx = await startMx(sink.port, {}, { 'checks/ratelimit.yaml': 'rules:\n  - {name: conn, key: ip, count: connections, rate: 2, window: 60}\n' });
  });
  after(async () => {
    await mx?.stop();
    await sink?.stop();
  });

  it('answers 421 4.7.0 at connect over a connection limit and closes', async () => {
    for (let i = 0; i < 2; i++) assert.match((await attempt(mx.port)).greeting, /^220 /);
    const c = await RawSmtp.connect(mx.port);
    try {
      const greeting = await c.reply();
      assert.equal(greeting.code, 421);
      assert.match(greeting.text, /^421 4\.7\.0 Rate limit exceeded \(conn\), try again in \d+ seconds$/);
      assert.ok(await c.waitClosed(3000), 'the connection is closed after 421');
    } finally {
      c.close();
    }
  });

  it('applies edited rules on reload', async () => {
    await fs.writeFile(path.join(mx.policiesDir, 'checks/ratelimit.yaml'), 'rules:\n  - {name: conn2, key: subnet, count: connections, rate: 100, window: 60}\n');
    assert.equal(await mx.policy.reload('test'), true);
    assert.match((await attempt(mx.port)).greeting, /^220 /, 'the new rule starts counting afresh');
    await fs.writeFile(path.join(mx.policiesDir, 'checks/ratelimit.yaml'), 'rules:\n  - {name: conn3, key: ip, count: connections, rate: 1, window: 60, action: reject}\n');
    assert.equal(await mx.policy.reload('test'), true);
    assert.match((await attempt(mx.port)).greeting, /^220 /);
    const refused = await attempt(mx.port);
    // A refusal in place of the greeting is 554 (RFC 5321 allows 220, 554 or 421 there).
    assert.match(refused.greeting, /^554 5\.7\.1 Rate limit exceeded \(conn3\)$/);
  });

  it('refuses rules that cannot work, with the file and line', async () => {
    await fs.writeFile(path.join(mx.policiesDir, 'checks/ratelimit.yaml'), 'rules:\n  - {name: bad, key: sender, count: connections, rate: 1, window: 60}\n');
    assert.equal(await mx.policy.reload('test'), false);
    const problems = mx.policy.status().problems;
    assert.ok(problems.some((p) => p.file.endsWith('ratelimit.yaml') && p.line === 2 && /connections can only be counted per ip or subnet/.test(p.message)), JSON.stringify(problems));
  });

  it('does not count trusted clients', async () => {
    const trusted = await startMx(sink.port, { 'smtp.trusted_networks': '127.0.0.0/8' }, { 'checks/ratelimit.yaml': 'rules:\n  - {name: conn, key: ip, count: connections, rate: 1, window: 60}\n' });
    try {
      for (let i = 0; i < 3; i++) assert.match((await attempt(trusted.port)).greeting, /^220 /);
    } finally {
      await trusted.stop();
    }
  });
});
