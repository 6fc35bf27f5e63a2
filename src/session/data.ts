import { Readable } from 'node:stream';
import { formatReply, legalReply, reply, Replies, type SmtpReply } from '../decision/replies.js';
import { spamHeaders } from '../decision/spam-headers.js';
import { isBlocking, type Verdict } from '../decision/verdict.js';
import { afterQueueOutcome } from '../decision/after-queue.js';
import type { TransactionContext } from '../pipeline/context.js';
import { evaluateMessage } from '../pipeline/evaluate.js';
import { settleVerdict } from '../pipeline/postfilter.js';
import { chargeAccepted } from '../pipeline/accepted.js';
import type { TransactionSummary } from '../history/record.js';
import { isForgedField, restampMessage, splitMessage, type SplitMessage } from '../mail/header-block.js';
import { receivedHeader } from '../relay/received.js';
import { normalizeLineEnds, readMessage } from './message-reader.js';
import type { DataAction, DataOptions, DataResult, HeaderEdits, MailParams, SessionDeps } from './types.js';

/** What a transaction carries from MAIL to the end of DATA besides its context. */
export interface DataState {
  started: number;
  params: MailParams;
  /** After the queue with after_queue_reject=discard: recipients accepted but not relayed. */
  droppedRcpts: string[];
  /** The last refusal in the transaction, and its reason key, for its summary line. */
  lastReply: SmtpReply | null;
  lastRefusal: string;
  /** The last refusal in the verdict's words (reject, soft_reject, greylist), for its summary line. */
  lastAction: 'reject' | 'soft_reject' | 'greylist';
  /** Recipients refused at RCPT, kept for the transaction's record. */
  refusedRcpts: string[];
}

/** A transaction's state before MAIL has set anything. */
export function freshTxState(): DataState {
  return { started: 0, params: {}, droppedRcpts: [], lastReply: null, lastRefusal: '', lastAction: 'reject', refusedRcpts: [] };
}

type Summary = Omit<TransactionSummary, 'tx' | 'client' | 'helo' | 'from' | 'rcpts' | 'durationMs'> & Partial<TransactionSummary>;

export interface DataHooks {
  /** True once the client went away: nothing is relayed for it then. */
  gone(): boolean;
  summarize(s: Summary): void;
}

const NO_EDITS: HeaderEdits = { add: [], removeAt: [], subject: null };

/**
 * The end of DATA: the message limits, the content scan under the scan cap, the postfilter,
 * after-queue handling, verdict → reply, the header edits, and the hand-over to the
 * deliverer (when there is one) whose answer to the final "." becomes ours.
 */
