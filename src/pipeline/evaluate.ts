import type { Pipeline } from './runner.js';
import type { TransactionContext } from './context.js';
import { decide, type Verdict } from '../decision/verdict.js';
import { parseMessage } from '../mail/parse.js';

/**
 * End-of-DATA evaluation: parse once, run the data-phase checks, decide. The live proxy
 * and `borderpatrol scan` both call this, so they cannot disagree on a verdict.
 */
export async function evaluateMessage(pipeline: Pipeline, ctx: TransactionContext, raw: Buffer): Promise<Verdict> {
  ctx.message = await parseMessage(raw, ctx.policy.policy.limits, ctx.signal);
  await pipeline.run('data', ctx);
  return decide(ctx.hits, ctx.forced, ctx.policy);
}
