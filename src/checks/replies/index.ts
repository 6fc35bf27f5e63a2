import { defineCheck, NO_HITS } from '../../pipeline/check.js';
import { repliesManifest } from './manifest.js';
import { ownMessageId, referencedIds, replyKey } from './message-ids.js';

/**
 * At end of DATA. Mail from our own users (a trusted network, or a client Postfix
 * authenticated: content_filter and milter deployments see it) has its Message-ID
 * remembered for replies.expire_days. Mail from anyone else that names a remembered id in
 * In-Reply-To or References answers one of our users: REPLY (negative in symbols.yaml).
 */
export const repliesCheck = defineCheck(repliesManifest, (deps) => ({
  replies: async (ctx) => {
    const msg = ctx.message;
    if (!msg) return NO_HITS;
    const settings = ctx.policy.policy.replies;
    if (ctx.trusted) {
      const id = ownMessageId(msg);
      if (id) {
        await ctx.store.replyRemember([replyKey(id)], settings.expire_days * 86_400);
        deps.log.debug({ event: 'reply_remembered', tx: ctx.id, messageId: id }, 'remembered an outbound Message-ID');
      }
      return NO_HITS;
    }
    const ids = referencedIds(msg, settings.max_ids);
    if (ids.length === 0) return NO_HITS;
    const known = await ctx.store.replyKnown(ids.map(replyKey));
    const index = known.indexOf(true);
    return index < 0 ? NO_HITS : { hits: [{ name: 'REPLY', detail: `<${ids[index]!.slice(0, 200)}>` }] };
  },
}));
