import dns from 'node:dns';
import fs from 'node:fs';
import { SMTPServer, type SMTPServerSession, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerOptions } from 'smtp-server';
import { Front } from './front.js';
import { addressEncodingProblem, checkRecipient, normalizeSender } from './addresses.js';
import { readMessage, normalizeLineEnds } from './message-reader.js';
import { Replies, SmtpReplyError, formatReply, type SmtpReply } from '../decision/replies.js';
import { spamHeaders } from '../decision/spam-headers.js';
import { isBlocking, type Verdict } from '../decision/verdict.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Pipeline } from '../pipeline/runner.js';
import { Semaphore } from '../pipeline/runner.js';
import { newTransaction } from '../pipeline/transaction.js';
import { evaluateMessage } from '../pipeline/evaluate.js';
import type { ClientInfo, TransactionContext } from '../pipeline/context.js';
import type { RecordedForce, RecordedHit } from '../decision/hits.js';
import type { Relay } from '../relay/relay.js';
import { splitMessage, restampMessage } from '../relay/header-block.js';
import { receivedHeader } from '../relay/received.js';
import type { Store } from '../stores/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { recordVerdict, type TransactionSummary } from '../history/record.js';
import { parseIp, unmapIpv4 } from '../net/ip.js';
import { checksRelay, isFilterMode, recipientVerification } from '../policy/mode.js';
import { afterQueueOutcome, commandHandling } from '../decision/after-queue.js';

export interface SmtpDeps {
  policy: () => CompiledPolicy;
  pipeline: Pipeline;
  relay: Relay;
  store: Store;
  log: Logger;
  metrics: Metrics;
  /** A last word on the verdict that needs shared state (score-band greylisting); `scan` has none. */
  settleVerdict?: (verdict: Verdict, tx: TransactionContext) => Promise<Verdict>;
}

/** What we know about one connection between its transactions. */
interface ConnectionState {
  id: string;
  client: ClientInfo;
  log: Logger;
  hits: RecordedHit[];
  forced: RecordedForce[];
  allowlisted: boolean;
  trusted: boolean;
  /** The connect phase refused this client: every MAIL gets this reply. */
  refused: SmtpReply | null;
  /** The connect phase waits for XFORWARD (filter modes) and runs at the first MAIL. */
  connectPending: boolean;
  /** After the queue with after_queue_reject=discard: recipients accepted but not relayed. */
  droppedRcpts: string[];
  /** The transaction in progress (MAIL … end of DATA). */
  tx: TransactionContext | null;
  txStarted: number;
  /** The last refusal in the current transaction, for its summary line. */
  lastReply: SmtpReply | null;
  /** Its reason key (the rejections metric's label), for the summary and `stats`. */
  lastRefusal: string;
  inData: boolean;
  abort: AbortController;
}

/** Why the checks of a connection are told to stop: the client went away. */
const CLIENT_GONE = new Error('the client closed the connection');

/**
 * Maps smtp-server's session hooks onto the pipeline phases and the relay. The only
 * module that imports smtp-server.
 *
 * smtp-server has no HELO hook, so the helo phase runs at MAIL, before the mail phase;
 * like Postfix's default smtpd_delay_reject, a bad HELO is refused at MAIL time.
 */
