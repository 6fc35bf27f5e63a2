import { formatReply, Replies, legalReply, type SmtpReply } from '../decision/replies.js';
import { commandHandling } from '../decision/after-queue.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { isFilterMode } from '../policy/mode.js';
import type { ClientInfo, TransactionContext } from '../pipeline/context.js';
import type { RecordedForce, RecordedHit } from '../decision/hits.js';
import { newId, newTransaction } from '../pipeline/transaction.js';
import { dnsFor } from '../net/dns.js';
import { unmapIpv4 } from '../net/ip.js';
import type { Logger } from '../observability/logger.js';
import type { TransactionSummary } from '../history/record.js';
import { addressEncodingProblem, canonicalSender } from '../mail/address.js';
import { freshTxState, runData, type DataState } from './data.js';
import { recipientAddress, unknownRecipient } from './recipients.js';
import type { DataOptions, DataResult, MailParams, OpenSession, SessionClient, SessionDeps, SmtpSession, StepResult } from './types.js';

const OK: StepResult = { ok: true };

/** Why the checks of a connection are told to stop: the client went away. */
const CLIENT_GONE = new Error('the client closed the connection');

/**
 * One SMTP conversation without a socket: every protocol rule between the greeting and the
 * answer to the final "." (relaying, recipients, limits, SIZE/SMTPUTF8, after-queue
 * handling, phase-legal codes), driving the pipeline's phases and the deliverer. Doors
 * (smtp-server, milter, scan, /checkv2) translate their input into these calls.
 *
 * The helo phase runs at MAIL, before the mail phase: like Postfix's default
 * smtpd_delay_reject, a bad HELO is refused at MAIL time (smtp-server has no HELO hook).
 */
export class Session implements SmtpSession {
  readonly id: string;
  private client: ClientInfo = { ip: '', port: 0, rdns: '', helo: '', tls: false, proto: 'SMTP', source: 'socket' };
  private log: Logger;
  /** What the connect phase found: every transaction of the connection starts from it. */
  private hits: RecordedHit[] = [];
  private forced: RecordedForce[] = [];
  private allowlisted = false;
  private trusted = false;
  /** The connect phase refused this client: every MAIL gets this reply. */
  private refusedAtConnect: SmtpReply | null = null;
  /** The connect phase waits for XFORWARD (filter modes) and runs at the first MAIL. */
  private connectPending = false;
  private opened = false;
  private closed = false;
  private readonly abort = new AbortController();
  /** The transaction in progress (MAIL … end of DATA). */
  private tx: TransactionContext | null = null;
  private txState: DataState = freshTxState();
  private inData = false;

  constructor(
    private readonly deps: SessionDeps,
    options: { id?: string } = {},
  ) {
    this.id = options.id ?? newId();
    this.log = deps.log.child({ conn: this.id });
  }

  async connect(c: SessionClient): Promise<StepResult> {
    const policy = this.deps.policy();
    const ip = unmapIpv4(c.ip);
    this.client = { ip, port: c.port, rdns: c.rdns ?? '', helo: '', tls: !!c.tls, proto: 'SMTP', source: c.source };
    this.trusted = policy.trustedNetworks.has(ip);
    this.opened = true;
    this.deps.recorder.connectionOpened();
    // Behind Postfix the peer is Postfix itself; XFORWARD names the client, with its name.
    if (c.rdns === undefined && !isFilterMode(policy.policy)) this.client.rdns = await (this.deps.reverse ?? ((a, p) => dnsFor(p).reverse(a)))(ip, policy);
    this.log.info({ event: 'connect', ip, port: c.port, rdns: this.client.rdns }, 'client connected');
    // A peer allowed to send XFORWARD (Postfix, in the filter modes) names the real client
    // only later, before MAIL: the connect phase waits for it there. Through the milter,
    // MAIL brings {auth_authen}: a client that logged in is not judged like a stranger.
    if (isFilterMode(policy.policy) || c.source === 'milter' || (c.source !== 'scan' && policy.xforwardHosts.has(ip))) {
      this.connectPending = true;
      return OK;
    }
    return this.runConnectPhase(policy);
  }

  async helo(name: string, proto: 'ESMTP' | 'SMTP' = 'ESMTP'): Promise<StepResult> {
    this.client = { ...this.client, helo: name, proto };
    return OK;
  }

