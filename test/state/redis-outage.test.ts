import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import type { TestServer } from '../helpers/borderpatrol.js';
import { attempt, sleep, startMx } from './fixture.js';

/** The limit on one SMTP session while Redis is gone: commandTimeout (250 ms) plus slack. */
const BOUNDED_MS = 3000;

// Every test but the rate-limit one uses recipients of its own, so only that one hits the limit.
const RULES = 'rules:\n  - {name: limited, key: recipient, count: messages, rate: 2, window: 60}\n';

/**
 * Losing Redis must never hang a session or lose mail: each check follows its on_error
 * (skip: accept; tempfail: 451 4.3.0), rate limits go on counting in memory, and when
 * Redis returns everything works again without a restart.
 */
describe('Redis outage', () => {
  let redis: RunningRedis;
  let port: number;
  let sink: SmtpSink;
  let skip: TestServer;
  let tempfail: TestServer;

  before(async () => {
    [redis, sink] = await Promise.all([startRedis(), startSmtpSink()]);
    port = redis.port;
    const set = { 'store.redis': redis.url, 'greylist.enabled': 'true', 'greylist.delay': '300' };
    const files = { 'checks/ratelimit.yaml': RULES };
    [skip, tempfail] = await Promise.all([
      startMx(sink.port, { ...set, 'greylist.on_error': 'skip' }, files),
      startMx(sink.port, { ...set, 'greylist.on_error': 'tempfail' }, files),
    ]);
  });
  after(async () => {
    await Promise.all([skip?.stop(), tempfail?.stop()]);
    await Promise.all([redis?.stop(), sink?.stop()]);
  });

  it('greylists while Redis is up', async () => {
    assert.match((await attempt(skip.port, { from: 'up@origin.test', rcpts: ['up@example.com'] })).rcpts[0] ?? '', /^451 4\.7\.1 Greylisted/);
  });

  it('follows on_error when Redis is killed, in bounded time', async () => {
    await redis.stop();
    const before = sink.messages().length;
    const open = await attempt(skip.port, { from: 'down@origin.test', rcpts: ['down@example.com'] });
    assert.equal(open.rcpts[0], '250 2.1.5 Accepted', 'on_error: skip accepts');
    assert.match(open.end ?? '', /^250 /);
    assert.ok(open.ms < BOUNDED_MS, `session took ${open.ms} ms`);
    assert.equal(sink.messages().length, before + 1, 'the message was relayed, not lost');

    const closed = await attempt(tempfail.port, { from: 'down@origin.test', rcpts: ['down@example.com'] });
    assert.equal(closed.rcpts[0], '451 4.3.0 Policy check temporarily unavailable, try again later', 'on_error: tempfail defers');
    assert.ok(closed.ms < BOUNDED_MS, `session took ${closed.ms} ms`);

    const errors = await skip.metrics.storeErrors.get();
    assert.ok(errors.values.some((v) => v.labels.operation === 'greylist_check' && v.value >= 1), 'store errors are counted');
  });

  it('keeps rate limiting in memory while Redis is down', async () => {
    const to = ['limited@example.com'];
    for (let i = 0; i < 2; i++) assert.match((await attempt(skip.port, { from: `rl${i}@origin.test`, rcpts: to })).end ?? '', /^250 /);
    const third = await attempt(skip.port, { from: 'rl3@origin.test', rcpts: to });
    assert.match(third.rcpts[0] ?? '', /^451 4\.7\.1 Rate limit exceeded \(limited\)/);
    assert.ok(third.ms < BOUNDED_MS);
    const errors = await skip.metrics.storeErrors.get();
    assert.ok(errors.values.some((v) => v.labels.operation === 'ratelimit' && v.value >= 1), 'insurance use is counted');
  });

  it('does not hang when Redis stops answering (process paused)', async () => {
    const paused = await startRedis();
    const mx = await startMx(sink.port, { 'store.redis': paused.url, 'greylist.enabled': 'true', 'greylist.delay': '300' });
    try {
      process.kill(paused.pid, 'SIGSTOP');
      const r = await attempt(mx.port, { from: 'paused@origin.test' });
      assert.equal(r.rcpts[0], '250 2.1.5 Accepted');
      assert.ok(r.ms < BOUNDED_MS, `session took ${r.ms} ms`);
    } finally {
      process.kill(paused.pid, 'SIGCONT');
      await mx.stop();
      await paused.stop();
    }
  });

  it('recovers on its own when Redis returns', async () => {
    redis = await startRedis({ port });
    const deadline = Date.now() + 15_000;
    let reply = '';
    for (let i = 0; Date.now() < deadline; i++) {
      reply = (await attempt(tempfail.port, { from: `back${i}@origin.test`, rcpts: [`back${i}@example.com`] })).rcpts[0] ?? '';
      if (reply.startsWith('451 4.7.1')) break;
      await sleep(200);
    }
    assert.match(reply, /^451 4\.7\.1 Greylisted/, 'greylisting works again');
    assert.match((await attempt(skip.port, { from: 'back@origin.test', rcpts: ['back@example.com'] })).rcpts[0] ?? '', /^451 4\.7\.1 Greylisted/);
  });
});
