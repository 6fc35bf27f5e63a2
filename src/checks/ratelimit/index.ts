import { defineCheck, NO_HITS, type CheckRun, type Outcome } from '../../pipeline/check.js';
import type { Phase } from '../manifest.js';
import { ratelimitManifest } from './manifest.js';
import type { TransactionContext } from '../../pipeline/context.js';
import { reply } from '../../decision/replies.js';
import { networkOf } from '../../net/ip.js';
import { domainOfAddress, foldAddress } from '../../mail/address.js';
import { consume, peek, RuleLimiters, type RuleLimiter } from './limiters.js';
import { isReadOnly } from '../../stores/read-only.js';
import type { RateRule } from './manifest.js';

/**
 * Rate limits at the phase where their event happens: connections at connect, messages
 * at MAIL (or at RCPT for a per-recipient key), recipients at RCPT. All limits of a phase
 * are looked at once (one wait for the store, not one per rule); the one furthest over
 * answers. Allow-listed and trusted clients are not counted.
 *
 * Who spends a count decides when it is spent. A rule keyed by the client (ip, subnet)
 * counts every attempt at its phase: only that client's own network runs out. A rule keyed
 * by what the client merely names (sender, sender_domain, recipient) is checked at its
 * phase (refused when already over) but charged only when a message is accepted, once per
 * transaction: otherwise a stranger repeating MAIL/RCPT/RSET, or forging a sender, would
 * use up a real partner's allowance without sending anything.
 */

/** True when a rule's key is something the client names rather than where it connects from. */
function namedKey(rule: RateRule): boolean {
  return rule.key === 'sender' || rule.key === 'sender_domain' || rule.key === 'recipient';
}

/** The value a rule counts under for this transaction, or null when it does not apply. */
function keyFor(rule: RateRule, ctx: TransactionContext, rcpt: string | null = ctx.currentRcpt): string | null {
  const r = ctx.policy.policy.ratelimit;
  switch (rule.key) {
    case 'ip':
      return ctx.client.ip;
    case 'subnet':
      return networkOf(ctx.client.ip, r.ipv4_prefix, r.ipv6_prefix);
    case 'sender':
      // The null sender is every bounce in the world: one shared bucket would throttle them all.
      return ctx.envelope.from ? foldAddress(ctx.envelope.from) : null;
    case 'sender_domain':
      return domainOfAddress(ctx.envelope.from) || null;
    case 'recipient':
      return rcpt ? foldAddress(rcpt) : null;
  }
}

/** Which rules are looked at in a phase. */
function countsIn(rule: RateRule, phase: Phase): boolean {
  switch (rule.count) {
    case 'connections':
      return phase === 'connect';
    case 'recipients':
      return phase === 'rcpt';
    case 'messages':
      return rule.key === 'recipient' ? phase === 'rcpt' : phase === 'mail';
  }
}

/** What an accepted message spends on a named-key rule: key → points. */
function acceptedCost(rule: RateRule, ctx: TransactionContext): Map<string, number> {
  const cost = new Map<string, number>();
  if (rule.key === 'recipient') {
    for (const rcpt of ctx.envelope.rcpts) {
      const key = keyFor(rule, ctx, rcpt);
      if (key !== null) cost.set(key, 1);
    }
    return cost;
  }
  const key = keyFor(rule, ctx);
  if (key !== null && ctx.envelope.rcpts.length > 0) cost.set(key, rule.count === 'recipients' ? ctx.envelope.rcpts.length : 1);
  return cost;
}

/** The events this transaction has already claimed on a named-key rule, plus the one being checked. */
function pendingFor(rule: RateRule, ctx: TransactionContext): number {
  return rule.count === 'recipients' && rule.key !== 'recipient' ? ctx.envelope.rcpts.length + 1 : 1;
}

function refusal(rule: RateRule, phase: Phase, msBeforeNext: number): Outcome {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  const r =
    rule.action === 'reject'
      ? reply(550, '5.7.1', `Rate limit exceeded (${rule.name})`)
      : phase === 'connect'
        ? reply(421, '4.7.0', `Rate limit exceeded (${rule.name}), try again in ${seconds} seconds`)
        : reply(451, '4.7.1', `Rate limit exceeded (${rule.name}), try again in ${seconds} seconds`);
  return { force: { action: rule.action, reply: r, reason: `ratelimit ${rule.name}: ${rule.count} per ${rule.key} over ${rule.rate}/${rule.window}s` } };
}

function phaseCheck(phase: Phase, limiters: RuleLimiters): CheckRun {
  return async (ctx) => {
    if (ctx.allowlisted || ctx.trusted) return NO_HITS;
    const due: Array<{ entry: RuleLimiter; key: string }> = [];
    for (const entry of limiters.for(ctx.policy)) {
      if (!countsIn(entry.rule, phase)) continue;
      const key = keyFor(entry.rule, ctx);
      if (key !== null) due.push({ entry, key });
    }
    if (due.length === 0) return NO_HITS;
    // A read-only store (scan, /checkv2) previews every limit without spending it.
    const readOnly = isReadOnly(ctx.store);
    if (!readOnly && phase !== 'connect') ctx.onAccepted.set('ratelimit', (done) => chargeAccepted(limiters, done));
    const count = (d: (typeof due)[number]) =>
      readOnly || namedKey(d.entry.rule) ? peek(d.entry, d.key, readOnly ? 1 : pendingFor(d.entry.rule, ctx)) : consume(d.entry.limiter, d.key);
    const results = await Promise.all(due.map(count));
    // A reject outranks a tempfail; among equals the longest wait answers.
    const rank = (rule: RateRule, ms: number) => (rule.action === 'reject' ? 1e15 : 0) + ms;
    let hit: { rule: RateRule; ms: number; key: string } | null = null;
    for (const [i, res] of results.entries()) {
      const d = due[i];
      if (!res || !d) continue;
      if (!hit || rank(d.entry.rule, res.msBeforeNext) > rank(hit.rule, hit.ms)) hit = { rule: d.entry.rule, ms: res.msBeforeNext, key: d.key };
    }
    if (!hit) return NO_HITS;
    ctx.log.info({ event: 'ratelimit', rule: hit.rule.name, key: hit.key, retry_ms: hit.ms }, 'rate limit exceeded');
    return refusal(hit.rule, phase, hit.ms);
  };
}

/** Spend the named-key limits for an accepted message, each key once per transaction. */
async function chargeAccepted(limiters: RuleLimiters, ctx: TransactionContext): Promise<void> {
  const spends: Array<Promise<unknown>> = [];
  for (const entry of limiters.for(ctx.policy)) {
    if (!namedKey(entry.rule)) continue;
    for (const [key, points] of acceptedCost(entry.rule, ctx)) spends.push(consume(entry.limiter, key, points));
  }
  await Promise.all(spends);
}

export const ratelimitCheck = defineCheck(ratelimitManifest, (deps) => {
  let lastWarn = 0;
  const limiters = new RuleLimiters(deps.store, () => {
    deps.metrics?.storeErrors.inc({ operation: 'ratelimit' });
    const now = Date.now();
    if (now - lastWarn < 10_000) return;
    lastWarn = now;
    deps.log.warn({ event: 'ratelimit_insurance' }, 'rate limits counted in memory on this machine only: the store is unavailable');
  });
  return {
    ratelimit_connect: phaseCheck('connect', limiters),
    ratelimit_mail: phaseCheck('mail', limiters),
    ratelimit_rcpt: phaseCheck('rcpt', limiters),
  };
});