  async mail(address: string, params: MailParams = {}): Promise<StepResult> {
    this.finishAbandoned();
    const policy = this.deps.policy();
    if (params.client) this.client = params.client;
    if (params.tls !== undefined) this.client = { ...this.client, tls: params.tls };
    if (this.client.source === 'xforward') this.trusted = policy.trustedNetworks.has(this.client.ip);
    if (isFilterMode(policy.policy)) {
      // Postfix reuses its connection to us for mail from other clients, naming each with
      // XFORWARD: the connect phase belongs to the transaction, not to the connection.
      this.connectPending = true;
      this.hits = [];
      this.forced = [];
      this.allowlisted = false;
      this.refusedAtConnect = null;
    }
    // Postfix authenticated the client (SASL): our own user, like a trusted network, from
    // the connect phase on.
    if (params.authUser) this.trusted = true;
    if (this.connectPending) await this.runConnectPhase(policy);
    const tx = this.newContext(policy);
    tx.envelope.from = canonicalSender(address);
    if (params.authUser) {
      // Postfix authenticated the client (SASL): our own user, like a trusted network.
      tx.trusted = true;
      tx.log.info({ event: 'authenticated', user: params.authUser }, 'client authenticated by Postfix');
    }
    this.tx = tx;
    this.txState = { ...freshTxState(), started: performance.now(), params };
    if (this.refusedAtConnect) return this.refuse('connect', this.refusedAtConnect, 'connect');
    const max = policy.policy.limits.max_message_size;
    if ((params.size ?? 0) > max) return this.refuse('mail', Replies.messageTooBig(max), 'size');
    const encoding = addressEncodingProblem(address, !!params.smtputf8);
    if (encoding) return this.refuse('mail', encoding === 'not_utf8' ? Replies.addressNotUtf8() : Replies.addressNeedsSmtputf8(), encoding);
    for (const phase of ['helo', 'mail'] as const) {
      const force = await this.deps.pipeline.run(phase, tx);
      if (force && !this.carried(force, tx, policy)) return this.refuse(phase, force.reply, force.check);
    }
    return OK;
  }

  async rcpt(address: string): Promise<StepResult> {
    const result = await this.checkRcpt(address);
    // A refused recipient stays in the transaction's record: who was refused is what an admin looks for.
    if (!result.ok && this.tx && !this.txState.refusedRcpts.includes(address)) this.txState.refusedRcpts.push(address);
    return result;
  }

  private async checkRcpt(address: string): Promise<StepResult> {
    const tx = this.tx;
    if (!tx) return { ok: false, reply: Replies.needMail() };
    const policy = tx.policy;
    const st = this.txState;
    const encoding = addressEncodingProblem(address, !!st.params.smtputf8);
    if (encoding) return this.refuse('rcpt', encoding === 'not_utf8' ? Replies.addressNotUtf8() : Replies.addressNeedsSmtputf8(), encoding);
    const rcpt = recipientAddress(address, policy);
    if (!rcpt.ok) return this.refuse('rcpt', rcpt.reply, rcpt.reason);
    const accepted = rcpt.address;
    // The same recipient twice is one recipient: counted once, checked once, delivered once.
    const key = accepted.toLowerCase();
    if ([...tx.envelope.rcpts, ...st.droppedRcpts].some((r) => r.toLowerCase() === key)) return OK;
    if (tx.envelope.rcpts.length + st.droppedRcpts.length >= policy.policy.limits.max_recipients) return this.refuse('rcpt', Replies.tooManyRecipients(), 'max_recipients');
    // Like Postfix's reject_unlisted_recipient before a policy service: an unknown user is
    // refused at once, before greylisting or a rate limit would defer it or keep its triplet.
    const unknown = await unknownRecipient(accepted, policy, this.deps.verifier);
    if (unknown) return this.refuse('rcpt', unknown, 'unknown_recipient');
    tx.currentRcpt = accepted;
    try {
      const force = await this.deps.pipeline.run('rcpt', tx);
      if (force) {
        const handling = commandHandling(force, 'rcpt', policy);
        // The refusal answers this recipient only: it must not decide the message to the others
        // (after the queue with add_header it stays, so the message is stamped instead).
        if (handling !== 'carry') tx.forced.splice(tx.forced.indexOf(force), 1);
        if (handling === 'answer') return this.refuse('rcpt', force.reply, force.check, force.action === 'greylist' ? 'greylist' : undefined);
        tx.log.info({ event: 'after_queue', phase: 'rcpt', check: force.check, handling, rcpt: accepted, reason: force.reason }, 'refusal held back: Postfix already accepted this message');
        if (handling === 'drop_recipient') {
          st.droppedRcpts.push(accepted);
          return OK;
        }
      }
      tx.envelope.rcpts.push(accepted);
      return OK;
    } finally {
      tx.currentRcpt = null;
    }
  }

  async data(raw: Buffer, options: DataOptions = {}): Promise<DataResult> {
    const tx = this.tx;
    // smtp-server and Postfix refuse DATA before RCPT themselves; scan may have no recipient.
    if (!tx) return { action: 'reject', reply: Replies.needMail(), accepted: false, verdict: null, headers: { add: [], removeAt: [], subject: null }, txId: '', queueId: '', relayed: false };
    this.inData = true;
    try {
      return await runData(this.deps, tx, this.txState, raw, options, { gone: () => this.closed, summarize: (s) => this.summarize(tx, s) });
    } finally {
      this.inData = false;
      this.tx = null;
    }
  }

