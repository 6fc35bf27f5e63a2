import type { CompiledPolicy } from '../policy/compiled.js';
import type { RecordedForce, RecordedHit } from '../pipeline/context.js';
import { scoreHits, type ScoredHit } from '../scoring/score.js';
import { Replies, type SmtpReply } from './replies.js';

export type Action = 'accept' | 'add_header' | 'rewrite_subject' | 'greylist' | 'soft_reject' | 'reject';

/** The one value that is logged, replied and stamped into the headers. */
export interface Verdict {
  action: Action;
  /** What the policy would have done; differs from action only in dry-run. */
  wouldBe: Action;
  dryRun: boolean;
  score: number;
  hits: ScoredHit[];
  /** The reply for reject / greylist / soft_reject (accepting replies come from Postfix). */
  reply: SmtpReply | null;
  /** The check that forced the action, if one did. */
  forcedBy: string | null;
  reason: string;
}

/** Thresholds → action. Order: reject ≥ greylist ≥ rewrite_subject ≥ add_header. */
export function actionForScore(score: number, policy: CompiledPolicy): Action {
  const a = policy.policy.actions;
  if (score >= a.reject) return 'reject';
  if (a.greylist !== null && score >= a.greylist) return 'greylist';
  if (a.rewrite_subject !== null && score >= a.rewrite_subject) return 'rewrite_subject';
  if (score >= a.add_header) return 'add_header';
  return 'accept';
}

const BLOCKING: ReadonlySet<Action> = new Set(['reject', 'greylist', 'soft_reject']);

export function isBlocking(action: Action): boolean {
  return BLOCKING.has(action);
}

export function decide(hits: readonly RecordedHit[], forced: readonly RecordedForce[], policy: CompiledPolicy): Verdict {
  const { score, scored } = scoreHits(hits, policy);
  let wouldBe = actionForScore(score, policy);
  let reply: SmtpReply | null = null;
  let forcedBy: string | null = null;
  let reason = `score ${score}`;
  // A forced action wins over the score; an enforced one over a dry-run one.
  const force = forced.find((f) => !f.dryRun) ?? forced[0];
  if (force) {
    wouldBe = force.action === 'reject' ? 'reject' : force.action === 'greylist' ? 'greylist' : 'soft_reject';
    reply = force.reply;
    forcedBy = force.check;
    reason = force.reason;
  } else if (wouldBe === 'reject') reply = Replies.spam();
  else if (wouldBe === 'greylist') reply = Replies.softReject();
  const dryRun = policy.policy.dry_run || (force ? force.dryRun : false);
  let action = wouldBe;
  if (dryRun && isBlocking(wouldBe)) {
    action = 'add_header';
    reply = null;
  }
  return { action, wouldBe, dryRun: dryRun && wouldBe !== action, score, hits: scored, reply, forcedBy, reason };
}
