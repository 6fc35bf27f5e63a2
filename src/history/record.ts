import os from 'node:os';
import type { ClientInfo, TransactionContext } from '../pipeline/context.js';
import type { ScoredHit } from '../decision/score.js';
import type { Verdict } from '../decision/verdict.js';
import type { Store } from '../stores/types.js';
import type { CompiledPolicy } from '../policy/compiled.js';

/** The facts of one finished transaction: one log line, one history entry. */
export interface TransactionSummary {
  tx: string;
  client: ClientInfo;
  helo: string;
  from: string;
  rcpts: string[];
  size: number;
  action: string;
  reply: string;
  durationMs: number;
  queueId?: string;
  /** Content-filter mode: Postfix's queue id before us (XFORWARD IDENT). */
  origQueueId?: string;
  score?: number;
  symbols?: ScoredHit[];
  reason?: string;
  relayed?: boolean;
  verdict?: Verdict;
  /** What the policy asked for when the mode changed it (after the queue: discard instead of reject). */
  wouldBe?: string;
  /** Recipients accepted but not relayed (content-filter mode, after_queue_reject=discard). */
  droppedRcpts?: string[];
  /** Recipients refused at RCPT (the accepted ones are in rcpts). */
  refusedRcpts?: string[];
  /** Why it was refused, as a key (the rejections metric's reason label): a check, `score`, `relay`… */
  refusal?: string;
}

/**
 * What the history keeps per message: the symbols hit (with their factors, so a draft
 * policy can re-score them in `policy whatif`), never the mail itself.
 */
export interface HistoryEntry {
  time: string;
  /** Which instance handled it (history.instance, else the hostname): MX sharing one history tell theirs apart. */
  instance?: string;
  tx: string;
  ip: string;
  helo: string;
  from: string;
  rcpts: string[];
  /** Recipients refused at RCPT. */
  refusedRcpts?: string[];
  size: number;
  /** What was done, in one vocabulary shared with `stats` and borderpatrol_transactions_total (see README, Actions). */
  action: string;
  wouldBe?: string;
  score?: number;
  reply: string;
  queueId?: string;
  origQueueId?: string;
  /** Refusal reason key (see TransactionSummary.refusal), for `stats`. */
  refusal?: string;
  /** [symbol, factor] pairs as the checks reported them. */
  hits: Array<[string, number]>;
  /** Forced actions: [check, action, dryRun, policy section of the check]. */
  forced: Array<[string, string, boolean, string?]>;
}

export function recordVerdict(s: TransactionSummary, tx: TransactionContext, store: Store, policy: CompiledPolicy): void {
  tx.log.info(
    {
      event: 'transaction',
      client: { ip: s.client.ip, rdns: s.client.rdns, tls: s.client.tls, source: s.client.source },
      helo: s.helo,
      from: s.from,
      rcpts: s.rcpts,
      refused_rcpts: s.refusedRcpts?.length ? s.refusedRcpts : undefined,
      size: s.size,
      action: s.action,
      would_be: wouldBeOf(s),
      score: s.score,
      symbols: s.symbols ? Object.fromEntries(s.symbols.map((h) => [h.name, h.score])) : undefined,
      reason: s.reason,
      refusal: s.refusal || undefined,
      reply: s.reply,
      queue_id: s.queueId || undefined,
      orig_queue_id: s.origQueueId || undefined,
      dropped_rcpts: s.droppedRcpts?.length ? s.droppedRcpts : undefined,
      duration_ms: s.durationMs,
    },
    'transaction finished',
  );
  const max = policy.policy.history.size;
  if (max <= 0) return;
  const entry: HistoryEntry = {
    time: new Date().toISOString(),
    instance: instanceName(policy),
    tx: s.tx,
    ip: s.client.ip,
    helo: s.helo,
    from: s.from,
    rcpts: s.rcpts,
    ...(s.refusedRcpts?.length ? { refusedRcpts: s.refusedRcpts } : {}),
    size: s.size,
    action: s.action,
    ...(wouldBeOf(s) ? { wouldBe: wouldBeOf(s) } : {}),
    ...(s.score !== undefined ? { score: s.score } : {}),
    reply: s.reply,
    ...(s.queueId ? { queueId: s.queueId } : {}),
    ...(s.origQueueId ? { origQueueId: s.origQueueId } : {}),
    ...(s.refusal ? { refusal: s.refusal } : {}),
    hits: tx.hits.map((h) => [h.name, h.factor ?? 1]),
    forced: tx.forced.map((f) => (f.section ? [f.check, f.action, f.dryRun, f.section] : [f.check, f.action, f.dryRun])),
  };
  store.historyPush(JSON.stringify(entry), max).catch((err: Error) => tx.log.warn({ event: 'history_error', err: err.message }, 'could not record history'));
}

/** Read once: os.hostname() is a system call, and this name is on every history entry. */
let hostname: string | undefined;

/** The name history entries and /policy/status give this instance. */
export function instanceName(policy: CompiledPolicy): string {
  return policy.policy.history.instance || (hostname ??= os.hostname());
}

function wouldBeOf(s: TransactionSummary): string | undefined {
  return s.wouldBe ?? (s.verdict?.dryRun ? s.verdict.wouldBe : undefined);
}
