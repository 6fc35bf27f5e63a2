import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import type { Policy } from '../policy/schema.js';
import type { MessageMemory } from '../pipeline/message-memory.js';

const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;

const NON_ASCII = /[^\x00-\x7f]/;
const INSUFFICIENT_STORAGE = '4.3.1 Insufficient system storage, try again later';
/** Budget a DATA needs left to start: less than one read's worth holds no message. */
const DATA_HEADROOM = 64 * 1024;

/** The address between the angle brackets of a MAIL or RCPT command, without a source route. */
function addressAsSent(command: string): string | null {
  const open = command.indexOf('<');
  const close = command.indexOf('>', open + 1);
  if (open < 0 || close < 0) return null;
  const address = command.slice(open + 1, close);
  // "@relay.example,@other.example:user@domain": the route is ignored (RFC 5321 appendix C).
  return address.startsWith('@') ? address.slice(address.indexOf(':') + 1) : address;
}

/** Commands that move no mail forward (Postfix's "junk" commands). */
const JUNK_COMMANDS = new Set(['NOOP', 'RSET', 'VRFY', 'HELP', 'ETRN', 'EXPN']);

/** How patient the server is with one client; the listener sets it from policy before init(). */
export interface ConnectionPacing {
  /** ms the greeting is held back; a client that talks first is refused (an early-talker test). */
  greetDelay: number;
  /** ms one command line may take from its first byte to its line end. */
  lineDeadline: number;
  /** Bytes/s a message must arrive at once DATA has run for lineDeadline; 0 = no check. */
  minDataRate: number;
  /** Junk commands allowed between two MAIL commands. */
  maxJunkCommands: number;
  /** Error replies (4xx, 5xx) one connection may get before 421 and the end of it. */
  maxErrors: number;
}

export function connectionPacing(p: Policy): ConnectionPacing {
  const greet = p.smtp.greet_delay;
  return {
    // Behind Postfix the client is Postfix, which always waits for the greeting.
    greetDelay: greet === 'auto' ? (p.mode === 'mx' ? 100 : 0) : greet,
    lineDeadline: p.limits.idle_timeout * 1000,
    minDataRate: p.limits.min_data_rate,
    maxJunkCommands: p.limits.max_junk_commands,
    maxErrors: p.limits.max_errors,
  };
}

/**
 * smtp-server either hides ENHANCEDSTATUSCODES or prefixes every reply with a code of its
 * own choosing from a fixed table (550 → 5.1.1 even for a relay denial). We advertise the
 * extension and write our own codes: a reply whose text already starts with an enhanced
 * code is sent as is; the library's own replies keep the library's codes.
 */
export class BorderConnection extends SMTPConnection {
  /**
   * smtp-server's useXForward list compares exact addresses; policy gives CIDRs
   * (smtp.xforward_hosts). The listener decides per connection and sets this, so XFORWARD is
   * neither advertised to nor accepted from anyone else.
   */
  xforwardAllowed = false;

  override _proxyCommandAllowed(command: string, option: 'useXClient' | 'useXForward'): boolean {
    if (command === 'XFORWARD' && !this.xforwardAllowed) return false;
    return super._proxyCommandAllowed(command, option);
  }

  /**
   * smtp-server turns an A-label domain (xn--…) into Unicode, so a pure-ASCII address would
   * look like one that needs SMTPUTF8 and be refused, and would be relayed in a form the
   * client never sent. The address is kept as the client wrote it whenever that was ASCII.
   */
  override _parseAddressCommand(name: string, command: Buffer | string): ReturnType<SMTPConnection['_parseAddressCommand']> {
    const parsed = super._parseAddressCommand(name, command);
    if (parsed && NON_ASCII.test(parsed.address)) {
      const sent = addressAsSent(command.toString());
      if (sent !== null && !NON_ASCII.test(sent)) parsed.address = sent;
    }
    return parsed;
  }

  /** A MAIL consumed the XFORWARD attributes sent before it. */
  private xforwardUsed = false;

  /**
   * XFORWARD attributes describe the next transaction only (Postfix reuses its connection
   * to a content filter for mail from different clients, and sends just SOURCE=LOCAL for
   * mail it picked up locally). smtp-server keeps them for the whole connection, so the
   * first XFORWARD after a MAIL starts from an empty set; ADDR:DEFAULT (the real peer,
   * recorded by smtp-server) is kept.
   */
  override handler_XFORWARD(command: Buffer, callback: () => void): void {
    if (this.xforwardUsed) {
      for (const key of [...this._xForward.keys()]) if (key !== 'ADDR:DEFAULT') this._xForward.delete(key);
      this.xforwardUsed = false;
    }
    super.handler_XFORWARD(command, callback);
  }

  override handler_MAIL(command: Buffer, callback: () => void): void {
    // A message announced bigger than the memory left for messages would be refused at its
    // end anyway: say so before it is sent.
    const size = /\sSIZE=(\d{1,15})(?:\s|$)/i.exec(command.toString('latin1'))?.[1];
    if (size !== undefined && this.memory && Number(size) > this.memory.available) {
      this.send(452, INSUFFICIENT_STORAGE);
      return callback();
    }
    this.xforwardUsed = this._xForward.size > 0;
    super.handler_MAIL(command, callback);
  }

