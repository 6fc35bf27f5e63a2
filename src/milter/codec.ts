import { Cmd, Reply } from './protocol.js';
import type { SmtpReply } from '../decision/replies.js';

/**
 * Bytes ⇄ milter packets (see protocol.ts for the wire format). The reader is written for
 * a hostile peer: a length over the bound is refused before any of its data is buffered,
 * and a packet that arrives a byte at a time is gathered in a chunk list, not re-copied
 * per byte.
 */

export class MilterProtocolError extends Error {}

export interface Packet {
  command: number;
  data: Buffer;
}

export class PacketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the packet being read, once its 4-byte prefix is in. */
  private need = -1;

  /** maxPacket: the largest length (command byte + data) accepted. */
  constructor(private readonly maxPacket: number) {}

  /** Bytes held for a packet not yet complete. */
  get pending(): number {
    return this.buffered;
  }

  /** Feed bytes from the socket; returns the packets they completed. Throws on a bad length. */
  push(chunk: Buffer): Packet[] {
    const out: Packet[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const len = this.take(4).readUInt32BE(0);
        if (len < 1) throw new MilterProtocolError('packet length 0: a packet carries at least its command byte');
        if (len > this.maxPacket) throw new MilterProtocolError(`packet length ${len} exceeds the limit of ${this.maxPacket} bytes`);
        this.need = len;
      }
      if (this.buffered < this.need) break;
      const body = this.take(this.need);
      this.need = -1;
      out.push({ command: body[0] as number, data: body.subarray(1) });
    }
    return out;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let result: Buffer;
    if (first.length >= n) {
      result = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      result = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0] as Buffer;
        const use = Math.min(c.length, n - filled);
        c.copy(result, filled, 0, use);
        filled += use;
        if (use === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(use);
      }
    }
    this.buffered -= n;
    return result;
  }
}

/** One MTA command, decoded. Strings are latin1 (byte for byte) except where noted. */
export type MilterCommand =
  | { kind: 'optneg'; version: number; actions: number; steps: number }
  | { kind: 'macro'; event: number; macros: Map<string, string> }
  | { kind: 'connect'; hostname: string; family: 'inet4' | 'inet6' | 'unix' | 'unknown'; port: number; address: string }
  | { kind: 'helo'; name: string }
  /** args[0] is the address in angle brackets, the rest ESMTP parameters; UTF-8. */
  | { kind: 'mail'; args: string[] }
  | { kind: 'rcpt'; args: string[] }
  | { kind: 'data' }
  | { kind: 'header'; name: string; value: Buffer }
  | { kind: 'eoh' }
  | { kind: 'body'; chunk: Buffer }
  | { kind: 'eob' }
  | { kind: 'abort' }
  | { kind: 'quit' }
  | { kind: 'quit_nc' }
  | { kind: 'unknown'; line: string };

/** The NUL-terminated strings of a packet's data. A missing final NUL is a protocol error. */
function strings(data: Buffer, what: string): Buffer[] {
  if (data.length === 0) return [];
  if (data[data.length - 1] !== 0) throw new MilterProtocolError(`${what}: string not NUL-terminated`);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = data.indexOf(0, start); i >= 0; i = data.indexOf(0, start)) {
    out.push(data.subarray(start, i));
    start = i + 1;
  }
  return out;
}

function u32(data: Buffer, at: number, what: string): number {
  if (data.length < at + 4) throw new MilterProtocolError(`${what}: packet too short`);
  return data.readUInt32BE(at);
}

