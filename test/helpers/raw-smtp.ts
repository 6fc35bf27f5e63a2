import net from 'node:net';

/**
 * A raw-socket SMTP conversation for tests: send exact bytes (bare LF, pipelined commands,
 * broken end-of-data markers) and read replies as the server wrote them.
 */
export class RawSmtp {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      s.once('connect', () => resolve(new RawSmtp(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Read one complete reply (all its lines), or throw after timeoutMs. */
  async reply(timeoutMs = 10_000): Promise<{ code: number; text: string; lines: string[] }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^((?:\d{3}-[^\r\n]*\r\n)*)(\d{3})(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (m) {
        const whole = m[0];
        this.buffer = this.buffer.slice(whole.length);
        const lines = whole.trimEnd().split('\r\n');
        return { code: Number(m[2]), text: lines[lines.length - 1] ?? '', lines };
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.slice(0, 200))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer.slice(0, 200))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
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
