import { ClientPool } from './pool.js';
import { DownstreamError, xtext, type DownstreamReply, type SmtpClient, type ClientOptions } from './smtp-client.js';
import { reply, Replies, type SmtpReply } from '../decision/replies.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { ClientInfo } from '../pipeline/context.js';
import { parseIp } from '../net/ip.js';

/** What the relay needs to hand one message to Postfix. */
export interface Delivery {
  from: string;
  rcpts: readonly string[];
  message: Buffer;
  client: ClientInfo;
  /** The client declared 8-bit content or used SMTPUTF8: pass it on. */
  body8bit: boolean;
  smtputf8: boolean;
  /** Postfix's queue id before us (content-filter mode), passed on as XFORWARD IDENT. */
  ident?: string;
}

export interface DeliveryResult {
  /** True only when Postfix answered 2xx to the final ".". */
  accepted: boolean;
  reply: SmtpReply;
  /** Postfix's queue id, parsed from "queued as ID". */
  queueId: string;
  /** Recipients Postfix refused during the relay (their cache entries were dropped). */
  refusedRcpts: string[];
}

export type VerifyAnswer = { ok: true } | { ok: false; reply: SmtpReply };

const QUEUE_ID_RE = /queued as ([A-Za-z0-9]+)/;

/**
 * The only module that talks to Postfix. No queue: deliver() resolves with Postfix's own
 * answer to the final "." (or a 4xx when Postfix could not be reached), and the SMTP front
 * passes that answer to the client. That is what makes "an accepted message is never lost"
 * true: the client hears 250 only after Postfix said 250.
 */
export class Relay {
  private readonly pool: ClientPool;
  private readonly verifyCache = new Map<string, { answer: VerifyAnswer; expires: number }>();

  constructor(policy: CompiledPolicy) {
    const { options, maxIdle, idleMs, maxOpen } = Relay.poolSettings(policy);
    this.pool = new ClientPool(options, maxIdle, idleMs, maxOpen);
  }

  private static poolSettings(policy: CompiledPolicy): { options: ClientOptions; maxIdle: number; idleMs: number; maxOpen: number } {
    const r = policy.policy.relay;
    return {
      options: {
        host: r.host,
        port: r.port,
        connectTimeout: r.connect_timeout * 1000,
        replyTimeout: r.reply_timeout * 1000,
        dataDoneTimeout: r.data_done_timeout * 1000,
        heloName: policy.policy.hostname,
      },
      maxIdle: r.pool_size,
      idleMs: r.pool_idle * 1000,
      maxOpen: r.max_connections,
    };
  }

  applyPolicy(policy: CompiledPolicy): void {
    const { options, maxIdle, idleMs, maxOpen } = Relay.poolSettings(policy);
    this.pool.reconfigure(options, maxIdle, idleMs, maxOpen);
  }

  /** Hand a message to Postfix and return its answer, or 451 4.4.1 when it cannot be reached. */
  async deliver(d: Delivery, policy: CompiledPolicy): Promise<DeliveryResult> {
    let client: SmtpClient;
    try {
      client = await this.pool.acquire();
    } catch (err) {
      return failed(Replies.relayUnavailable(), err);
    }
    try {
      const result = await this.transaction(client, d, policy);
      if (client.isOpen) this.pool.release(client);
      return result;
    } catch (err) {
      // Timeout or dropped connection mid-transaction: the state downstream is unknown,
      // so the connection is thrown away and the client is told to retry.
      this.pool.discard(client);
      if (err instanceof DownstreamError) return failed(Replies.relayUnavailable(), err);
      throw err;
    }
  }

