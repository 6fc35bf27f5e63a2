import net from 'node:net';

/** One SMTP client conversation on loopback: write a command, read the reply code. */
export class Conversation {
  private buffer = '';
  private waiter: (() => void) | null = null;
  private closed = false;

  constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    // A stalled server must not stall the benchmark: the conversation fails instead.
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<Conversation> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => resolve(new Conversation(s)));
      s.once('error', reject);
    });
  }

  async reply(): Promise<number> {
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return Number(m[1]);
      }
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
  }

  async expect(line: string | Buffer | null, code: number): Promise<void> {
    if (line !== null) this.socket.write(line);
    const got = await this.reply();
    if (got !== code) throw new Error(`${typeof line === 'string' ? line.trim() : 'data'}: ${got}`);
  }

  close(): void {
    this.socket.destroy();
  }
}