  reset(): void {
    this.finishAbandoned();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finishAbandoned();
    // A ready-made reason: abort() without one builds a DOMException (and its stack) per connection.
    this.abort.abort(CLIENT_GONE);
    if (this.opened) this.deps.recorder.connectionClosed();
    this.log.info({ event: 'disconnect' }, 'client disconnected');
  }

  /** Hits and forced actions so far (the transaction's, else the connection's): what a refusal was judged on. */
  evidence(): { hits: readonly RecordedHit[]; forced: readonly RecordedForce[] } {
    return this.tx ?? { hits: this.hits, forced: this.forced };
  }

  private async runConnectPhase(policy: CompiledPolicy): Promise<StepResult> {
    this.connectPending = false;
    const ctx = this.newContext(policy, this.id);
    const force = await this.deps.pipeline.run('connect', ctx);
    this.hits = ctx.hits;
    this.forced = ctx.forced;
    this.allowlisted = ctx.allowlisted;
    if (!force || this.carried(force, ctx, policy)) return OK;
    this.deps.recorder.refused('connect', force.check);
    // RFC 5321 §4.3.2: the greeting may only be 220, 554 or 421.
    const reply = legalReply('connect', force.reply);
    this.log.info({ event: 'refused', phase: 'connect', check: force.check, reason: force.reason, reply: formatReply(reply) }, 'connection refused');
    this.refusedAtConnect = reply;
    return { ok: false, reply, close: true };
  }

  /**
   * A context that starts from what the connection already knows (connect-phase hits,
   * allow marks). With an id it is the connection's own (connect phase); without, a new
   * transaction.
   */
  private newContext(policy: CompiledPolicy, id?: string): TransactionContext {
    return newTransaction({
      ...(id ? { id } : {}),
      connectionId: this.id,
      client: this.client,
      policy,
      store: this.deps.store,
      log: this.log,
      inherited: { hits: this.hits, forced: this.forced, allowlisted: this.allowlisted, trusted: this.trusted },
      signal: this.abort.signal,
    });
  }

  /**
   * After the queue (content_filter), a refusal at connect, HELO or MAIL would become a
   * bounce: true when it is held back (kept for the end-of-data verdict, or dropped for a
   * greylist) instead of answered. See decision/after-queue.ts.
   */
  private carried(force: RecordedForce, ctx: TransactionContext, policy: CompiledPolicy): boolean {
    const handling = commandHandling(force, force.phase, policy);
    if (handling === 'answer') return false;
    if (handling === 'ignore') ctx.forced.splice(ctx.forced.indexOf(force), 1);
    ctx.log.info({ event: 'after_queue', phase: force.phase, check: force.check, handling, reason: force.reason }, 'refusal held back: Postfix already accepted this message');
    return true;
  }

  /** `action` names a refusal in the verdict's words when its reply code alone does not (greylisting). */
  private refuse(phase: 'connect' | 'helo' | 'mail' | 'rcpt', r: SmtpReply, reason: string, action?: 'greylist'): StepResult {
    const reply = legalReply(phase, r);
    this.txState.lastReply = reply;
    this.txState.lastRefusal = reason;
    this.txState.lastAction = action ?? (reply.code >= 500 ? 'reject' : 'soft_reject');
    this.deps.recorder.refused(phase, reason);
    (this.tx?.log ?? this.log).info({ event: 'refused', phase, reason, reply: formatReply(reply) }, 'command refused');
    return { ok: false, reply };
  }

  /** A transaction that ended without DATA (refused RCPTs, RSET, a new MAIL) still gets its line. */
  private finishAbandoned(): void {
    const tx = this.tx;
    if (!tx || this.inData) return;
    const r = this.txState.lastReply;
    this.summarize(tx, {
      action: r ? this.txState.lastAction : 'abandoned',
      reply: r ? formatReply(r) : '',
      size: 0,
      ...(r ? { refusal: this.txState.lastRefusal } : {}),
    });
    this.tx = null;
  }

  private summarize(tx: TransactionContext, s: Omit<TransactionSummary, 'tx' | 'client' | 'helo' | 'from' | 'rcpts' | 'durationMs'> & Partial<TransactionSummary>): void {
    this.deps.recorder.transaction(
      {
        tx: tx.id,
        client: tx.client,
        helo: tx.client.helo,
        from: tx.envelope.from,
        rcpts: [...tx.envelope.rcpts],
        ...(this.txState.refusedRcpts.length ? { refusedRcpts: [...this.txState.refusedRcpts] } : {}),
        durationMs: Math.round((performance.now() - this.txState.started) * 100) / 100,
        ...s,
      },
      tx,
    );
  }
}

/** What a door is given to open one Session per connection (see OpenSession). */
export function sessionOpener(deps: SessionDeps): OpenSession {
  return (options) => new Session(deps, options);
}
