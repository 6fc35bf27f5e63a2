import type net from 'node:net';

/**
 * PROXY protocol v1 (text) and v2 (binary), read in front of smtp-server because its
 * built-in support only knows v1 and closes the connection on a v2 header.
 */
export interface ProxiedAddress {
  remoteAddress: string;
  remotePort: number;
}

export class ProxyHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_MAX = 107;

type ParseResult = { done: false } | { done: true; address: ProxiedAddress | null; consumed: number };

/**
 * Parse a header at the start of `buf`. `address` is null for v2 LOCAL and v1 UNKNOWN
 * (health checks from the balancer itself): the socket's own address is used then.
 */
export function parseProxyHeader(buf: Buffer): ParseResult {
  if (buf.length >= 1 && buf[0] === 0x0d) return parseV2(buf);
  if (buf.length >= 1 && buf[0] === 0x50) return parseV1(buf);
  throw new ProxyHeaderError('not a PROXY protocol header');
}

function parseV1(buf: Buffer): ParseResult {
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= V1_MAX) throw new ProxyHeaderError('PROXY v1 header too long');
    if (!'PROXY '.startsWith(buf.subarray(0, 6).toString('latin1').slice(0, Math.min(6, buf.length)))) throw new ProxyHeaderError('not a PROXY protocol header');
    return { done: false };
  }
  const line = buf.subarray(0, end).toString('latin1');
  const parts = line.split(' ');
  if (parts[0] !== 'PROXY') throw new ProxyHeaderError('not a PROXY protocol header');
  if (parts[1] === 'UNKNOWN') return { done: true, address: null, consumed: end + 2 };
  if ((parts[1] !== 'TCP4' && parts[1] !== 'TCP6') || parts.length !== 6) throw new ProxyHeaderError(`malformed PROXY v1 header: ${line.slice(0, 80)}`);
  const port = Number(parts[4]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ProxyHeaderError('bad source port in PROXY header');
  return { done: true, address: { remoteAddress: parts[2] ?? '', remotePort: port }, consumed: end + 2 };
}

function parseV2(buf: Buffer): ParseResult {
  if (buf.length < 16) {
    if (!V2_SIGNATURE.subarray(0, Math.min(buf.length, 12)).equals(buf.subarray(0, Math.min(buf.length, 12)))) {
      throw new ProxyHeaderError('not a PROXY protocol header');
    }
    return { done: false };
  }
  if (!buf.subarray(0, 12).equals(V2_SIGNATURE)) throw new ProxyHeaderError('bad PROXY v2 signature');
  const verCmd = buf[12] ?? 0;
  if (verCmd >> 4 !== 2) throw new ProxyHeaderError('unsupported PROXY protocol version');
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return { done: false };
  const consumed = 16 + len;
  const command = verCmd & 0x0f;
  if (command === 0) return { done: true, address: null, consumed }; // LOCAL
  if (command !== 1) throw new ProxyHeaderError('unsupported PROXY v2 command');
  const family = buf[13] ?? 0;
  const body = buf.subarray(16, consumed);
  if (family === 0x11 && len >= 12) {
    const ip = [...body.subarray(0, 4)].join('.');
    return { done: true, address: { remoteAddress: ip, remotePort: body.readUInt16BE(8) }, consumed };
  }
  if (family === 0x21 && len >= 36) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { done: true, address: { remoteAddress: groups.join(':'), remotePort: body.readUInt16BE(32) }, consumed };
  }
  // UNSPEC or a family we do not relay (UNIX sockets): use the socket's own address.
  return { done: true, address: null, consumed };
}

/** Read the header off the socket; anything after it is pushed back for smtp-server. */
export function readProxyHeader(socket: net.Socket, timeoutMs: number): Promise<ProxiedAddress | null> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err: Error | null, value?: ProxiedAddress | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let result: ParseResult;
      try {
        result = parseProxyHeader(buf);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (!result.done) {
        if (buf.length > 16 + 65535) finish(new ProxyHeaderError('PROXY header too long'));
        return;
      }
      socket.pause();
      const rest = buf.subarray(result.consumed);
      if (rest.length > 0) socket.unshift(rest);
      finish(null, result.address);
    };
    const onError = (err: Error) => finish(err);
    const onClose = () => finish(new ProxyHeaderError('connection closed before the PROXY header'));
    const timer = setTimeout(() => finish(new ProxyHeaderError('no PROXY header in time')), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