export class SmtpFront {
  private readonly smtp: SMTPServer;
  readonly front: Front;
  private readonly connections = new Map<string, ConnectionState>();
  private readonly scans: Semaphore;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly deps: SmtpDeps) {
    const p = deps.policy();
    this.scans = new Semaphore(p.policy.limits.max_concurrent_scans);
    this.smtp = new SMTPServer(this.serverOptions(p));
    this.front = new Front(this.smtp, deps.policy, deps.log, deps.metrics);
  }

  private serverOptions(p: CompiledPolicy): SMTPServerOptions {
    const pol = p.policy;
    const tls = loadTls(p, this.deps.log);
    const reverseTimeout = 2000;
    const resolver = new dns.Resolver({ timeout: reverseTimeout, tries: 1 });
    return {
      name: pol.hostname,
      banner: pol.smtp.banner,
      size: pol.limits.max_message_size,
      authOptional: true,
      disabledCommands: ['AUTH'],
      hideSTARTTLS: !tls,
      ...(tls ?? {}),
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      // An MX sees many commands per session from clients that never authenticate.
      maxAllowedUnauthenticatedCommands: false,
      // On when any host may send it; which hosts may is decided per connection (CIDRs) in Front.
      useXForward: pol.smtp.xforward_hosts.length > 0,
      socketTimeout: pol.limits.idle_timeout * 1000,
      closeTimeout: pol.limits.shutdown_grace * 1000,
      logger: false,
      resolver: {
        // Loopback and private peers have no useful PTR; everything else gets a bounded lookup.
        reverse: (ip, cb) => {
          if (isLocalAddress(ip)) return cb(null, []);
          resolver.reverse(unmapIpv4(ip), (err, names) => cb(err ?? null, names ?? []));
        },
      },
      onConnect: (session, cb) => void this.onConnect(session).then(() => cb(), (err: Error) => cb(err)),
      onMailFrom: (address, session, cb) => void this.onMailFrom(address, session).then(() => cb(), (err: Error) => cb(err)),
      onRcptTo: (address, session, cb) => void this.onRcptTo(address, session).then(() => cb(), (err: Error) => cb(err)),
      onData: (stream, session, cb) =>
        void this.onData(stream, session).then(
          (text) => cb(null, text),
          (err: Error) => cb(err),
        ),
      onClose: (session) => this.onClose(session),
    };
  }

  /** A reload may change XFORWARD trust and the scan cap; the rest is read per transaction. */
  applyPolicy(p: CompiledPolicy): void {
    const pol = p.policy;
    this.smtp.options.useXForward = pol.smtp.xforward_hosts.length > 0;
    this.smtp.options.socketTimeout = pol.limits.idle_timeout * 1000;
    this.scans.setLimit(pol.limits.max_concurrent_scans);
  }

  private clientOf(session: SMTPServerSession, state?: ConnectionState): ClientInfo {
    const xf = session.xForward;
    // XFORWARD attributes (from Postfix in the filter modes) describe this transaction's
    // client; BorderConnection clears them between transactions. smtp-server keys them by
    // upper-case name, "[UNAVAILABLE]" is false, and ADDR:DEFAULT is the real peer.
    if (xf && [...xf.keys()].some((k) => k !== 'ADDR:DEFAULT')) {
      const attr = (k: string): string => {
        const v = xf.get(k);
        return typeof v === 'string' ? v : '';
      };
      // Mail Postfix picked up locally (sendmail) comes with SOURCE=LOCAL and no ADDR: its
      // client is Postfix's own host, the peer.
      const addr = attr('ADDR').replace(/^ipv6:/i, '');
      const name = attr('NAME');
      return {
        ip: unmapIpv4(addr || attr('ADDR:DEFAULT') || session.remoteAddress),
        port: addr ? Number(xf.get('PORT')) || 0 : 0,
        // Postfix's name for a client without reverse DNS is "unknown".
        rdns: name.toLowerCase() === 'unknown' ? '' : name,
        helo: attr('HELO'),
        tls: !!session.secure,
        proto: attr('PROTO').toUpperCase() === 'SMTP' ? 'SMTP' : 'ESMTP',
        source: addr ? 'xforward' : 'socket',
      };
    }
    const rdnsRaw = session.clientHostname;
    const rdns = typeof rdnsRaw === 'string' && !rdnsRaw.startsWith('[') ? rdnsRaw : '';
    return {
      ip: unmapIpv4(session.remoteAddress),
      port: session.remotePort,
      rdns,
      helo: session.hostNameAppearsAs || '',
      tls: !!session.secure,
      proto: session.transmissionType?.startsWith('ESMTP') ? 'ESMTP' : 'SMTP',
      source: state?.client.source ?? 'socket',
    };
  }

  private async onConnect(session: SMTPServerSession): Promise<void> {
    const policy = this.deps.policy();
    const state = this.state(session);
    state.log.info({ event: 'connect', ip: state.client.ip, port: state.client.port, rdns: state.client.rdns }, 'client connected');
    // A peer allowed to send XFORWARD (Postfix, in the filter modes) names the real client
    // only later, before MAIL: the connect phase waits for it there.
    if (policy.xforwardHosts.has(state.client.ip)) {
      state.connectPending = true;
      return;
    }
    await this.runConnectPhase(state, policy);
  }

  /** Connect-phase checks (deny/allow IPs, connection rates); a refusal ends the session. */
  private async runConnectPhase(state: ConnectionState, policy: CompiledPolicy): Promise<void> {
    state.connectPending = false;
    const ctx = this.contextFor(state, policy, state.id);
    const force = await this.deps.pipeline.run('connect', ctx);
    state.hits = ctx.hits;
    state.forced = ctx.forced;
    state.allowlisted = ctx.allowlisted;
    if (force && this.carried(force, ctx, policy)) return;
    if (force) {
      this.deps.metrics.rejections.inc({ phase: 'connect', reason: force.check });
      state.log.info({ event: 'refused', phase: 'connect', check: force.check, reason: force.reason, reply: formatReply(force.reply) }, 'connection refused');
      state.refused = force.reply;
      throw new SmtpReplyError(force.reply);
    }
  }

  /**
   * A context that starts from what the connection already knows (connect-phase hits,
   * allow marks). With an id it is the connection's own (connect phase); without, a new
   * transaction.
   */
  private contextFor(state: ConnectionState, policy: CompiledPolicy, id?: string): TransactionContext {
    return newTransaction({
      ...(id ? { id } : {}),
      connectionId: state.id,
      client: state.client,
      policy,
      store: this.deps.store,
      log: state.log,
      inherited: { hits: state.hits, forced: state.forced, allowlisted: state.allowlisted, trusted: state.trusted },
      signal: state.abort.signal,
    });
  }

  /** The connection's state, created on first use (onConnect, or MAIL when smtp-server skipped onConnect). */
  private state(session: SMTPServerSession): ConnectionState {
    const existing = this.connections.get(session.id);
    if (existing) return existing;
    const client = this.clientOf(session);
    const state: ConnectionState = {
      id: session.id,
      client,
      log: this.deps.log.child({ conn: session.id }),
      hits: [],
      forced: [],
      allowlisted: false,
      trusted: this.deps.policy().trustedNetworks.has(client.ip),
      refused: null,
      connectPending: false,
      droppedRcpts: [],
      tx: null,
      txStarted: 0,
      lastReply: null,
      lastRefusal: '',
      inData: false,
      abort: new AbortController(),
    };
    this.connections.set(session.id, state);
    this.deps.metrics.activeConnections.inc();
    return state;
  }

  private refuse(state: ConnectionState, phase: string, r: SmtpReply, reason: string): never {
    state.lastReply = r;
    state.lastRefusal = reason;
    this.deps.metrics.rejections.inc({ phase, reason });
    (state.tx?.log ?? state.log).info({ event: 'refused', phase, reason, reply: formatReply(r) }, 'command refused');
    throw new SmtpReplyError(r);
  }

  private async onMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const state = this.state(session);
    this.finishAbandoned(state);
    const policy = this.deps.policy();
    // XFORWARD (content-filter mode) arrives after the connection opened: refresh who it is.
    state.client = this.clientOf(session, state);
    if (state.client.source === 'xforward') state.trusted = policy.trustedNetworks.has(state.client.ip);
    if (isFilterMode(policy.policy)) {
      // Postfix reuses its connection to us for mail from other clients, naming each with
      // XFORWARD: the connect phase belongs to the transaction, not to the connection.
      state.connectPending = true;
      state.hits = [];
      state.forced = [];
      state.allowlisted = false;
      state.refused = null;
      state.trusted = policy.trustedNetworks.has(state.client.ip);
    }
    if (state.connectPending) await this.runConnectPhase(state, policy);
    const tx = this.contextFor(state, policy);
    tx.envelope.from = normalizeSender(address.address);
    state.tx = tx;
    state.txStarted = performance.now();
    state.lastReply = null;
    state.lastRefusal = '';
    state.droppedRcpts = [];
    if (state.refused) this.refuse(state, 'connect', state.refused, 'connect');
    const size = address.args && typeof address.args.SIZE === 'string' ? Number(address.args.SIZE) : 0;
    if (size > policy.policy.limits.max_message_size) this.refuse(state, 'mail', Replies.messageTooBig(policy.policy.limits.max_message_size), 'size');
    const encoding = addressEncodingProblem(address.address, !!address.args && !!address.args.SMTPUTF8);
    if (encoding) this.refuse(state, 'mail', encoding === 'not_utf8' ? Replies.addressNotUtf8() : Replies.addressNeedsSmtputf8(), encoding);
    for (const phase of ['helo', 'mail'] as const) {
      const force = await this.deps.pipeline.run(phase, tx);
      if (force && !this.carried(force, tx, policy)) this.refuse(state, phase, force.reply, force.check);
    }
  }

  private async onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const state = this.state(session);
    const tx = state.tx;
    if (!tx) throw new SmtpReplyError({ code: 503, enhanced: '5.5.1', text: 'Error: need MAIL command' });
    const policy = tx.policy;
    if (session.envelope.rcptTo.length >= policy.policy.limits.max_recipients) this.refuse(state, 'rcpt', Replies.tooManyRecipients(), 'max_recipients');
    let raw = address.address;
    const mailArgs = session.envelope.mailFrom ? session.envelope.mailFrom.args : false;
    const encoding = addressEncodingProblem(raw, !!mailArgs && !!mailArgs.SMTPUTF8);
    if (encoding) this.refuse(state, 'rcpt', encoding === 'not_utf8' ? Replies.addressNotUtf8() : Replies.addressNeedsSmtputf8(), encoding);
    if (raw.toLowerCase() === 'postmaster' && policy.policy.local_domains[0]) raw = `postmaster@${policy.policy.local_domains[0]}`;
    const rcpt = checkRecipient(raw);
    // Only an MX decides relaying. Behind Postfix (filter modes) mail for other domains is
    // local users' outbound mail, and routing forms were Postfix's to accept or refuse.
    const relayCheck = checksRelay(policy.policy);
    let accepted: string;
    if (rcpt.ok) {
      if (relayCheck && !policy.isLocalDomain(rcpt.domain)) this.refuse(state, 'rcpt', Replies.relayDenied(), 'relay');
      accepted = rcpt.address;
    } else if (rcpt.why === 'syntax') this.refuse(state, 'rcpt', Replies.badRecipientSyntax(), 'syntax');
    else if (relayCheck) this.refuse(state, 'rcpt', Replies.relayDenied(), 'relay');
    else accepted = raw;
    tx.currentRcpt = accepted;
    const force = await this.deps.pipeline.run('rcpt', tx);
    if (force) {
      const handling = commandHandling(force, 'rcpt', policy);
      // The refusal answers this recipient only: it must not decide the message to the others
      // (after the queue with add_header it stays, so the message is stamped instead).
      if (handling !== 'carry') tx.forced.splice(tx.forced.indexOf(force), 1);
      if (handling === 'answer') this.refuse(state, 'rcpt', force.reply, force.check);
      tx.log.info({ event: 'after_queue', phase: 'rcpt', check: force.check, handling, rcpt: accepted, reason: force.reason }, 'refusal held back: Postfix already accepted this message');
      if (handling === 'drop_recipient') {
        state.droppedRcpts.push(accepted);
        tx.currentRcpt = null;
        return;
      }
    }
    const verified = await this.verifyRecipient(accepted, policy);
    if (verified) this.refuse(state, 'rcpt', verified, 'unknown_recipient');
    tx.envelope.rcpts.push(accepted);
    tx.currentRcpt = null;
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

  /** Returns a refusal, or null when the recipient exists. */
  private async verifyRecipient(rcpt: string, policy: CompiledPolicy): Promise<SmtpReply | null> {
    switch (recipientVerification(policy.policy)) {
      case 'none':
        return null;
      case 'list': {
        const list = policy.list('valid_recipients');
        return list && list.has(rcpt) ? null : Replies.unknownRecipient(rcpt);
      }
      case 'postfix': {
        const answer = await this.deps.relay.verifyRecipient(rcpt, policy);
        return answer.ok ? null : answer.reply;
      }
    }
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const state = this.state(session);
    const tx = state.tx;
    if (!tx) throw new SmtpReplyError({ code: 503, enhanced: '5.5.1', text: 'Error: need MAIL command' });
    state.inData = true;
    this.inFlight++;
    try {
      return await this.handleData(state, tx, stream, session);
    } finally {
      state.inData = false;
      state.tx = null;
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async handleData(state: ConnectionState, tx: TransactionContext, stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const limits = tx.policy.policy.limits;
    const msg = await readMessage(stream, { maxSize: limits.max_message_size, maxLineLength: limits.max_line_length });
    const summary = (action: string, r: SmtpReply, extra: Partial<TransactionSummary> = {}): void =>
      this.summarize(state, tx, { action, reply: formatReply(r), size: msg.size, ...extra });
    const refuse = (r: SmtpReply, reason: string): never => {
      summary('reject', r, { reason, refusal: reason });
      this.deps.metrics.rejections.inc({ phase: 'data', reason });
      throw new SmtpReplyError(r);
    };
    if (msg.oversized) refuse(Replies.messageTooBig(limits.max_message_size), 'size');
    let raw = msg.raw;
    if (msg.bareNewline) {
      if (tx.policy.policy.smtp.bare_newline === 'reject') refuse(Replies.bareNewline(), 'bare_newline');
      raw = normalizeLineEnds(raw);
    }
    if (msg.longestLine > limits.max_line_length) refuse(Replies.lineTooLong(limits.max_line_length), 'line_length');
    const split = splitMessage(raw);
    if (split.fields.length > limits.max_headers) refuse(Replies.tooManyHeaders(limits.max_headers), 'header_count');
    if (split.headerSize > limits.max_header_size) refuse(Replies.headerTooBig(limits.max_header_size), 'header_size');

    const release = await this.scans.acquire();
    const scanStart = performance.now();
    let verdict: Verdict;
    try {
      verdict = await evaluateMessage(this.deps.pipeline, tx, raw);
    } finally {
      release();
      this.deps.metrics.scanLatency.observe((performance.now() - scanStart) / 1000);
    }
    if (this.deps.settleVerdict) verdict = await this.deps.settleVerdict(verdict, tx);
    // Content-filter mode: Postfix's queue id of this message (XFORWARD IDENT), so one grep
    // finds it before and after us.
    const ident = session.xForward?.get('IDENT');
    const origQueueId = typeof ident === 'string' ? ident : undefined;
    const base: Partial<TransactionSummary> = { score: verdict.score, symbols: verdict.hits, verdict, origQueueId, droppedRcpts: state.droppedRcpts };
    // After the queue a refusal would become a bounce: smtp.after_queue_reject decides instead.
    const afterQueue = afterQueueOutcome(verdict, tx.policy, tx.id);
    const everyRcptDropped = state.droppedRcpts.length > 0 && tx.envelope.rcpts.length === 0;
    if (afterQueue.kind === 'discard' || everyRcptDropped) {
      const r = Replies.discarded(tx.id);
      const reason = afterQueue.kind === 'discard' ? verdict.reason : 'every recipient refused';
      const refusal = afterQueue.kind === 'discard' ? verdict.forcedBy ?? 'score' : 'recipients';
      summary('discard', r, { ...base, reason, refusal, wouldBe: 'reject' });
      this.deps.metrics.rejections.inc({ phase: 'data', reason: refusal });
      return `${r.enhanced} ${r.text}`;
    }
    if (afterQueue.kind === 'deliver') {
      verdict = afterQueue.verdict;
      base.verdict = verdict;
      base.wouldBe = afterQueue.wouldBe;
      base.reason = `after queue: ${verdict.reason}`;
    }
    if (isBlocking(verdict.action) && verdict.reply) {
      const refusal = verdict.forcedBy ?? 'score';
      summary(verdict.action, verdict.reply, { ...base, reason: verdict.reason, refusal });
      this.deps.metrics.rejections.inc({ phase: 'data', reason: refusal });
      throw new SmtpReplyError(verdict.reply);
    }
    const headers = [receivedHeader(tx, session, tx.policy), ...spamHeaders(verdict, tx.policy)];
    const subjectTag = verdict.action === 'rewrite_subject' ? tx.policy.policy.actions.subject_tag : null;
    const outgoing = restampMessage(raw, split, headers, subjectTag);
    const relayStart = performance.now();
    const args = session.envelope.mailFrom && session.envelope.mailFrom.args;
    const result = await this.deps.relay.deliver(
      {
        from: tx.envelope.from,
        rcpts: tx.envelope.rcpts,
        message: outgoing,
        client: tx.client,
        body8bit: !!args && args.BODY === '8BITMIME',
        smtputf8: !!args && !!args.SMTPUTF8,
        ...(origQueueId ? { ident: origQueueId } : {}),
      },
      tx.policy,
    );
    this.deps.metrics.relayLatency.observe((performance.now() - relayStart) / 1000);
    summary(result.accepted ? verdict.action : 'relay_refused', result.reply, { ...base, queueId: result.queueId, relayed: result.accepted });
    if (!result.accepted) throw new SmtpReplyError(result.reply);
    return `${result.reply.enhanced} ${result.reply.text}`;
  }

  /** A transaction that ended without DATA (refused RCPTs, RSET, a new MAIL) still gets its line. */
  private finishAbandoned(state: ConnectionState): void {
    const tx = state.tx;
    if (!tx || state.inData) return;
    const r = state.lastReply;
    this.summarize(state, tx, {
      action: r ? (r.code >= 500 ? 'reject' : 'tempfail') : 'abandoned',
      reply: r ? formatReply(r) : '',
      size: 0,
      ...(r ? { refusal: state.lastRefusal } : {}),
    });
    state.tx = null;
  }

  private summarize(state: ConnectionState, tx: TransactionContext, s: Omit<TransactionSummary, 'tx' | 'client' | 'helo' | 'from' | 'rcpts' | 'durationMs'> & Partial<TransactionSummary>): void {
    const full: TransactionSummary = {
      tx: tx.id,
      client: tx.client,
      helo: tx.client.helo,
      from: tx.envelope.from,
      rcpts: [...tx.envelope.rcpts],
      durationMs: Math.round((performance.now() - state.txStarted) * 100) / 100,
      ...s,
    };
    this.deps.metrics.transactions.inc({ action: full.action });
    recordVerdict(full, tx, this.deps.store, tx.policy);
  }

  private onClose(session: SMTPServerSession): void {
    const state = this.connections.get(session.id);
    if (!state) return;
    this.finishAbandoned(state);
    // A ready-made reason: abort() without one builds a DOMException (and its stack) per connection.
    state.abort.abort(CLIENT_GONE);
    this.connections.delete(session.id);
    this.deps.metrics.activeConnections.dec();
    state.log.info({ event: 'disconnect' }, 'client disconnected');
  }

  /**
   * Graceful stop: no new connections, idle sessions get 421, messages in DATA are
   * finished (relayed and answered) before we return, up to `graceMs`.
   */
  async stop(graceMs: number): Promise<void> {
    await this.front.stopAccepting();
    const deadline = Date.now() + graceMs;
    // Tell smtp-server to answer 421 to any further command.
    this.smtp.close(() => undefined);
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()),
      ]);
    }
    // Let the last replies flush, then close what is left.
    await new Promise((r) => setTimeout(r, 50));
    for (const c of this.smtp.connections) {
      c.send(421, '4.3.2 Service shutting down, try again later');
      c.close();
    }
  }

  get activeTransactions(): number {
    return this.inFlight;
  }
}

function isLocalAddress(ip: string): boolean {
  const a = unmapIpv4(ip);
  return a === '::1' || a.startsWith('127.') || parseIp(a) === null;
}

function loadTls(p: CompiledPolicy, log: Logger): { key: Buffer; cert: Buffer } | null {
  const t = p.policy.tls;
  if (!t.enabled) return null;
  const keyPath = p.resolvePath(t.key);
  const certPath = p.resolvePath(t.cert);
  try {
    return { key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath) };
  } catch (err) {
    log.warn({ event: 'tls_unavailable', key: keyPath, cert: certPath, err: (err as Error).message }, 'STARTTLS disabled: key or certificate not readable (see certs/README.md)');
    return null;
  }
}