  /** The process's budget for message bytes in memory; the front sets it. */
  memory: MessageMemory | null = null;

  override handler_DATA(command: Buffer, callback: () => void): void {
    // With the budget (nearly) spent, a transfer would only be read to be thrown away.
    if (this.memory && this.memory.available < DATA_HEADROOM && this.session.envelope.rcptTo.length > 0) {
      this.send(452, INSUFFICIENT_STORAGE);
      return callback();
    }
    super.handler_DATA(command, callback);
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    // smtp-server's early-talker refusal: tell the listener, which logs and counts it.
    if (code === 421 && !this._ready && typeof data === 'string' && data.endsWith(' You talk too soon')) this.emit('early_talker');
    if (typeof data === 'string' && ENHANCED_PREFIX.test(data)) super.send(code, data, false);
    else super.send(code, data, context);
    // Like Postfix's smtpd_hard_error_limit: a client that keeps getting errors (guessing
    // recipients, a broken script, a probe) is shown the door instead of being answered forever.
    // Recipients past max_recipients (452 4.5.3) are not errors: a mailing client pipelines
    // its whole list and sends the rest in the next transaction (Postfix counts them apart too).
    const overshoot = code === 452 && typeof data === 'string' && data.startsWith('4.5.3');
    if (code >= 400 && code !== 421 && !overshoot && this._ready && ++this.errors >= this.pacing.maxErrors) {
      this.emit('too_many_errors');
      super.send(421, '4.7.0 Error: too many errors, closing connection', false);
    }
  }

  private errors = 0;

  pacing: ConnectionPacing = { greetDelay: 100, lineDeadline: 300_000, minDataRate: 500, maxJunkCommands: 100, maxErrors: 20 };

  /**
   * smtp-server holds every greeting back a hard-coded 100 ms to catch clients that talk
   * first; the wait comes from policy instead (smtp.greet_delay).
   */
  override init(): void {
    this._setListeners(() => {
      setTimeout(() => this.connectionReady(), this.pacing.greetDelay).unref();
    });
  }

  private junkCommands = 0;

  override _onCommand(command: Buffer, callback?: () => void): void {
    const name = command.subarray(0, 5).toString('latin1').trim().toUpperCase();
    if (name === 'MAIL' || name.startsWith('MAIL ')) this.junkCommands = 0;
    else if (JUNK_COMMANDS.has(name) && ++this.junkCommands > this.pacing.maxJunkCommands) {
      this.emit('too_many_junk_commands');
      // The parser is left waiting: the 421 closes the connection.
      return this.send(421, '4.7.0 Error: too many NOOP, RSET or VRFY commands, closing connection');
    }
    super._onCommand(command, callback);
  }

  /**
   * smtp-server's idle timeout restarts with every byte, so a client sending one byte a
   * second would hold a connection (and a transaction) forever. Every parser it creates
   * (a new one after STARTTLS) is watched here as bytes arrive: a command line must be
   * complete within lineDeadline of its first byte, and a message must keep arriving at
   * minDataRate, with no more than lineDeadline of credit in hand at any time.
   */
  override _createParser(): SMTPStream {
    const parser = super._createParser();
    const write = parser.write.bind(parser) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    let lineStarted = 0;
    /** When the rest of the message must have arrived by (0 outside DATA). */
    let dataDeadline = 0;
    let refused = false;
    const replacement = (chunk: Buffer, ...rest: unknown[]): boolean => {
      if (refused) return true;
      if (!this._ready) {
        // Anything before the greeting, even without a line end (a TLS ClientHello on the
        // plaintext port), is an early talker; smtp-server itself only looks at whole lines.
        refused = true;
        this.send(421, `${this.name} You talk too soon`);
        return true;
      }
      const now = performance.now();
      const { lineDeadline, minDataRate } = this.pacing;
      let late = false;
      if (parser._dataMode) {
        lineStarted = 0;
        dataDeadline ||= now + lineDeadline;
        // Postfix's smtpd_min_data_rate: what arrived extends the deadline by the time it
        // takes at the minimum rate, but never past lineDeadline from now. A burst therefore
        // buys no more than one idle_timeout, not minutes of one byte every few seconds.
        late = minDataRate > 0 && now > dataDeadline;
        dataDeadline = Math.min(dataDeadline + (chunk.length / minDataRate) * 1000, now + lineDeadline);
      } else {
        dataDeadline = 0;
        const lf = chunk.lastIndexOf(0x0a);
        if (lf < 0) {
          lineStarted ||= now;
          late = now - lineStarted > lineDeadline;
        } else lineStarted = lf === chunk.length - 1 ? 0 : now;
      }
      if (late) {
        refused = true;
        this.emit('too_slow', parser._dataMode ? 'data' : 'command');
        this.send(421, '4.4.2 Error: timeout exceeded, data arrives too slowly, closing connection');
        return true;
      }
      return write(chunk, ...rest);
    };
    parser.write = replacement as SMTPStream['write'];
    return parser;
  }
}
