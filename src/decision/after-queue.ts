import type { CompiledPolicy } from '../policy/compiled.js';
import type { Phase } from '../checks/manifest.js';
import type { ForcedAction } from './hits.js';
import { isAfterQueue } from '../policy/mode.js';
import { actionForScore, type Action, type Verdict } from './verdict.js';
import { Replies, type SmtpReply } from './replies.js';

/**
 * Content-filter mode (after the queue): Postfix has already told the sender 250. Any 5xx
 * we answer makes Postfix bounce the message to its envelope sender, which for spam is
 * usually forged — backscatter. So in that mode a policy refusal never reaches Postfix as
 * a refusal; `smtp.after_queue_reject` decides instead:
 *
 * - `discard`: answer 250, relay nothing, log the discard (the summary line says so);
 * - `add_header`: relay the message with the X-Spam-* fields, for the mailbox to file it.
 *
 * Deferring is pointless there as well: a 4xx only makes Postfix's own queue retry, and a
 * greylist always passes on that retry. Greylisting is therefore left out after the queue
 * (the message gets what its score earns otherwise). A 4xx because a check could not run
 * (tempfail) is still answered: Postfix keeps the message queued and tries again later,
 * which is the safe thing when we could not judge it.
 */

/** What the front does with a forced action at MAIL or RCPT time. */
export type CommandHandling =
  /** Answer the refusal now (every mode before the queue; tempfails after it). */
  | 'answer'
  /** Accept the command; the refusal stays recorded and decides the message at end of data. */
  | 'carry'
  /** Accept the recipient but leave it out of the relay (after-queue discard of one recipient). */
  | 'drop_recipient'
  /** Forget it: greylisting after the queue only delays mail. */
  | 'ignore';

export function commandHandling(force: ForcedAction, phase: Phase, policy: CompiledPolicy): CommandHandling {
  if (!isAfterQueue(policy.policy)) return 'answer';
  if (force.action === 'tempfail') return 'answer';
  if (force.action === 'greylist') return 'ignore';
  if (phase === 'rcpt' && policy.policy.smtp.after_queue_reject === 'discard') return 'drop_recipient';
  return 'carry';
}

export type AfterQueueOutcome =
  /** Nothing changes: before the queue, or a verdict that needs no translation. */
  | { kind: 'as_is'; verdict: Verdict }
  /** Answer 250 and relay nothing. */
  | { kind: 'discard'; verdict: Verdict; reply: SmtpReply; wouldBe: Action }
  /** Relay with headers; `verdict` is what gets stamped. */
  | { kind: 'deliver'; verdict: Verdict; wouldBe: Action };

export function afterQueueOutcome(verdict: Verdict, policy: CompiledPolicy, txId: string): AfterQueueOutcome {
  if (!isAfterQueue(policy.policy)) return { kind: 'as_is', verdict };
  let action = verdict.action;
  // A greylist (forced or by score band) falls back to what the score earns without it.
  if (action === 'greylist') action = actionForScore(verdict.score, policy, { greylist: false });
  if (action === 'reject') {
    if (policy.policy.smtp.after_queue_reject === 'discard') {
      return { kind: 'discard', verdict, reply: Replies.discarded(txId), wouldBe: 'reject' };
    }
    action = 'add_header';
  }
  if (action === verdict.action) return { kind: 'as_is', verdict };
  return { kind: 'deliver', verdict: { ...verdict, action, reply: null }, wouldBe: verdict.action };
}
