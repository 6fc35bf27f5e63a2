import type { Phase } from '../checks/manifest.js';
import type { SmtpReply } from './replies.js';

/** What checks report, and what the verdict is made of. */

/** A named symbol a check found; its score is factor × the weight in symbols.yaml. */
export interface SymbolHit {
  name: string;
  /** Multiplier on the symbol's weight (default 1); Bayes uses it for confidence. */
  factor?: number;
  detail?: string;
}

/**
 * A check can also decide on its own, without the score: a deny list rejects at once,
 * greylisting defers, an allow list marks the transaction so later checks skip it.
 */
export interface ForcedAction {
  action: 'reject' | 'tempfail' | 'greylist';
  reply: SmtpReply;
  reason: string;
}

/** A hit with the check that produced it. */
export interface RecordedHit extends SymbolHit {
  check: string;
}

export interface RecordedForce extends ForcedAction {
  check: string;
  phase: Phase;
  /** The check (or the whole policy) was in dry-run: logged and stamped, not enforced. */
  dryRun: boolean;
  /** The check's policy section (whose dry_run applied), so `policy whatif` can re-judge it. */
  section?: string;
}
