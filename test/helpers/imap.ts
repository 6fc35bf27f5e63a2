import type net from 'node:net';
import { SocketText } from './socket-text.js';

/**
 * A raw-socket IMAP client for tests: tagged commands, untagged lines collected until the
 * tagged answer. Enough for LOGIN, SELECT, SEARCH, MOVE and FETCH of headers.
 */
export class RawImap {
  private readonly input: SocketText;
  private tag = 0;

  private constructor(private readonly socket: net.Socket) {
    this.input = new SocketText(socket);
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawImap> {
    const c = new RawImap(await SocketText.connect({ host, port }));
    // The greeting ("* OK ..."): one line.
    await c.input.take((unread) => {
      const end = unread.indexOf('\r\n');
      return end < 0 ? null : { found: undefined, length: end + 2 };
    }, 10_000, 'IMAP');
    return c;
  }

  /** Send one command; resolve with its untagged output once the tagged OK came, or throw on NO/BAD. */
  async command(line: string, timeoutMs = 30_000): Promise<string> {
    const tag = `t${++this.tag}`;
    this.socket.write(`${tag} ${line}\r\n`);
    const done = new RegExp(`(?:^|\\r\\n)${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`);
    const { output, status, last } = await this.input.take(
      (unread) => {
        const m = done.exec(unread);
        return m ? { found: { output: unread.slice(0, m.index), status: m[1], last: m[0].trim() }, length: m.index + m[0].length } : null;
      },
      timeoutMs,
      'IMAP',
    );
    if (status !== 'OK') throw new Error(`IMAP ${line.split(' ')[0]} failed: ${last}`);
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
