import type net from 'node:net';
import { PacketReader, MilterProtocolError, decodeCommand, encode, type MilterCommand } from './codec.js';
import { MessageBuffer, type MemoryBudget } from './message.js';
import { editPackets } from './edits.js';
import { MILTER_VERSION, WANTED_ACTIONS, WANTED_STEPS, Step, BODY_CHUNK } from './protocol.js';
import { Macros, clientFrom, envelopeAddress } from './events.js';
import type { OpenSession, SmtpSession, StepResult } from '../session/types.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Logger } from '../observability/logger.js';

/**
 * One milter connection from Postfix: one SMTP client, any number of transactions.
 * Translates packets into Session steps and the Session's answers into milter replies; it
 * holds no mail rule of its own.
 *
 * CONNECT opens the Session; the Session holds its connect-phase checks until the first
 * MAIL, which brings `{auth_authen}` (a client that logged in to Postfix is judged as our
 * own). HELO is passed on at the next MAIL, where the Session runs the helo phase anyway
 * (like Postfix's smtpd_delay_reject). Packets are handled one at a time; the socket is
 * paused while one waits for the Session, so a peer cannot pile up work.
 */
export class MilterConnection {
  private readonly reader: PacketReader;
  private readonly queue: MilterCommand[] = [];
  private busy = false;
  private closed = false;
  private negotiated = false;
  /** Each HEADER needs our answer unless the MTA agreed to skip it (SMFIP_NR_HDR). */
  private headerReplies = true;
  private readonly macros = new Macros();
  private session: SmtpSession;
  private heloName = '';
  private heloTold: string | null = null;
  private inTransaction = false;
  private message: MessageBuffer | null = null;
  /** The message was already answered (too big, or no memory left): the rest of it is ignored until the next one. */
  private messageAnswered = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly openSession: OpenSession,
    private readonly id: string,
    private readonly policy: () => CompiledPolicy,
    private readonly log: Logger,
    private readonly onDone: () => void,
    /** The process's budget for message bytes in memory, shared with the SMTP door. */
    private readonly memory: MemoryBudget | null = null,
  ) {
    this.session = openSession({ id });
    const limits = policy().policy.limits;
    // A packet holds one body chunk (Postfix sends at most 65535 bytes) or one header field,
    // which may be folded over many lines: it is bounded by the whole header block's limit.
    this.reader = new PacketReader(Math.max(BODY_CHUNK, limits.max_header_size) + 1024);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.finish());
    socket.on('error', (err) => this.log.debug({ event: 'milter_socket_error', err: err.message }, 'milter socket error'));
    this.arm();
  }

  /** Postfix waits for our reply, so silence only counts while the next packet is ours to wait for. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed || this.busy) return;
    const seconds = this.policy().policy.limits.idle_timeout;
    this.timer = setTimeout(() => {
      this.log.info({ event: 'milter_timeout', seconds }, 'milter peer sent no complete packet in time: closing');
      this.close();
    }, seconds * 1000);
    this.timer.unref();
  }

  /** A packet is being answered (the Session is working on it). */
  get working(): boolean {
    return this.busy;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let commands: MilterCommand[];
    try {
      commands = this.reader.push(chunk).map(decodeCommand);
    } catch (err) {
      this.protocolError(err);
      return;
    }
    // Only a complete packet restarts the clock: bytes trickling in one at a time do not.
    if (commands.length === 0) return;
    this.arm();
    this.queue.push(...commands);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.socket.pause();
    try {
      while (!this.closed && this.queue.length > 0) {
        const command = this.queue.shift() as MilterCommand;
        await this.handle(command);
      }
    } catch (err) {
      if (err instanceof MilterProtocolError) this.protocolError(err);
      else {
        this.log.error({ event: 'milter_error', err: (err as Error).message }, 'milter connection failed');
        // Postfix then applies milter_default_action (tempfail in the documented setup).
        this.close();
      }
    } finally {
      this.busy = false;
      if (!this.closed) {
        this.socket.resume();
        this.arm();
      }
    }
  }

  private send(...packets: Buffer[]): void {
    if (!this.closed) this.socket.write(packets.length === 1 ? (packets[0] as Buffer) : Buffer.concat(packets));
  }

  /** A refusal goes to the client through Postfix; Postfix itself decides whether to hang up. */
  private answer(r: StepResult): void {
    this.send(r.ok ? encode.continue() : encode.replyCode(r.reply));
  }

  private async handle(c: MilterCommand): Promise<void> {
    if (!this.negotiated && c.kind !== 'optneg') throw new MilterProtocolError(`${c.kind} before option negotiation`);
    switch (c.kind) {
      case 'optneg': {
        if (c.version < 2) throw new MilterProtocolError(`milter protocol version ${c.version} is too old`);
        // Ask only for what the MTA offers; without NR_HDR every header needs an answer.
        const steps = WANTED_STEPS & c.steps;
        this.headerReplies = (steps & Step.NR_HDR) === 0;
        this.negotiated = true;
        this.send(encode.optneg(Math.min(MILTER_VERSION, c.version), WANTED_ACTIONS & c.actions, steps));
        return;
      }
      case 'macro':
        this.macros.set(c.event, c.macros);
        return;
      case 'connect':
        this.answer(await this.session.connect(clientFrom(c)));
        return;
      case 'helo':
        this.heloName = c.name;
        this.send(encode.continue());
        return;
      case 'mail':
        return this.mail(c.args);
      case 'rcpt':
        this.answer(await this.session.rcpt(envelopeAddress(c.args)));
        return;
      case 'data':
      case 'unknown':
        this.send(encode.continue());
        return;
      case 'header':
        if (!this.message) this.startMessage();
        (this.message as MessageBuffer).header(c.name, c.value);
        if (this.headerReplies) this.send(encode.continue());
        return;
      case 'eoh':
        if (!this.message) this.startMessage();
        (this.message as MessageBuffer).endOfHeaders();
        this.send(encode.continue());
        return;
      case 'body':
        return this.body(c.chunk);
      case 'eob':
        if (this.messageAnswered) {
          // Answered at the chunk that made it too big; Postfix does not usually ask again.
          this.send(encode.continue());
          this.endTransaction(false);
          return;
        }
        return this.endOfMessage();
      case 'abort':
        this.endTransaction(true);
        return;
      case 'quit_nc':
        // Another SMTP connection follows on this socket: a new Session, from CONNECT.
        this.endTransaction(true);
        this.session.close();
        this.session = this.openSession({ id: this.id });
        this.macros.clear();
        this.heloName = '';
        this.heloTold = null;
        return;
      case 'quit':
        this.close();
        return;
    }
  }

  private async mail(args: string[]): Promise<void> {
    if (this.inTransaction) this.endTransaction(true);
    this.inTransaction = true;
    // HELO may come again (after STARTTLS, or between transactions): the Session hears the latest.
    if (this.heloName !== this.heloTold) {
      this.heloTold = this.heloName;
      const r = await this.session.helo(this.heloName, 'ESMTP');
      if (!r.ok) return this.answer(r);
    }
    this.answer(await this.session.mail(envelopeAddress(args), this.macros.mailParams(args)));
  }

  private startMessage(): void {
    const limits = this.policy().policy.limits;
    this.message = new MessageBuffer(limits.max_message_size, limits.max_headers + 1, this.memory);
    this.messageAnswered = false;
  }

  private async body(chunk: Buffer): Promise<void> {
    if (!this.message) this.startMessage();
    const m = this.message as MessageBuffer;
    if (this.messageAnswered) {
      this.send(encode.continue());
      return;
    }
    m.body(chunk);
    if (!m.oversized && !m.overBudget) {
      this.send(encode.continue());
      return;
    }
    // No point reading the rest: the Session refuses it (552 5.3.4, or 452 4.3.1 when the
    // memory budget ran out) and Postfix ends the message with that reply.
    this.messageAnswered = true;
    await this.endOfMessage();
  }

  private async endOfMessage(): Promise<void> {
    if (!this.message) this.startMessage();
    const m = this.message as MessageBuffer;
    const dropped = m.oversized || m.overBudget;
    const result = await this.session.data(dropped ? Buffer.alloc(0) : m.raw(), {
      queueId: this.macros.get('i'),
      ...(dropped ? { measured: { size: m.bytes, oversized: m.oversized, overBudget: m.overBudget, bareNewline: false, longestLine: 0 } } : {}),
    });
    if (!result.accepted) this.send(encode.replyCode(result.reply));
    else if (result.action === 'discard') this.send(encode.discard());
    else this.send(...editPackets(result.headers, m.fields), encode.accept());
    if (!dropped) this.endTransaction(false);
  }

  /** aborted: the transaction ended without an answer to its message (RSET, a new MAIL, QUIT). */
  private endTransaction(aborted: boolean): void {
    if (aborted && this.inTransaction) this.session.reset();
    this.inTransaction = false;
    this.message?.release();
    this.message = null;
    this.messageAnswered = false;
    this.macros.endTransaction();
  }

  private protocolError(err: unknown): void {
    this.log.warn({ event: 'milter_protocol_error', err: (err as Error).message }, 'milter protocol error: closing');
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
    this.message?.release();
    this.message = null;
    this.session.close();
    this.onDone();
  }
}