export async function runData(deps: SessionDeps, tx: TransactionContext, st: DataState, input: Buffer, options: DataOptions, hooks: DataHooks): Promise<DataResult> {
  const limits = tx.policy.policy.limits;
  const measured = options.measured ?? (await readMessage(Readable.from([input]), { maxSize: limits.max_message_size, maxLineLength: limits.max_line_length }));
  const queueId = options.queueId;
  const result = (action: DataAction, r: SmtpReply, verdict: Verdict | null, extra: Partial<DataResult> = {}): DataResult => ({
    action,
    reply: r,
    accepted: r.code >= 200 && r.code < 300,
    verdict,
    headers: NO_EDITS,
    txId: tx.id,
    queueId: '',
    relayed: false,
    ...extra,
  });
  const summary = (action: string, r: SmtpReply, extra: Partial<TransactionSummary> = {}): void => hooks.summarize({ action, reply: formatReply(r), size: measured.size, ...extra });
  const refuse = (r: SmtpReply, reason: string): DataResult => {
    summary('reject', r, { reason, refusal: reason });
    deps.recorder.refused('data', reason);
    return result('reject', r, null);
  };
  if (measured.oversized) return refuse(Replies.messageTooBig(limits.max_message_size), 'size');
  if (measured.overBudget) return refuse(Replies.insufficientStorage(), 'memory');
  let raw = input;
  if (measured.bareNewline) {
    if (tx.policy.policy.smtp.bare_newline === 'reject') return refuse(Replies.bareNewline(), 'bare_newline');
    raw = normalizeLineEnds(raw);
  }
  if (measured.longestLine > limits.max_line_length) return refuse(Replies.lineTooLong(limits.max_line_length), 'line_length');
  // Not const: released before the relay, see below.
  let split: SplitMessage | null = splitMessage(raw);
  if (split.fields.length > limits.max_headers) return refuse(Replies.tooManyHeaders(limits.max_headers), 'header_count');
  if (split.headerSize > limits.max_header_size) return refuse(Replies.headerTooBig(limits.max_header_size), 'header_size');

  const release = deps.scans ? await deps.scans.acquire() : () => undefined;
  const scanStart = performance.now();
  let verdict: Verdict;
  try {
    verdict = await evaluateMessage(deps.pipeline, tx, raw);
    verdict = await settleVerdict(deps.pipeline, tx, verdict);
  } finally {
    release();
    deps.recorder.scanSeconds((performance.now() - scanStart) / 1000);
  }
  // Every check has read the parsed message now. Its text views, URLs and Bayes tokens
  // would otherwise stay reachable through the transaction while the relay waits for the
  // next hop, long enough to be promoted to the old generation under load.
  tx.message = null;
  const base: Partial<TransactionSummary> = { score: verdict.score, symbols: verdict.hits, verdict, origQueueId: queueId, droppedRcpts: st.droppedRcpts };
  // After the queue a refusal would become a bounce: smtp.after_queue_reject decides instead.
  const afterQueue = afterQueueOutcome(verdict, tx.policy, tx.id);
  const everyRcptDropped = st.droppedRcpts.length > 0 && tx.envelope.rcpts.length === 0;
  if (afterQueue.kind === 'discard' || everyRcptDropped) {
    const r = Replies.discarded(tx.id);
    const reason = afterQueue.kind === 'discard' ? verdict.reason : 'every recipient refused';
    const refusal = afterQueue.kind === 'discard' ? (verdict.forcedBy ?? 'score') : 'recipients';
    summary('discard', r, { ...base, reason, refusal, wouldBe: 'reject' });
    deps.recorder.refused('data', refusal);
    return result('discard', r, verdict);
  }
  if (afterQueue.kind === 'deliver') {
    verdict = afterQueue.verdict;
    base.verdict = verdict;
    base.wouldBe = afterQueue.wouldBe;
    base.reason = `after queue: ${verdict.reason}`;
  }
  if (isBlocking(verdict.action) && verdict.reply) {
    const refusal = verdict.forcedBy ?? 'score';
    const r = legalReply('data', verdict.reply);
    summary(verdict.action, r, { ...base, reason: verdict.reason, refusal });
    deps.recorder.refused('data', refusal);
    return result(verdict.action, r, verdict);
  }
  const edits = headerEdits(verdict, tx, split);
  const deliverer = deps.deliverer;
  if (!deliverer) {
    // Scan, or the milter door: the caller applies the edits; Postfix itself delivers.
    const r = reply(250, '2.0.0', `Ok: ${tx.id}`);
    await chargeAccepted(tx);
    summary(verdict.action, r, base);
    return result(verdict.action, r, verdict, { headers: edits, queueId: queueId ?? '' });
  }
  if (hooks.gone()) {
    // The client hung up before hearing the verdict: it will retry, so relaying now would
    // deliver the message twice.
    const r = Replies.clientGone();
    summary('abandoned', r, { ...base, reason: 'client disconnected before the verdict' });
    return result(verdict.action, r, verdict, { headers: edits });
  }
  const outgoing = restampMessage(raw, split, [receivedHeader(tx, tx.policy, options.tls), ...edits.add], edits.subject === null ? null : tx.policy.policy.actions.subject_tag, tx.policy.policy.hostname);
  // The header fields have been copied into the outgoing message: do not hold them while
  // the next hop answers.
  split = null;
  const relayStart = performance.now();
  const delivered = await deliverer.deliver(
    {
      from: tx.envelope.from,
      rcpts: tx.envelope.rcpts,
      message: outgoing,
      client: tx.client,
      body8bit: !!st.params.body8bit,
      smtputf8: !!st.params.smtputf8,
      ...(queueId ? { ident: queueId } : {}),
    },
    tx.policy,
  );
  deps.recorder.relaySeconds((performance.now() - relayStart) / 1000);
  if (delivered.accepted) await chargeAccepted(tx);
  summary(delivered.accepted ? verdict.action : 'relay_refused', delivered.reply, { ...base, queueId: delivered.queueId, relayed: delivered.accepted });
  return result(verdict.action, delivered.reply, verdict, { headers: edits, queueId: delivered.queueId, relayed: delivered.accepted });
}

/**
 * Our fields to add; the inbound fields that claim to be ours, to remove (the same ones
 * restampMessage drops when we relay); the tagged Subject.
 */
function headerEdits(verdict: Verdict, tx: TransactionContext, split: SplitMessage): HeaderEdits {
  const removeAt: number[] = [];
  split.fields.forEach((f, i) => {
    if (isForgedField(f, tx.policy.policy.hostname)) removeAt.push(i);
  });
  let subject: string | null = null;
  if (verdict.action === 'rewrite_subject') {
    const field = split.fields.find((f) => f.name.toLowerCase() === 'subject');
    const value = field ? field.raw.slice(field.raw.indexOf(':') + 1).replace(/^[ \t]/, '').replace(/\r\n$/, '') : '';
    subject = `${tx.policy.policy.actions.subject_tag} ${value}`;
  }
  return { add: spamHeaders(verdict, tx.policy, tx.authResults), removeAt, subject };
}
