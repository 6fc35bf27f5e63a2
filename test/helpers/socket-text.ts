import net from 'node:net';

/**
 * The input half of a text-protocol test client (SMTP, IMAP): what the server sent, held as
 * latin1 (one character per byte, so exact bytes survive) until the protocol's reader finds a
 * whole answer in it. A reader never waits past its timeout, nor on a connection the server
 * closed: either throws with the start of the unread input, which is what a failing test
 * needs to show.
 */
export class SocketText {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    // A reset is seen as the close that follows; the reader reports it.
    socket.on('error', () => undefined);
  }

  /** A connected socket, or the connect error. */
  static connect(options: net.NetConnectOpts): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(options);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Wait until `find` recognises a whole answer at the start of the unread input, remove the
   * `length` characters it says the answer takes, and return what it found. `what` names the
   * protocol in errors.
   */
  async take<T>(find: (unread: string) => { found: T; length: number } | null, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = find(this.buffer);
      if (hit) {
        this.buffer = this.buffer.slice(hit.length);
        return hit.found;
      }
      if (this.closed) throw new Error(`${what} connection closed; unread: ${this.unread()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} answer within ${timeoutMs} ms; unread: ${this.unread()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private unread(): string {
    return JSON.stringify(this.buffer.slice(0, 300));
  }
}
