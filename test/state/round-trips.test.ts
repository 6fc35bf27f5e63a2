import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedis, startRedisCluster } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import type { TestServer } from '../helpers/borderpatrol.js';
import { attempt, sleep, startMx } from './fixture.js';

/**
 * Redis requests per message with the shipped policy (greylisting and the shipped rate
 * limits on), counted by the store and phase by phase. Budget: with one recipient, one
 * request per rate-limit rule of each phase (sent together), one greylist check per
 * recipient, Bayes (tokens + totals) and the history entry; and once accepted, what it
 * spends: one request per rule keyed by sender or recipient, and the greylist pass.
 */
const BUDGET_ACCEPTED = 11;

async function oneMessage(mx: TestServer, from: string): Promise<Record<string, number>> {
  const count = () => mx.store.roundTrips();
  const phases: Record<string, number> = {};
  let mark = count();
  const step = (name: string) => {
    const now = count();
    phases[name] = now - mark;
    mark = now;
  };
  const c = await RawSmtp.connect(mx.port);
  try {
    assert.equal((await c.reply()).code, 220);
    step('connect');
    await c.command('EHLO client.test');
    assert.equal((await c.command(`MAIL FROM:<${from}>`)).code, 250);
    step('mail');
    const rcpt = await c.command('RCPT TO:<user@example.com>');
    step('rcpt');
    if (rcpt.code === 250) {
      await c.command('DATA');
      c.write(`From: <${from}>\r\nTo: <user@example.com>\r\nSubject: round trips\r\nMessage-ID: <${from}>\r\n\r\nHello.\r\n.\r\n`);
      assert.equal((await c.reply(15_000)).code, 250);
    }
    await c.command('QUIT');
  } finally {
    c.close();
  }
  // The history entry is written after the reply.
  await sleep(200);
  step('data+history');
  return phases;
}

for (const kind of ['standalone', 'cluster'] as const) {
  describe(`Redis round trips per message, shipped policy (Redis ${kind})`, () => {
    let redis: { url: string; stop(): Promise<void> };
    let sink: SmtpSink;
    let mx: TestServer;
    let dir: string;
    before(async () => {
      [redis, sink] = await Promise.all([kind === 'cluster' ? startRedisCluster() : startRedis(), startSmtpSink()]);
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-policies-'));
      await fs.cp(path.resolve('policies'), dir, { recursive: true });
      mx = await startMx(sink.port, { 'store.redis': redis.url, 'greylist.delay': '1' }, {}, dir);
      // Load the Lua scripts once and read the neural model (cached for neural.reload_seconds),
      // as a running server has: a greylisted attempt, then its accepted retry.
      await attempt(mx.port, { from: 'warmup@origin.test', rcpts: ['warmup@example.com'] });
      await sleep(1100);
      await attempt(mx.port, { from: 'warmup@origin.test', rcpts: ['warmup@example.com'] });
      await sleep(200);
    });
    after(async () => {
      await mx?.stop();
      await Promise.all([redis?.stop(), sink?.stop()]);
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it('stays within its budget for a greylisted first attempt and an accepted retry', async (t) => {
      const from = `rt-${kind}@origin.test`;
      const first = await oneMessage(mx, from);
      await sleep(1100);
      const accepted = await oneMessage(mx, from);
      const total = (p: Record<string, number>) => Object.values(p).reduce((a, b) => a + b, 0);
      t.diagnostic(`greylisted attempt: ${total(first)} requests ${JSON.stringify(first)}`);
      t.diagnostic(`accepted message: ${total(accepted)} requests ${JSON.stringify(accepted)}`);
      // Shipped rules: 1 per connection, 2 per message at MAIL, 2 per recipient + greylisting.
      for (const p of [first, accepted]) {
        assert.equal(p.connect, 1);
        assert.equal(p.mail, 2);
        assert.equal(p.rcpt, 3);
      }
      assert.ok(total(accepted) <= BUDGET_ACCEPTED, `${total(accepted)} requests`);
      assert.ok(total(first) <= BUDGET_ACCEPTED, `${total(first)} requests`);
    });
  });
}
