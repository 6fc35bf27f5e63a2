import { defineCheck, NO_HITS, type CheckRun } from '../../pipeline/check.js';
import { greylistManifest } from './manifest.js';
import type { TransactionContext } from '../../pipeline/context.js';
import type { Policy } from '../../policy/schema.js';
import type { GreylistOptions } from '../../stores/types.js';
import { Replies } from '../../decision/replies.js';
import { tripletKey } from './keys.js';
import { messageGreylistCheck } from './message.js';

/** The store options for triplets, from policy. */
export function tripletOptions(g: Policy['greylist']): GreylistOptions {
  return { delay: g.delay, retryWindow: g.retry_window, passTtl: g.pass_ttl, autoAllowAfter: g.auto_allow_after, autoAllowTtl: g.auto_allow_ttl };
}

/**
 * Why this transaction is not greylisted, or null when it is: allow-listed or our own
 * networks, and big senders that retry from a different address each time (lists
 * greylist_exempt_ips, and greylist_exempt_domains matched against the client's reverse
 * DNS name; a PTR record is set by whoever owns the address block, so list only domains
 * whose senders would be let through anyway).
 */
function exemption(ctx: TransactionContext): string | null {
  if (ctx.allowlisted) return 'allowlisted';
  if (ctx.trusted) return 'trusted';
  if (ctx.policy.list('greylist_exempt_ips')?.has(ctx.client.ip)) return 'greylist_exempt_ips';
  if (ctx.client.rdns && ctx.policy.list('greylist_exempt_domains')?.has(ctx.client.rdns)) return 'greylist_exempt_domains';
  return null;
}

/**
 * Classic greylisting at RCPT: a (client network, sender, recipient) triplet seen for the
 * first time gets 451 4.7.1 and passes when it comes back after the delay. Real MTAs retry;
 * most spam engines do not. A store failure throws, so on_error decides.
 *
 * A retry after the delay is let on, but its triplet passes (and counts toward the
 * network's auto_allow_after) only once the message is accepted: spam retried from a
 * network and refused for its content must not earn that network a free pass.
 */
const rcptCheck: CheckRun = async (ctx) => {
  const rcpt = ctx.currentRcpt;
  if (!rcpt) return NO_HITS;
  const exempt = exemption(ctx);
  if (exempt) {
    ctx.log.debug({ event: 'greylist', exempt }, 'greylisting skipped');
    return NO_HITS;
  }
  const g = ctx.policy.policy.greylist;
  const key = tripletKey(ctx.client.ip, ctx.envelope.from, rcpt, g.ipv4_prefix, g.ipv6_prefix);
  const options = tripletOptions(g);
  const result = await ctx.store.greylistCheck(key.group, key.id, { ...options, confirmLater: true });
  ctx.log.debug({ event: 'greylist', key: `${key.group}|${key.id}`, state: result.state, retry_after: result.retryAfter }, 'greylist checked');
  if (result.state === 'new' || result.state === 'early') {
    return { force: { action: 'greylist', reply: Replies.greylisted(result.retryAfter), reason: `greylist ${result.state}: ${key.group}|${key.id}` } };
  }
  if (result.state === 'due') {
    ctx.onAccepted.set(`greylist:${rcpt.toLowerCase()}`, async (done) => {
      // A recipient refused after this check (unknown user, a later limit) was not delivered to.
      if (!done.envelope.rcpts.some((r) => r.toLowerCase() === rcpt.toLowerCase())) return;
      const passed = await done.store.greylistConfirm(key.group, key.id, options);
      done.log.debug({ event: 'greylist_passed', key: `${key.group}|${key.id}`, passed }, 'greylist retry accepted');
    });
  }
  return NO_HITS;
};

export const greylistCheck = defineCheck(greylistManifest, () => ({ greylist: rcptCheck, greylist_message: messageGreylistCheck }));
