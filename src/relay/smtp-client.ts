import net from 'node:net';

/**
 * A small SMTP client for the hop to Postfix.
 *
 * Why not nodemailer's SMTPConnection: its send() runs MAIL, RCPT and DATA in one call and
 * has no XFORWARD. Borderpatrol must send XFORWARD before every transaction on a pooled
 * connection, pass each RCPT through to Postfix and see each answer on its own (recipient
 * verification), and stop between RCPT and DATA when Postfix refuses a recipient. This
 * client does exactly that: plain commands, PIPELINING when offered, and a DATA writer
 * that dot-stuffs a message whose line ends are already CRLF.
 */

export interface DownstreamReply {
  code: number;
  /** Every line of the reply without the code and separator, joined with a space. */
  text: string;
  /** The enhanced status code if the reply carried one ("2.0.0"), else ''. */
  enhanced: string;
}

export class DownstreamError extends Error {
  /** 'connect' | 'timeout' | 'closed' | 'protocol' — all mean: Postfix did not answer usefully. */
  readonly kind: 'connect' | 'timeout' | 'closed' | 'protocol';
  constructor(kind: DownstreamError['kind'], message: string) {
    super(message);
    this.name = 'DownstreamError';
    this.kind = kind;
  }
}

export interface ClientOptions {
  host: string;
  port: number;
  /** ms to connect and read the greeting. */
  connectTimeout: number;
  /** ms for any one reply. */
  replyTimeout: number;
  /**
   * ms for the reply to the final "." (RFC 5321 4.5.3.2.6 gives it 10 minutes, Postfix's
   * smtp_data_done_timeout is 600 s). Giving up early is how a message ends up accepted by
   * Postfix while the client was told to try again, and so delivered twice.
   */
  dataDoneTimeout?: number;
  /** Name we give in EHLO. */
  heloName: string;
}

