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
 * are counted at once (one wait for the store, not one per rule); the one furthest over
 * answers. Allow-listed and trusted clients are not counted.
 */

/** The value a rule counts under for this transaction, or null when it does not apply. */
function keyFor(rule: RateRule, ctx: TransactionContext): string | null {
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
      return ctx.currentRcpt ? foldAddress(ctx.currentRcpt) : null;
  }
}

/** Which rules count in a phase. */
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
    // A read-only store (scan, /checkv2) previews the limits without spending them.
    const count = isReadOnly(ctx.store) ? (d: (typeof due)[number]) => peek(d.entry, d.key) : (d: (typeof due)[number]) => consume(d.entry.limiter, d.key);
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
