import net from 'node:net';

/**
 * A raw-socket IMAP client for tests: tagged commands, untagged lines collected until the
 * tagged answer. Enough for LOGIN, SELECT, SEARCH, MOVE and FETCH of headers.
 */
export class RawImap {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private tag = 0;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
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

  static async connect(port: number, host = '127.0.0.1'): Promise<RawImap> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const c = new RawImap(socket);
    await c.until((b) => b.indexOf('\r\n'), 10_000);
    c.buffer = c.buffer.slice(c.buffer.indexOf('\r\n') + 2);
    return c;
  }

  private async until(find: (buffer: string) => number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = find(this.buffer);
      if (at >= 0) return at;
      if (this.closed) throw new Error(`IMAP connection closed; unread: ${JSON.stringify(this.buffer.slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no IMAP answer within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Send one command; resolve with its untagged output once the tagged OK came, or throw on NO/BAD. */
  async command(line: string, timeoutMs = 30_000): Promise<string> {
    const tag = `t${++this.tag}`;
    this.socket.write(`${tag} ${line}\r\n`);
    const done = new RegExp(`(?:^|\\r\\n)${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`);
    await this.until((b) => b.search(done), timeoutMs);
    const m = done.exec(this.buffer) as RegExpExecArray;
    const output = this.buffer.slice(0, m.index);
    this.buffer = this.buffer.slice(m.index + m[0].length);
    if (m[1] !== 'OK') throw new Error(`IMAP ${line.split(' ')[0]} failed: ${m[0].trim()}`);
    return output;
  }

  async login(user: string, password: string): Promise<void> {
    await this.command(`LOGIN "${user}" "${password}"`);
  }

  /** UIDs in the selected mailbox whose header `field` contains `value`. */
  async search(field: string, value: string): Promise<number[]> {
    const out = await this.command(`UID SEARCH HEADER ${field} "${value}"`);
    const m = /\* SEARCH([ 0-9]*)/.exec(out);
    return (m?.[1] ?? '').trim().split(' ').filter(Boolean).map(Number);
  }

  async close(): Promise<void> {
    await this.command('LOGOUT').catch(() => undefined);
    this.socket.destroy();
  }
}
