import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ratelimitCheck } from '../../src/checks/ratelimit/index.js';
import { foldAddress } from '../../src/mail/address.js';
import { RuleLimiters } from '../../src/checks/ratelimit/limiters.js';
import { memoryRateLimiter } from '../../src/stores/rate-limiter.js';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { compilePolicy } from '../../src/policy/compiled.js';
import { policySchema } from '../../src/policy/schema.js';
import { newTransaction } from '../../src/pipeline/transaction.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Check } from '../../src/pipeline/check.js';
import { chargeAccepted } from '../../src/pipeline/accepted.js';

const rule = (o: Record<string, unknown>) => ({ name: 'r', key: 'ip', count: 'messages', rate: 2, window: 60, ...o });

function checks(): Record<string, Check> {
  const list = ratelimitCheck.create({ store: new SqliteStore(), log: silentLogger(), metrics: null });
  return Object.fromEntries(list.map((c) => [c.phase, c]));
}

function tx(rules: Array<Record<string, unknown>>, o: { ip?: string; from?: string; rcpt?: string } = {}) {
  const t = newTransaction({
    connectionId: 'c',
    client: { ip: o.ip ?? '192.0.2.1', port: 1, rdns: '', helo: 'h', tls: false, proto: 'ESMTP', source: 'socket' },
    policy: defaultPolicy({ ratelimit: { rules } }),
    store: new SqliteStore(),
    log: silentLogger(),
  });
  t.envelope.from = o.from ?? 'a@x.org';
  t.currentRcpt = o.rcpt ?? 'u@example.com';
  return t;
}

describe('rate limit check', () => {
  it('folds case and plus-tags', () => {
    assert.equal(foldAddress('User+Tag@Example.COM'), 'user@example.com');
    assert.equal(foldAddress('+x@example.com'), '+x@example.com');
    assert.equal(foldAddress('plain@x.org'), 'plain@x.org');
  });

  it('counts messages at MAIL and answers 451 4.7.1 with the retry time', async () => {
    const c = checks();
    const rules = [rule({})];
    for (let i = 0; i < 2; i++) assert.equal((await c.mail!.run(tx(rules))).force, undefined);
    const over = await c.mail!.run(tx(rules));
    assert.equal(over.force?.action, 'tempfail');
    assert.match(`${over.force?.reply.code} ${over.force?.reply.enhanced} ${over.force?.reply.text}`, /^451 4\.7\.1 Rate limit exceeded \(r\), try again in (59|60) seconds$/);
    assert.equal((await c.mail!.run(tx(rules, { ip: '192.0.2.2' }))).force, undefined, 'another IP has its own count');
    assert.equal((await c.rcpt!.run(tx(rules))).force, undefined, 'messages per ip are not counted at RCPT');
  });

  it('answers 421 4.7.0 at connect and 550 5.7.1 for a reject rule', async () => {
    const c = checks();
    const conn = [rule({ count: 'connections', rate: 1 })];
    await c.connect!.run(tx(conn));
    assert.equal((await c.connect!.run(tx(conn))).force?.reply.code, 421);
    const rej = [rule({ name: 'rej', key: 'sender_domain', count: 'recipients', rate: 1, action: 'reject' })];
    const first = tx(rej);
    await c.rcpt!.run(first);
    first.envelope.rcpts.push('u@example.com');
    await chargeAccepted(first);
    const out = await c.rcpt!.run(tx(rej));
    assert.deepEqual(out.force?.reply, { code: 550, enhanced: '5.7.1', text: 'Rate limit exceeded (rej)' });
    assert.equal(out.force?.action, 'reject');
  });

  it('charges limits keyed by sender or recipient only for accepted messages, once per transaction', async () => {
    const c = checks();
    const rules = [rule({ name: 'per_sender', key: 'sender', rate: 2 }), rule({ name: 'per_rcpt', key: 'recipient', rate: 2 })];
    // Named but never sent: nothing is spent, however often.
    for (let i = 0; i < 5; i++) {
      assert.equal((await c.mail!.run(tx(rules))).force, undefined);
      assert.equal((await c.rcpt!.run(tx(rules))).force, undefined);
    }
    for (let i = 0; i < 2; i++) {
      const t = tx(rules);
      await c.mail!.run(t);
      await c.rcpt!.run(t);
      t.envelope.rcpts.push('u@example.com');
      await chargeAccepted(t);
      await chargeAccepted(t);
    }
    assert.match((await c.mail!.run(tx(rules))).force?.reply.text ?? '', /^Rate limit exceeded \(per_sender\)/, 'two accepted messages spend a rate of 2');
    assert.match((await c.rcpt!.run(tx(rules, { from: 'other@y.org' }))).force?.reply.text ?? '', /^Rate limit exceeded \(per_rcpt\)/);
  });

  it('never counts the null sender per sender, nor allow-listed or trusted clients', async () => {
    const c = checks();
    const rules = [rule({ key: 'sender', rate: 1 })];
    for (let i = 0; i < 3; i++) assert.equal((await c.mail!.run(tx(rules, { from: '' }))).force, undefined);
    const allowed = tx([rule({ rate: 1 })]);
    allowed.allowlisted = true;
    for (let i = 0; i < 3; i++) assert.equal((await c.mail!.run(allowed)).force, undefined);
  });

  it('keeps its limiters while the rules stay the same, and rebuilds them when they change', () => {
    const limiters = new RuleLimiters({ rateLimiter: memoryRateLimiter }, () => undefined);
    const p = (rules: unknown[], version: string) => compilePolicy(policySchema.parse({ ratelimit: { rules } }), '', version);
    const a = limiters.for(p([rule({})], 'v1'));
    assert.equal(limiters.for(p([rule({})], 'v2'))[0]?.limiter, a[0]?.limiter, 'another file changed: same limiters');
    assert.notEqual(limiters.for(p([rule({ rate: 5 })], 'v3'))[0]?.limiter, a[0]?.limiter);
  });

  it('refuses duplicate names and connection limits per sender', () => {
    const r = policySchema.safeParse({ ratelimit: { rules: [rule({}), rule({ key: 'sender', count: 'connections' })] } });
    assert.equal(r.success, false);
    const text = JSON.stringify(r.error?.issues);
    assert.match(text, /used twice/);
    assert.match(text, /connections can only be counted per ip or subnet/);
  });
});
