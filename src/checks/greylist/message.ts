import { NO_HITS, type CheckRun } from '../../pipeline/check.js';
import { Replies } from '../../decision/replies.js';
import { messageKey } from './keys.js';

/**
 * Score-band greylisting, a postfilter (rspamd's greylist is a prefilter plus a
 * postfilter): a message whose score lands in the greylist band is deferred with
 * 451 4.7.1 and remembered by its envelope and Message-ID (or body), so the retry of the
 * same message after the delay earns the action its score gives without the band
 * (add_header or rewrite_subject), on whichever MX it arrives. The runner gives it the
 * greylist section's timeout, on_error and dry_run (not its `enabled`: the band is switched
 * by actions.greylist, see greylist/manifest.ts); when it does not defer (a retry, a
 * store failure skipped, dry-run), pipeline/postfilter.ts lowers the band.
 */
export const messageGreylistCheck: CheckRun = async (ctx) => {
  const verdict = ctx.verdict;
  if (!verdict || verdict.action !== 'greylist' || verdict.forcedBy !== null) return NO_HITS;
  const g = ctx.policy.policy.greylist;
  const key = messageKey(ctx.envelope.from, ctx.envelope.rcpts, ctx.message);
  const result = await ctx.store.greylistCheck(key.group, key.id, { delay: g.delay, retryWindow: g.retry_window, passTtl: g.retry_window, autoAllowAfter: 0, autoAllowTtl: 1 });
  ctx.log.debug({ event: 'greylist_message', key: `${key.group}|${key.id}`, state: result.state, retry_after: result.retryAfter }, 'score-band greylist checked');
  if (result.state === 'new' || result.state === 'early') {
    return { force: { action: 'greylist', reply: Replies.greylisted(result.retryAfter), reason: `${verdict.reason}; greylisted (${result.state})` } };
  }
  return NO_HITS;
};
