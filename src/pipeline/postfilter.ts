import type { Pipeline } from './runner.js';
import type { TransactionContext } from './context.js';
import { actionForScore, isBlocking, type Action, type Verdict } from '../decision/verdict.js';

/**
 * The postfilter phase: checks that see the verdict (ctx.verdict) and may defer or refuse
 * it, run like any other phase (timeout, on_error, dry_run). Their forced actions are not
 * evidence about the message, so they are taken off ctx.forced again: history and
 * `policy whatif` re-judge the hits and the pre-verdict refusals only.
 *
 * A score in the greylist band is a request to a postfilter to defer: when none did (the
 * retry came after the delay, greylisting is off, its store failed with on_error: skip, or
 * it is in dry-run), the message gets what its score earns without the band.
 */
export async function settleVerdict(pipeline: Pipeline, ctx: TransactionContext, verdict: Verdict): Promise<Verdict> {
  ctx.verdict = verdict;
  const before = ctx.forced.length;
  const force = await pipeline.run('postfilter', ctx);
  const seen = ctx.forced.splice(before);
  if (force) {
    const action: Action = force.action === 'reject' ? 'reject' : force.action === 'greylist' ? 'greylist' : isBlocking(verdict.action) ? verdict.action : 'soft_reject';
    return { ...verdict, action, wouldBe: action, dryRun: false, reply: force.reply, reason: force.reason };
  }
  if (verdict.action !== 'greylist' || verdict.forcedBy !== null) return verdict;
  const action = actionForScore(verdict.score, ctx.policy, { greylist: false });
  const dryRun = seen.find((f) => f.dryRun);
  if (dryRun) {
    return { ...verdict, action, wouldBe: 'greylist', dryRun: true, reply: null, reason: `${dryRun.check} dry-run: would have deferred the message` };
  }
  return { ...verdict, action, wouldBe: action, reply: null, reason: `${verdict.reason}; greylist band passed` };
}
