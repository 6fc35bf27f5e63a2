import type { CompiledPolicy } from '../policy/compiled.js';
import type { RecordedForce, RecordedHit } from './hits.js';
import { scoreHits, type ScoredHit } from './score.js';
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

/**
 * Thresholds → action. Order: reject ≥ greylist ≥ rewrite_subject ≥ add_header.
 * `greylist: false` skips the greylist band: what a greylisted message earns once its
 * retry came after the delay.
 */
export function actionForScore(score: number, policy: CompiledPolicy, options: { greylist?: boolean } = {}): Action {
  const a = policy.policy.actions;
  if (score >= a.reject) return 'reject';
  if (options.greylist !== false && a.greylist !== null && score >= a.greylist) return 'greylist';
  if (a.rewrite_subject !== null && score >= a.rewrite_subject) return 'rewrite_subject';
  if (score >= a.add_header) return 'add_header';
  return 'accept';
}

const BLOCKING: ReadonlySet<Action> = new Set(['reject', 'greylist', 'soft_reject']);

export function isBlocking(action: Action): boolean {
  return BLOCKING.has(action);
}

/** The strongest action that lets the message through: what dry-run does instead of blocking. */
function passingActionForScore(score: number, policy: CompiledPolicy): Action {
  const a = policy.policy.actions;
  if (a.rewrite_subject !== null && score >= a.rewrite_subject) return 'rewrite_subject';
  if (score >= a.add_header) return 'add_header';
  return 'accept';
}

function forcedToAction(f: RecordedForce): Action {
  return f.action === 'reject' ? 'reject' : f.action === 'greylist' ? 'greylist' : 'soft_reject';
}

function scoreReply(action: Action): SmtpReply | null {
  if (action === 'reject') return Replies.spam();
  if (action === 'greylist') return Replies.softReject();
  return null;
}

/**
 * Hits and forced actions → the verdict. A forced action wins over the score, an enforced
 * one over a dry-run one. Dry-run never blocks: with the global switch the message gets
 * what its score alone would give short of blocking (so a trial week changes no delivery);
 * a check in dry-run only loses its own say, the score still decides for real.
 * `wouldBe` is what the policy would do with every dry-run switch off; a greylist deferral
 * gives way to a content reject (the retry would be rejected).
 */
export function decide(hits: readonly RecordedHit[], forced: readonly RecordedForce[], policy: CompiledPolicy): Verdict {
  const { score, scored } = scoreHits(hits, policy);
  const scoreAction = actionForScore(score, policy);
  // Greylisting only defers a first attempt, and the retry is judged on its content: when
  // the content is rejected, that is the outcome (what dry-run reports and whatif replays).
  // A reject outranks a deferral among the forced actions, for the same reason.
  const ranked = forced.filter((f) => !(f.action === 'greylist' && scoreAction === 'reject')).sort((a, b) => Number(b.action === 'reject') - Number(a.action === 'reject'));
  const enforced = policy.policy.dry_run ? undefined : ranked.find((f) => !f.dryRun);
  const force = enforced ?? ranked[0];
  const wouldBe = force ? forcedToAction(force) : scoreAction;
  let action: Action;
  let reply: SmtpReply | null;
  if (enforced) {
    action = wouldBe;
    reply = enforced.reply;
  } else if (policy.policy.dry_run) {
    action = isBlocking(wouldBe) ? passingActionForScore(score, policy) : wouldBe;
    reply = null;
  } else {
    action = scoreAction;
    reply = scoreReply(scoreAction);
  }
  // Who decided: the forced check unless the score blocked on its own past a dry-run check.
  const byScore = !enforced && isBlocking(action);
  return {
    action,
    wouldBe,
    dryRun: action !== wouldBe,
    score,
    hits: scored,
    reply,
    forcedBy: byScore ? null : force?.check ?? null,
    reason: byScore || !force ? `score ${score}` : force.reason,
  };
}
