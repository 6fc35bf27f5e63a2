import fs from 'node:fs';
import { SMTPServer, type SMTPServerSession, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerOptions } from 'smtp-server';
import { SmtpListener } from './listener.js';
import { SmtpReplyError } from '../decision/replies.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { Semaphore } from '../pipeline/runner.js';
import type { ClientInfo } from '../pipeline/context.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { unmapIpv4 } from '../net/ip.js';
import { waitAtMost } from '../net/deadline.js';
import { Session } from '../session/session.js';
import { readMessage } from '../session/message-reader.js';
import { MessageMemory } from '../pipeline/message-memory.js';
import type { SessionDeps } from '../session/types.js';

export interface SmtpDeps {
  policy: () => CompiledPolicy;
  log: Logger;
  metrics: Metrics;
  /** What every connection's Session is built from (the scan cap is the door's own). */
  session: Omit<SessionDeps, 'scans' | 'policy' | 'log'>;
}

/**
 * The smtp-server door: bytes in, replies out. Each connection drives one Session (every
 * protocol rule lives there); this adapter reads smtp-server's hooks, the XFORWARD
 * attributes and the DATA stream with its limits, and turns each step's answer into
 * smtp-server's callback. The only module that imports smtp-server.
 */
export class SmtpDoor {
  private readonly smtp: SMTPServer;
  readonly listener: SmtpListener;
  private readonly sessions = new Map<string, Session>();
  private readonly scans: Semaphore;
  /** Message bytes held by all connections (limits.max_message_memory). */
  readonly memory: MessageMemory;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly deps: SmtpDeps) {
    const p = deps.policy();
    this.scans = new Semaphore(p.policy.limits.max_concurrent_scans);
    this.memory = new MessageMemory(p.policy.limits.max_message_memory);
    this.smtp = new SMTPServer(this.serverOptions(p));
    this.listener = new SmtpListener(this.smtp, deps.policy, deps.log, deps.metrics, this.memory);
  }

  private serverOptions(p: CompiledPolicy): SMTPServerOptions {
    const pol = p.policy;
    const tls = loadTls(p, this.deps.log);
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
      // On when any host may send it; which hosts may is decided per connection (CIDRs) in SmtpListener.
      useXForward: pol.smtp.xforward_hosts.length > 0,
      socketTimeout: pol.limits.idle_timeout * 1000,
      closeTimeout: pol.limits.shutdown_grace * 1000,
      logger: false,
      // The Session looks the name up through net/dns.ts (dns.servers, offline).
      disableReverseLookup: true,
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
    this.memory.setLimit(pol.limits.max_message_memory);
  }

  /** This transaction's client when XFORWARD named one, else null (the connection's client stands). */
  private xforwardClient(session: SMTPServerSession): ClientInfo | null {
    const xf = session.xForward;
    // XFORWARD attributes (from Postfix in the filter modes) describe this transaction's
    // client; BorderConnection clears them between transactions. smtp-server keys them by
    // upper-case name, "[UNAVAILABLE]" is false, and ADDR:DEFAULT is the real peer.
    if (!xf || ![...xf.keys()].some((k) => k !== 'ADDR:DEFAULT')) return null;
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

  private session(smtpSession: SMTPServerSession): Session {
    const existing = this.sessions.get(smtpSession.id);
    if (existing) return existing;
    const s = new Session({ ...this.deps.session, policy: this.deps.policy, log: this.deps.log, scans: this.scans }, { id: smtpSession.id });
    this.sessions.set(smtpSession.id, s);
    return s;
  }

  private async onConnect(smtpSession: SMTPServerSession): Promise<void> {
    const r = await this.session(smtpSession).connect({ ip: smtpSession.remoteAddress, port: smtpSession.remotePort, tls: !!smtpSession.secure, source: 'socket' });
    if (!r.ok) throw new SmtpReplyError(r.reply);
  }

  private async onMailFrom(address: SMTPServerAddress, smtpSession: SMTPServerSession): Promise<void> {
    const s = this.session(smtpSession);
    await s.helo(smtpSession.hostNameAppearsAs || '', smtpSession.transmissionType?.startsWith('ESMTP') ? 'ESMTP' : 'SMTP');
    const args = address.args || {};
    const client = this.xforwardClient(smtpSession);
    const r = await s.mail(address.address, {
      size: typeof args.SIZE === 'string' ? Number(args.SIZE) : 0,
      smtputf8: !!args.SMTPUTF8,
      body8bit: args.BODY === '8BITMIME',
      tls: !!smtpSession.secure,
      ...(client ? { client } : {}),
    });
    if (!r.ok) throw new SmtpReplyError(r.reply);
  }

  private async onRcptTo(address: SMTPServerAddress, smtpSession: SMTPServerSession): Promise<void> {
    const r = await this.session(smtpSession).rcpt(address.address);
    if (!r.ok) throw new SmtpReplyError(r.reply);
  }

  private async onData(stream: SMTPServerDataStream, smtpSession: SMTPServerSession): Promise<string> {
    const s = this.session(smtpSession);
    this.inFlight++;
    let reserved = 0;
    try {
      const policy = this.deps.policy();
      const limits = policy.policy.limits;
      const msg = await readMessage(stream, { maxSize: limits.max_message_size, maxLineLength: limits.max_line_length, memory: this.memory });
      reserved = msg.reserved ?? 0;
      // Content-filter mode: Postfix's queue id of this message (XFORWARD IDENT), so one grep
      // finds it before and after us.
      const ident = smtpSession.xForward?.get('IDENT');
      const tls = smtpSession.tlsOptions;
      const result = await s.data(msg.raw, {
        measured: msg,
        ...(typeof ident === 'string' ? { queueId: ident } : {}),
        ...(tls ? { tls: { version: String(tls.version ?? 'TLS'), cipher: String(tls.name ?? '') } } : {}),
      });
      if (!result.accepted) throw new SmtpReplyError(result.reply);
      return `${result.reply.enhanced} ${result.reply.text}`;
    } finally {
      this.memory.release(reserved);
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private onClose(smtpSession: SMTPServerSession): void {
    const s = this.sessions.get(smtpSession.id);
    if (!s) return;
    s.close();
    this.sessions.delete(smtpSession.id);
  }

  /**
   * Graceful stop: no new connections, idle sessions get 421, messages in DATA are
   * finished (relayed and answered) before we return, up to `graceMs`.
   */
  async stop(graceMs: number): Promise<void> {
    await this.listener.stopAccepting();
    const deadline = Date.now() + graceMs;
    // Tell smtp-server to answer 421 to any further command.
    this.smtp.close(() => undefined);
    if (this.inFlight > 0) {
      await waitAtMost(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), Math.max(0, deadline - Date.now()));
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