interface Pending {
  resolve: (r: DownstreamReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const ENHANCED_RE = /^([245]\.\d{1,3}\.\d{1,3})\s+/;

export class SmtpClient {
  readonly capabilities = new Map<string, string>();
  private socket: net.Socket | null = null;
  private buffer = '';
  private lines: string[] = [];
  private readonly pending: Pending[] = [];
  private closed = false;
  private closeError: Error | null = null;

  constructor(private readonly options: ClientOptions) {}

  get isOpen(): boolean {
    return !this.closed && this.socket !== null && !this.socket.destroyed;
  }

  supports(keyword: string): boolean {
    return this.capabilities.has(keyword.toUpperCase());
  }

  /** Connect, read the greeting and say EHLO. */
  async open(): Promise<void> {
    const { host, port, connectTimeout } = this.options;
    const greeting = await new Promise<DownstreamReply>((resolve, reject) => {
      const socket = net.connect({ host, port });
      this.socket = socket;
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DownstreamError('timeout', `no greeting from ${host}:${port} within ${connectTimeout} ms`));
      }, connectTimeout);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new DownstreamError('connect', `cannot connect to ${host}:${port}: ${err.message}`));
      });
      socket.once('connect', () => {
        // The greeting is read like any reply; the connect timer covers it too.
        this.pending.push({ resolve: (r) => (clearTimeout(timer), resolve(r)), reject: (e) => (clearTimeout(timer), reject(e)), timer });
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('close', () => this.onClose());
      socket.on('error', (err) => this.fail(new DownstreamError('closed', `connection to ${host}:${port} failed: ${err.message}`)));
    });
    if (greeting.code !== 220) {
      this.destroy();
      throw new DownstreamError('protocol', `unexpected greeting: ${greeting.code} ${greeting.text}`);
    }
    const ehlo = await this.command(`EHLO ${this.options.heloName}`, true);
    if (ehlo.code !== 250) {
      this.destroy();
      throw new DownstreamError('protocol', `EHLO refused: ${ehlo.code} ${ehlo.text}`);
    }
  }

  /** Send one command and wait for its reply. */
  command(line: string, captureCapabilities = false): Promise<DownstreamReply> {
    const promise = this.expectReply(captureCapabilities);
    this.write(line + '\r\n');
    return promise;
  }

  /**
   * Send several commands. With PIPELINING they go in one write; without, one at a time.
   * Replies come back in order.
   */
  async pipeline(lines: readonly string[]): Promise<DownstreamReply[]> {
    if (!this.supports('PIPELINING')) {
      const out: DownstreamReply[] = [];
      for (const l of lines) out.push(await this.command(l));
      return out;
    }
    const promises = lines.map(() => this.expectReply(false));
    this.write(lines.map((l) => l + '\r\n').join(''));
    return Promise.all(promises);
  }

  /**
   * Send the message after a 354 and wait for the final reply. The message must use CRLF
   * line ends (the SMTP front guarantees it); lines starting with "." are doubled.
   */
  sendData(message: Buffer): Promise<DownstreamReply> {
    const promise = this.expectReply(false, this.options.dataDoneTimeout);
    const socket = this.requireSocket();
    // Corked, the pieces leave in one writev: one system call and no tiny TCP segment for
    // the final ".", which the socket (no Nagle) would otherwise send on its own.
    socket.cork();
    for (const chunk of dotStuff(message)) socket.write(chunk);
    const endsWithCrlf = message.length >= 2 && message[message.length - 2] === 0x0d && message[message.length - 1] === 0x0a;
    socket.write(endsWithCrlf ? '.\r\n' : '\r\n.\r\n');
    socket.uncork();
    return promise;
  }

  /** Say QUIT and close; errors are ignored (the transaction is already settled). */
  async quit(): Promise<void> {
    if (!this.isOpen) return;
    try {
      await this.command('QUIT');
    } catch {
      /* closing anyway */
    }
    this.destroy();
  }

  destroy(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  /** Called once when the socket is gone (also after a failed connect); may be set before open(). */
  onceClosed(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  private closeListeners: Array<() => void> = [];

  private requireSocket(): net.Socket {
    if (!this.socket || this.closed) throw this.closeError ?? new DownstreamError('closed', 'connection is closed');
    return this.socket;
  }

  private write(text: string): void {
    this.requireSocket().write(text);
  }

  private expectReply(captureCapabilities: boolean, timeoutMs = this.options.replyTimeout): Promise<DownstreamReply> {
    if (this.closed) return Promise.reject(this.closeError ?? new DownstreamError('closed', 'connection is closed'));
    return new Promise<DownstreamReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new DownstreamError('timeout', `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push({
        resolve: (r) => {
          clearTimeout(timer);
          if (captureCapabilities) this.readCapabilities(r);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        timer,
      });
    });
  }

  private lastMultiline: string[] = [];

  private readCapabilities(_reply: DownstreamReply): void {
    this.capabilities.clear();
    for (const line of this.lastMultiline.slice(1)) {
      const [kw = '', ...rest] = line.trim().split(/\s+/);
      this.capabilities.set(kw.toUpperCase(), rest.join(' '));
    }
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString('latin1');
    if (this.buffer.length > 65536) {
      this.fail(new DownstreamError('protocol', 'reply line too long'));
      return;
    }
    let idx: number;
    while ((idx = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, idx).replace(/\r$/, '');
      this.buffer = this.buffer.slice(idx + 1);
      this.lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) this.completeReply();
      else if (!/^\d{3}-/.test(line)) {
        this.fail(new DownstreamError('protocol', `malformed reply line: ${line.slice(0, 80)}`));
        return;
      }
    }
  }

  private completeReply(): void {
    const lines = this.lines;
    this.lines = [];
    const code = Number(lines[lines.length - 1]?.slice(0, 3));
    const texts = lines.map((l) => l.slice(4));
    this.lastMultiline = texts;
    const first = texts[0] ?? '';
    const m = ENHANCED_RE.exec(first);
    const text = texts.map((t) => t.replace(ENHANCED_RE, '')).join(' ');
    const waiter = this.pending.shift();
    if (!waiter) {
      // An unsolicited reply (Postfix's 421 on its own timeout): the connection is done.
      this.fail(new DownstreamError('closed', `unsolicited reply: ${code} ${text}`));
      return;
    }
    waiter.resolve({ code, text, enhanced: m?.[1] ?? '' });
  }

  private onClose(): void {
    this.fail(new DownstreamError('closed', 'connection closed by the relay target'));
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  private fail(err: Error): void {
    if (!this.closeError) this.closeError = err;
    this.closed = true;
    this.socket?.destroy();
    while (this.pending.length > 0) this.pending.shift()?.reject(err);
  }
}

/** Yield the message in pieces with every line that starts with "." doubled. */
export function* dotStuff(message: Buffer): Generator<Buffer> {
  let start = 0;
  if (message[0] === 0x2e) {
    yield Buffer.from('.');
  }
  let pos = message.indexOf('\n.', 0, 'latin1');
  while (pos >= 0) {
    yield message.subarray(start, pos + 1);
    yield Buffer.from('.');
    start = pos + 1;
    pos = message.indexOf('\n.', start, 'latin1');
  }
  yield message.subarray(start);
}

/** xtext (RFC 3461) for XFORWARD values: "+" , "=" and anything outside 33..126 become +HH. */
export function xtext(value: string): string {
  let out = '';
  for (const ch of Buffer.from(value, 'utf8')) {
    if (ch < 33 || ch > 126 || ch === 0x2b || ch === 0x3d) out += '+' + ch.toString(16).toUpperCase().padStart(2, '0');
    else out += String.fromCharCode(ch);
  }
  return out;
}
