import type { TransactionContext } from '../../pipeline/context.js';
import type { Metrics } from '../../observability/metrics.js';
import { actionForScore, type Verdict } from '../../decision/verdict.js';
import { Replies } from '../../decision/replies.js';
import { messageKey } from './keys.js';

/**
 * Score-band greylisting, after decide(): a message whose score lands in the greylist band
 * is deferred with 451 4.7.1 and remembered by its envelope and Message-ID (or body), so
 * the retry of the same message after the delay earns the action its score gives without
 * the band (add_header or rewrite_subject), on whichever MX it arrives. decide() stays a
 * pure function of hits and policy; this is the one place that keeps state about it.
 *
 * Runs only on the live path: `scan` must not leave greylist entries behind.
 */
export async function settleGreylist(verdict: Verdict, ctx: TransactionContext, metrics: Metrics | null): Promise<Verdict> {
  if (verdict.action !== 'greylist' || verdict.forcedBy !== null) return verdict;
  const g = ctx.policy.policy.greylist;
  if (g.dry_run) {
    ctx.log.info({ event: 'dry_run', check: 'greylist_message', would: 'greylist', score: verdict.score }, 'dry-run: check would have acted');
    return { ...retried(verdict, ctx, 'greylist dry-run: would have deferred the message'), wouldBe: 'greylist', dryRun: true };
  }
  const key = messageKey(ctx.envelope.from, ctx.envelope.rcpts, ctx.message);
  let timer: NodeJS.Timeout | undefined;
  try {
    const check = ctx.store.greylistCheck(key.group, key.id, { delay: g.delay, retryWindow: g.retry_window, passTtl: g.retry_window, autoAllowAfter: 0, autoAllowTtl: 1 });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`greylist store took longer than ${g.timeout} ms`)), g.timeout);
    });
    const result = await Promise.race([check, timeout]);
    ctx.log.debug({ event: 'greylist_message', key: `${key.group}|${key.id}`, state: result.state, retry_after: result.retryAfter }, 'score-band greylist checked');
    if (result.state === 'new' || result.state === 'early') {
      return { ...verdict, reply: Replies.greylisted(result.retryAfter), reason: `${verdict.reason}; greylisted (${result.state})` };
    }
    return retried(verdict, ctx, 'greylist passed: retried after the delay');
  } catch (err) {
    metrics?.checkErrors.inc({ check: 'greylist_message' });
    ctx.log.warn({ event: 'check_error', check: 'greylist_message', on_error: g.on_error, err: (err as Error).message }, 'check failed');
    if (g.on_error === 'tempfail') return { ...verdict, reply: Replies.policyTempfail(), reason: `greylist failed: ${(err as Error).message}` };
    return retried(verdict, ctx, `greylist skipped: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

function retried(verdict: Verdict, ctx: TransactionContext, reason: string): Verdict {
  const action = actionForScore(verdict.score, ctx.policy, { greylist: false });
  return { ...verdict, action, wouldBe: action, reply: null, reason };
}