export function decodeCommand(p: Packet): MilterCommand {
  const d = p.data;
  switch (p.command) {
    case Cmd.OPTNEG:
      return { kind: 'optneg', version: u32(d, 0, 'OPTNEG'), actions: u32(d, 4, 'OPTNEG'), steps: u32(d, 8, 'OPTNEG') };
    case Cmd.MACRO: {
      if (d.length < 1) throw new MilterProtocolError('MACRO: no event byte');
      const parts = strings(d.subarray(1), 'MACRO');
      const macros = new Map<string, string>();
      for (let i = 0; i + 1 < parts.length; i += 2) macros.set(unbrace((parts[i] as Buffer).toString('latin1')), (parts[i + 1] as Buffer).toString('utf8'));
      return { kind: 'macro', event: d[0] as number, macros };
    }
    case Cmd.CONNECT: {
      // hostname\0, family byte, then (for inet/unix) port (u16) and address\0.
      const nul = d.indexOf(0);
      if (nul < 0 || nul + 1 >= d.length) throw new MilterProtocolError('CONNECT: too short');
      const hostname = d.subarray(0, nul).toString('latin1');
      const fam = String.fromCharCode(d[nul + 1] as number);
      const family = fam === '4' ? 'inet4' : fam === '6' ? 'inet6' : fam === 'L' ? 'unix' : 'unknown';
      if (family === 'unknown') return { kind: 'connect', hostname, family, port: 0, address: '' };
      if (d.length < nul + 4) throw new MilterProtocolError('CONNECT: no port');
      const port = d.readUInt16BE(nul + 2);
      const [address] = strings(d.subarray(nul + 4), 'CONNECT');
      return { kind: 'connect', hostname, family, port, address: (address ?? Buffer.alloc(0)).toString('latin1') };
    }
    case Cmd.HELO:
      return { kind: 'helo', name: (strings(d, 'HELO')[0] ?? Buffer.alloc(0)).toString('latin1') };
    case Cmd.MAIL:
    case Cmd.RCPT: {
      const args = strings(d, p.command === Cmd.MAIL ? 'MAIL' : 'RCPT').map((b) => b.toString('utf8'));
      if (args.length === 0) throw new MilterProtocolError(`${p.command === Cmd.MAIL ? 'MAIL' : 'RCPT'}: no address`);
      return { kind: p.command === Cmd.MAIL ? 'mail' : 'rcpt', args };
    }
    case Cmd.DATA:
      return { kind: 'data' };
    case Cmd.HEADER: {
      const [name, value] = strings(d, 'HEADER');
      if (!name || !value) throw new MilterProtocolError('HEADER: needs a name and a value');
      return { kind: 'header', name: name.toString('latin1'), value };
    }
    case Cmd.EOH:
      return { kind: 'eoh' };
    case Cmd.BODY:
      return { kind: 'body', chunk: d };
    case Cmd.BODYEOB:
      return { kind: 'eob' };
    case Cmd.ABORT:
      return { kind: 'abort' };
    case Cmd.QUIT:
      return { kind: 'quit' };
    case Cmd.QUIT_NC:
      return { kind: 'quit_nc' };
    case Cmd.UNKNOWN:
      return { kind: 'unknown', line: (strings(d, 'UNKNOWN')[0] ?? Buffer.alloc(0)).toString('latin1') };
    default:
      throw new MilterProtocolError(`unknown command byte 0x${p.command.toString(16).padStart(2, '0')}`);
  }
}

/** Sendmail names long macros in braces ({auth_authen}); one name for both spellings. */
function unbrace(name: string): string {
  return name.startsWith('{') && name.endsWith('}') ? name.slice(1, -1) : name;
}

function packet(command: number, ...parts: Buffer[]): Buffer {
  const len = 1 + parts.reduce((n, b) => n + b.length, 0);
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32BE(len, 0);
  head[4] = command;
  return Buffer.concat([head, ...parts]);
}

function cstr(s: string): Buffer {
  // A NUL inside would end the string early on the other side: header text never holds one.
  return Buffer.from(s.replace(/\0/g, '') + '\0', 'latin1');
}

function u32be(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/**
 * Header values on the wire. With SMFIP_HDR_LEADSPC negotiated Postfix writes the value
 * after the colon as given, so it carries its own leading space. Postfix keeps message text
 * with bare LF line ends internally and folds a value at the LFs it contains.
 */
function headerValue(value: string): Buffer {
  return cstr(' ' + value.replace(/\r\n/g, '\n'));
}

export const encode = {
  optneg: (version: number, actions: number, steps: number): Buffer => packet(Reply.OPTNEG, u32be(version), u32be(actions), u32be(steps)),
  continue: (): Buffer => packet(Reply.CONTINUE),
  accept: (): Buffer => packet(Reply.ACCEPT),
  discard: (): Buffer => packet(Reply.DISCARD),
  reject: (): Buffer => packet(Reply.REJECT),
  tempfail: (): Buffer => packet(Reply.TEMPFAIL),
  /**
   * Our own SMTP reply. Postfix takes it only as "4xx 4.x.x text" or "5xx 5.x.x text" (the
   * enhanced code's class must match), treats '%' as Sendmail's format character (so '%%'
   * stands for one), and ends the line itself: CR and LF are dropped from the text.
   */
  replyCode: (r: SmtpReply): Buffer => {
    const text = r.text.replace(/[\r\n]+/g, ' ').replace(/%/g, '%%');
    return packet(Reply.REPLYCODE, Buffer.from(`${r.code} ${r.enhanced} ${text}\0`, 'utf8'));
  },
  addHeader: (name: string, value: string): Buffer => packet(Reply.ADDHEADER, cstr(name), headerValue(value)),
  /** index: the n-th field of that name, from 1; an empty value deletes the field. */
  changeHeader: (index: number, name: string, value: string): Buffer =>
    packet(Reply.CHGHEADER, u32be(index), cstr(name), value === '' ? cstr('') : headerValue(value)),
  /** index: the position among all fields, 0 = before the first (Postfix counts its own Received). */
  insertHeader: (index: number, name: string, value: string): Buffer => packet(Reply.INSHEADER, u32be(index), cstr(name), headerValue(value)),
};
