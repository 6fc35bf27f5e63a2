import type net from 'node:net';
import { SocketText } from './socket-text.js';

/** One whole reply at the start of the input: continuation lines ("250-"), then the last ("250 "). */
const REPLY = /^((?:\d{3}-[^\r\n]*\r\n)*)(\d{3})(?: [^\r\n]*)?\r\n/;

/**
 * A raw-socket SMTP conversation for tests: send exact bytes (bare LF, pipelined commands,
 * broken end-of-data markers) and read replies as the server wrote them.
 */
export class RawSmtp {
  private readonly input: SocketText;

  private constructor(readonly socket: net.Socket) {
    this.input = new SocketText(socket);
  }

  /** The server closed the connection (or it broke). */
  get closed(): boolean {
    return this.input.closed;
  }

  static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawSmtp> {
    return new RawSmtp(await SocketText.connect({ host, port, ...(localAddress ? { localAddress } : {}) }));
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Read one complete reply (all its lines), or throw after timeoutMs. */
  reply(timeoutMs = 10_000): Promise<{ code: number; text: string; lines: string[] }> {
    return this.input.take(
      (unread) => {
        const m = REPLY.exec(unread);
        if (!m) return null;
        const lines = m[0].trimEnd().split('\r\n');
        return { found: { code: Number(m[2]), text: lines[lines.length - 1] ?? '', lines }, length: m[0].length };
      },
      timeoutMs,
      'SMTP',
    );
  }

  /** Send a command line and read its reply. */
  async command(line: string, timeoutMs?: number): Promise<{ code: number; text: string; lines: string[] }> {
    this.write(line + '\r\n');
    return this.reply(timeoutMs);
  }

  /** Greeting + EHLO. */
  async hello(name = 'client.test'): Promise<string[]> {
    const greeting = await this.reply();
    if (greeting.code !== 220) throw new Error(`greeting: ${greeting.text}`);
    return (await this.command(`EHLO ${name}`)).lines;
  }

  /** Resolves when the server closed the connection (or after timeoutMs). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  /**
   * One whole transaction on a new connection: EHLO, MAIL, RCPT, DATA, the message (dot-
   * stuffed) and its end; returns the reply to the final dot. Throws if MAIL, RCPT or DATA
   * is refused.
   */
  static async sendMessage(port: number, m: { from: string; to: string; data: string | Buffer; helo?: string }, timeoutMs = 30_000): Promise<{ code: number; text: string }> {
    const c = await RawSmtp.connect(port);
    try {
      await c.hello(m.helo ?? 'mail.client.test');
      for (const [line, want] of [[`MAIL FROM:<${m.from}>`, 250], [`RCPT TO:<${m.to}>`, 250], ['DATA', 354]] as const) {
        const r = await c.command(line);
        if (r.code !== want) throw new Error(`${line}: ${r.text}`);
      }
      const text = (Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data)).toString('latin1');
      c.write(Buffer.from(text.replace(/^\./gm, '..'), 'latin1'));
      c.write('\r\n.\r\n');
      return await c.reply(timeoutMs);
    } finally {
      c.close();
    }
  }
}