  private async transaction(client: SmtpClient, d: Delivery, policy: CompiledPolicy): Promise<DeliveryResult> {
    const xforward = policy.policy.relay.xforward ? xforwardCommands(client, d.client, d.ident) : [];
    const mailParams = [`SIZE=${d.message.length}`];
    if (d.body8bit && client.supports('8BITMIME')) mailParams.push('BODY=8BITMIME');
    if (d.smtputf8 && client.supports('SMTPUTF8')) mailParams.push('SMTPUTF8');
    const commands = [...xforward, `MAIL FROM:<${d.from}> ${mailParams.join(' ')}`, ...d.rcpts.map((r) => `RCPT TO:<${r}>`)];
    const replies = await client.pipeline(commands);
    const xfReplies = replies.slice(0, xforward.length);
    const mailReply = replies[xforward.length] as DownstreamReply;
    const rcptReplies = replies.slice(xforward.length + 1);

    if (xfReplies.some((r) => r.code !== 250) || mailReply.code !== 250) {
      const bad = xfReplies.find((r) => r.code !== 250) ?? mailReply;
      return { accepted: false, reply: await this.refusal(client, bad), queueId: '', refusedRcpts: [] };
    }
    const refused = d.rcpts.filter((_, i) => (rcptReplies[i]?.code ?? 0) >= 300);
    if (refused.length > 0) {
      for (const r of refused) this.verifyCache.delete(r.toLowerCase());
      await this.reset(client);
      // Every recipient refused: Postfix's own answer goes back. Some refused: the client
      // already heard 250 for them at RCPT, so the only answer that loses nothing is a
      // temporary one; on retry the refused recipients are refused at RCPT time.
      const first = rcptReplies.find((r) => r.code >= 300) as DownstreamReply;
      const answer = refused.length !== d.rcpts.length ? Replies.relayRecipientChanged() : first.code < 600 && first.code >= 400 ? passBack(first) : Replies.relayUnavailable();
      return { accepted: false, reply: answer, queueId: '', refusedRcpts: refused };
    }
    const dataReply = await client.command('DATA');
    if (dataReply.code !== 354) {
      return { accepted: false, reply: await this.refusal(client, dataReply), queueId: '', refusedRcpts: [] };
    }
    const final = await client.sendData(d.message);
    const accepted = final.code >= 200 && final.code < 300;
    // Postfix keeps some transaction state after refusing at end of data (a following
    // XFORWARD gets "503 MAIL transaction in progress"), so a pooled connection is reset.
    const reply = accepted ? passBack(final) : await this.refusal(client, final);
    return {
      accepted,
      reply,
      queueId: QUEUE_ID_RE.exec(final.text)?.[1] ?? '',
      refusedRcpts: [],
    };
  }

  /**
   * What the client hears when Postfix did not take the step: its own 4xx or 5xx, after a
   * reset. Any other reply (a 250 to DATA, a 354 or 1xx to the final ".") breaks the
   * protocol: nobody knows what the downstream holds, so the connection is dropped and the
   * client is told to try again (451 4.4.1), never given a 2xx for a message not taken.
   */
  private async refusal(client: SmtpClient, r: DownstreamReply): Promise<SmtpReply> {
    if (r.code >= 400 && r.code < 600) {
      await this.reset(client);
      return passBack(r);
    }
    client.destroy();
    return Replies.relayUnavailable();
  }

  private async reset(client: SmtpClient): Promise<void> {
    const r = await client.command('RSET');
    if (r.code !== 250) client.destroy();
  }

