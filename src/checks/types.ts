import type { TransactionContext } from '../pipeline/context.js';
import type { SmtpReply } from '../decision/replies.js';

/**
 * The phases a check can run in, cheapest first. `postfilter` runs after the verdict
 * (ctx.verdict is set) and may only defer or refuse it: score-band greylisting lives there.
 */
export type Phase = 'connect' | 'helo' | 'mail' | 'rcpt' | 'data' | 'postfilter';
export const PHASES: readonly Phase[] = ['connect', 'helo', 'mail', 'rcpt', 'data', 'postfilter'];

/** A named symbol the check found; its score is factor × the weight in symbols.yaml. */
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

export interface Outcome {
  hits?: SymbolHit[];
  force?: ForcedAction;
}

export const NO_HITS: Outcome = Object.freeze({});

/**
 * One check: a folder under src/checks/. `section` names its policy section (checks/NAME.yaml),
 * which carries enabled / dry_run / on_error / timeout. Checks never throw to say "no": they
 * return a forced action. A throw means the check itself failed; on_error decides what follows.
 */
export interface Check {
  readonly name: string;
  readonly phase: Phase;
  /** Policy section with enabled/dry_run/on_error/timeout, or null for always-on core checks. */
  readonly section: string | null;
  /**
   * Runs whatever its section's `enabled` says (its dry_run, on_error and timeout still
   * apply): score-band greylisting is switched by actions.greylist, not greylist.enabled.
   */
  readonly ignoresEnabled?: boolean;
  /** Symbols this check may emit: each must have a weight in symbols.yaml. */
  readonly symbols: readonly string[];
  run(ctx: TransactionContext): Promise<Outcome>;
}
