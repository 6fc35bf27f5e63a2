import net from 'node:net';
import { PacketReader, type Packet } from '../../src/milter/codec.js';
import { Cmd } from '../../src/milter/protocol.js';

/**
 * The MTA side of the milter protocol, byte by byte, for tests that speak to the milter
 * door the way Postfix does (or the way a hostile peer would).
 */
export class RawMilter {
  private readonly reader = new PacketReader(1 << 20);
  private readonly packets: Packet[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.packets.push(...this.reader.push(chunk));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static connect(port: number, localAddress = '127.0.0.1'): Promise<RawMilter> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress });
      s.once('connect', () => resolve(new RawMilter(s)));
      s.once('error', reject);
    });
  }

  /** A packet as the MTA writes it. */
  static packet(command: number, ...parts: Array<Buffer | string>): Buffer {
    const data = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(data.length + 1, 0);
    head[4] = command;
    return Buffer.concat([head, data]);
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  send(command: number, ...parts: Array<Buffer | string>): void {
    this.write(RawMilter.packet(command, ...parts));
  }

  /** The next reply packet, or null when the connection closed first. */
  async reply(timeoutMs = 10_000): Promise<Packet | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.packets.length === 0) {
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error(`no milter reply after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.packets.shift() as Packet;
  }

  /** Wait until the door closes the connection; returns the ms it took. */
  async closedWithin(timeoutMs: number): Promise<number> {
    const start = Date.now();
    while (!this.closed) {
      if (Date.now() - start > timeoutMs) throw new Error(`connection still open after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return Date.now() - start;
  }

  /** OPTNEG as Postfix 3.x sends it: version 6, every action, every protocol step. */
  async negotiate(): Promise<{ version: number; actions: number; steps: number }> {
    const d = Buffer.alloc(12);
    d.writeUInt32BE(6, 0);
    d.writeUInt32BE(0x1ff, 4);
    d.writeUInt32BE(0x1fffff, 8);
    this.send(Cmd.OPTNEG, d);
    const r = await this.reply();
    if (!r || r.command !== Cmd.OPTNEG) throw new Error('no OPTNEG answer');
    return { version: r.data.readUInt32BE(0), actions: r.data.readUInt32BE(4), steps: r.data.readUInt32BE(8) };
  }

  /** CONNECT for an IPv4 client. */
  connectEvent(hostname: string, ip: string, port = 40000): void {
    const p = Buffer.alloc(2);
    p.writeUInt16BE(port, 0);
    this.send(Cmd.CONNECT, `${hostname}\0`, '4', p, `${ip}\0`);
  }

  macros(event: number, values: Record<string, string>): void {
    this.send(Cmd.MACRO, String.fromCharCode(event), ...Object.entries(values).map(([k, v]) => `${k}\0${v}\0`));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A reply packet as text: its command letter and, for REPLYCODE, the reply without its NUL. */
export function describeReply(p: Packet | null): string {
  if (!p) return 'closed';
  const letter = String.fromCharCode(p.command);
  return p.data.length > 0 ? `${letter} ${p.data.toString('latin1').replace(/\0$/, '')}` : letter;
}