  /**
   * Ask Postfix whether it would take this recipient (MAIL/RCPT/RSET on a pooled
   * connection), caching the answer. A 4xx or an unreachable Postfix is not cached and
   * becomes a temporary refusal, so mail for a real user is never refused for good.
   */
  async verifyRecipient(rcpt: string, policy: CompiledPolicy): Promise<VerifyAnswer> {
    const key = rcpt.toLowerCase();
    const now = Date.now();
    const cached = this.verifyCache.get(key);
    if (cached && cached.expires > now) return cached.answer;
    let client: SmtpClient;
    try {
      client = await this.pool.acquire();
    } catch {
      return { ok: false, reply: Replies.relayUnavailable() };
    }
    try {
      const [mail, rcptReply] = await client.pipeline(['MAIL FROM:<>', `RCPT TO:<${rcpt}>`]);
      await this.reset(client);
      if (client.isOpen) this.pool.release(client);
      if (!mail || mail.code !== 250 || !rcptReply) return { ok: false, reply: Replies.relayUnavailable() };
      const rv = policy.policy.recipient_verification;
      let answer: VerifyAnswer;
      if (rcptReply.code < 300) answer = { ok: true };
      else answer = { ok: false, reply: passBack(rcptReply) };
      const ttl = answer.ok ? rv.cache_ttl : rcptReply.code >= 500 ? rv.negative_cache_ttl : 0;
      if (ttl > 0) this.cacheAnswer(key, answer, now + ttl * 1000, rv.cache_size);
      return answer;
    } catch {
      this.pool.discard(client);
      return { ok: false, reply: Replies.relayUnavailable() };
    }
  }

  private cacheAnswer(key: string, answer: VerifyAnswer, expires: number, max: number): void {
    // Bounded: a dictionary attack must not grow memory without limit. Oldest first (Map
    // keeps insertion order); a policy reload may have lowered the bound by more than one.
    this.verifyCache.delete(key);
    for (const oldest of this.verifyCache.keys()) {
      if (this.verifyCache.size < max) break;
      this.verifyCache.delete(oldest);
    }
    if (max > 0) this.verifyCache.set(key, { answer, expires });
  }

  /** Recipient answers held now (never more than recipient_verification.cache_size). */
  get cachedRecipients(): number {
    return this.verifyCache.size;
  }

  /** Postfix reachable and greeting us (for /healthz). */
  async probe(): Promise<boolean> {
    try {
      const c = await this.pool.acquire({ pastCap: true });
      this.pool.release(c);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.pool.close();
  }
}

function failed(r: SmtpReply, err: unknown): DeliveryResult {
  void err;
  return { accepted: false, reply: r, queueId: '', refusedRcpts: [] };
}

/** Postfix's answer as ours: same code, its enhanced code (or a generic one of the same class). */
export function passBack(r: DownstreamReply): SmtpReply {
  const cls = Math.floor(r.code / 100);
  const enhanced = r.enhanced || (cls === 2 ? '2.0.0' : cls === 4 ? '4.0.0' : '5.0.0');
  return reply(r.code, enhanced, r.text || 'no text');
}

/**
 * XFORWARD commands for the attributes Postfix offers, each line under Postfix's 512-byte
 * limit. IPv6 addresses carry Postfix's "IPV6:" prefix.
 */
export function xforwardCommands(client: SmtpClient, who: ClientInfo, ident?: string): string[] {
  if (!client.supports('XFORWARD')) return [];
  const offered = new Set((client.capabilities.get('XFORWARD') ?? '').toUpperCase().split(/\s+/));
  const ip = parseIp(who.ip);
  const attrs: Array<[string, string]> = [
    // Postfix's own name for a client without reverse DNS, so its log reads as for a direct client.
    ['NAME', who.rdns || 'unknown'],
    ['ADDR', ip?.family === 6 ? `IPV6:${who.ip}` : who.ip.replace(/^::ffff:/i, '')],
    ['PORT', String(who.port)],
    ['PROTO', who.proto === 'SMTP' ? 'SMTP' : 'ESMTP'],
    ['HELO', who.helo || '[UNAVAILABLE]'],
    // Postfix then logs "orig_queue_id=" beside its new queue id: one grep follows the message.
    ...(ident ? [['IDENT', ident] as [string, string]] : []),
  ];
  const parts = attrs.filter(([k]) => offered.has(k)).map(([k, v]) => `${k}=${xtext(v)}`);
  const lines: string[] = [];
  let line = 'XFORWARD';
  for (const p of parts) {
    if (line.length + 1 + p.length > 500) {
      lines.push(line);
      line = 'XFORWARD';
    }
    line += ' ' + p;
  }
  if (line !== 'XFORWARD') lines.push(line);
  return lines;
}
