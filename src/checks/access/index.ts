import { defineCheck, NO_HITS, type Outcome } from '../../pipeline/check.js';
import { accessManifest } from './manifest.js';
import type { TransactionContext } from '../../pipeline/context.js';
import { Replies } from '../../decision/replies.js';
import { domainOfAddress } from '../../mail/address.js';
import type { ListMatcher } from '../../policy/lists.js';

/**
 * Allow and deny lists, each consulted at the earliest phase where its data is known:
 * IPs at connect, HELO at helo, senders at MAIL, recipients at RCPT. A deny hit answers
 * 550 5.7.1 with the list's reason; an allow hit marks the transaction (greylisting and
 * rate limits skip it) and scores a negative symbol.
 */

type DenyList = 'deny_ips' | 'deny_helo' | 'deny_senders' | 'deny_sender_domains' | 'deny_recipients';

function has(list: ListMatcher | undefined, value: string): boolean {
  return !!value && !!list && list.has(value);
}

function deny(ctx: TransactionContext, list: DenyList, value: string): Outcome {
  const reason = ctx.policy.policy.access.reasons[list];
  return { force: { action: 'reject', reply: Replies.listed(reason), reason: `${list}: ${value}` } };
}

export const accessCheck = defineCheck(accessManifest, () => ({
  access_ip: async (ctx) => {
    const ip = ctx.client.ip;
    if (has(ctx.policy.list('allow_ips'), ip)) {
      ctx.allowlisted = true;
      return { hits: [{ name: 'ALLOWLIST_IP', detail: ip }] };
    }
    if (has(ctx.policy.list('deny_ips'), ip)) return deny(ctx, 'deny_ips', ip);
    return NO_HITS;
  },
  access_helo: async (ctx) => {
    const helo = ctx.client.helo.toLowerCase();
    if (!ctx.allowlisted && has(ctx.policy.list('deny_helo'), helo)) return deny(ctx, 'deny_helo', helo);
    return NO_HITS;
  },
  access_sender: async (ctx) => {
    const from = ctx.envelope.from.toLowerCase();
    const domain = domainOfAddress(from);
    if (has(ctx.policy.list('allow_senders'), from)) {
      ctx.allowlisted = true;
      return { hits: [{ name: 'ALLOWLIST_SENDER', detail: from }] };
    }
    if (has(ctx.policy.list('allow_sender_domains'), domain)) {
      ctx.allowlisted = true;
      return { hits: [{ name: 'ALLOWLIST_SENDER_DOMAIN', detail: domain }] };
    }
    if (ctx.allowlisted) return NO_HITS;
    if (has(ctx.policy.list('deny_senders'), from)) return deny(ctx, 'deny_senders', from);
    if (has(ctx.policy.list('deny_sender_domains'), domain)) return deny(ctx, 'deny_sender_domains', domain);
    return NO_HITS;
  },
  access_recipient: async (ctx) => {
    const rcpt = (ctx.currentRcpt ?? '').toLowerCase();
    if (has(ctx.policy.list('deny_recipients'), rcpt)) return deny(ctx, 'deny_recipients', rcpt);
    return NO_HITS;
  },
}));
