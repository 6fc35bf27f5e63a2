import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, a free port) answering from a table,
 * for blocklist and SPF/DKIM/DMARC tests. A name missing from the table is NXDOMAIN; a name
 * present without the asked type is NODATA; `drop: true` never answers (a timeout). With an
 * empty table every name is NXDOMAIN at once (what the benchmark points servers at).
 */

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  /** Each string is one TXT record; long ones are split into 255-byte strings. */
  TXT?: string[];
  MX?: Array<{ exchange: string; priority: number }>;
  PTR?: string[];
  CNAME?: string[];
  drop?: boolean;
}

export type DnsTable = Record<string, DnsRecords>;

const TYPES: Record<number, keyof Omit<DnsRecords, 'drop'>> = { 1: 'A', 5: 'CNAME', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA' };
const CODES: Record<string, number> = { A: 1, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28 };

export interface DnsQuery {
  name: string;
  type: string;
}

export class TestDnsServer {
  readonly queries: DnsQuery[] = [];
  private readonly table = new Map<string, DnsRecords>();

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
    table: DnsTable,
    private readonly record: boolean,
  ) {
    for (const [name, records] of Object.entries(table)) this.set(name, records);
    socket.on('message', (msg, rinfo) => this.answer(msg, rinfo));
  }

  /** `record: false` keeps no list of queries (a long load run would grow it without end). */
  static async start(table: DnsTable = {}, options: { record?: boolean } = {}): Promise<TestDnsServer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new TestDnsServer(socket, socket.address().port, table, options.record ?? true);
  }

  /** What to put in `dns.servers`. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(name: string, records: DnsRecords): void {
    this.table.set(normalize(name), records);
  }

  /** How many queries asked for this name (any type). */
  count(name: string): number {
    const n = normalize(name);
    return this.queries.filter((q) => q.name === n).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 17) return;
    let p = 12;
    const labels: string[] = [];
    // Bounded: a name has at most 127 labels.
    for (let i = 0; i < 128 && p < msg.length; i++) {
      const len = msg[p] ?? 0;
      if (len === 0 || len > 63) break;
      labels.push(msg.toString('latin1', p + 1, p + 1 + len));
      p += 1 + len;
    }
    const questionEnd = p + 5;
    if (questionEnd > msg.length) return;
    const qtype = msg.readUInt16BE(p + 1);
    const name = normalize(labels.join('.'));
    const typeName = TYPES[qtype] ?? String(qtype);
    if (this.record) this.queries.push({ name, type: typeName });
    const records = this.table.get(name);
    if (records?.drop) return;
    const answers = records && TYPES[qtype] ? encodeAnswers(typeName, records[TYPES[qtype]] as unknown[] | undefined) : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    const rd = (msg[2] ?? 0) & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD copied
    header[3] = 0x80 | (records ? 0 : 3); // RA; NXDOMAIN when the name is unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const reply = Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]);
    this.socket.send(reply, rinfo.port, rinfo.address);
  }
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function encodeName(name: string): Buffer {
  const parts = normalize(name)
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function encodeAnswers(type: string, values: unknown[] | undefined): Buffer[] {
  return (values ?? []).map((v) => {
    let rdata: Buffer;
    if (type === 'A') rdata = Buffer.from(String(v).split('.').map(Number));
    else if (type === 'AAAA') rdata = ipv6Bytes(String(v));
    else if (type === 'TXT') {
      const bytes = Buffer.from(String(v), 'utf8');
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length || i === 0; i += 255) {
        const c = bytes.subarray(i, i + 255);
        chunks.push(Buffer.from([c.length]), c);
      }
      rdata = Buffer.concat(chunks);
    } else if (type === 'MX') {
      const mx = v as { exchange: string; priority: number };
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(mx.priority);
      rdata = Buffer.concat([pref, encodeName(mx.exchange)]);
    } else rdata = encodeName(String(v));
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(CODES[type] ?? 0, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
}

function ipv6Bytes(ip: string): Buffer {
  if (net.isIPv6(ip) === false) throw new Error(`not an IPv6 address: ${ip}`);
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
