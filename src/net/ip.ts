import net from 'node:net';

/**
 * IP arithmetic on BigInt so IPv4 and IPv6 share one code path. IPv4-mapped IPv6
 * addresses (::ffff:192.0.2.1, as Node reports IPv4 clients on a dual-stack socket)
 * are treated as the IPv4 address they carry.
 */

export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

export function unmapIpv4(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1] ?? ip;
}

export function parseIp(input: string): ParsedIp | null {
  const ip = unmapIpv4(input.trim());
  const family = net.isIP(ip);
  if (family === 4) {
    // In a number first (32 bits fit), one BigInt at the end: this runs for every CIDR
    // lookup of every connection and message.
    let v = 0;
    for (const p of ip.split('.')) v = v * 256 + Number(p);
    return { family: 4, value: BigInt(v) };
  }
  if (family === 6) return { family: 6, value: ipv6ToBigInt(ip) };
  return null;
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip;
  // An embedded dotted quad (::ffff:1.2.3.4 or 64:ff9b::1.2.3.4) becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = text.slice(0, -dotted[1].length) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g || '0', 16));
  return v;
}

export interface Cidr {
  family: 4 | 6;
  network: bigint;
  bits: number;
}

export function parseCidr(input: string): Cidr | null {
  const [addr = '', bitsText] = input.trim().split('/');
  const ip = parseIp(addr);
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  return { family: ip.family, network: maskValue(ip.value, bits, max), bits };
}

function maskValue(value: bigint, bits: number, max: number): bigint {
  const hostBits = BigInt(max - bits);
  return (value >> hostBits) << hostBits;
}

export function cidrContains(c: Cidr, ip: ParsedIp): boolean {
  if (c.family !== ip.family) return false;
  const max = ip.family === 4 ? 32 : 128;
  return maskValue(ip.value, c.bits, max) === c.network;
}

/** A set of networks; lookups are linear per prefix length, which stays fast for admin-sized lists. */
export class CidrSet {
  private readonly byPrefix = new Map<string, Set<bigint>>();
  /** The same sets with their family and prefix length read out once, for has(). */
  private prefixes: Array<{ family: 4 | 6; bits: number; max: number; networks: Set<bigint> }> = [];

  constructor(entries: Iterable<string> = []) {
    for (const e of entries) this.add(e);
  }

  add(entry: string): boolean {
    const c = parseCidr(entry);
    if (!c) return false;
    const key = `${c.family}/${c.bits}`;
    let set = this.byPrefix.get(key);
    if (!set) {
      this.byPrefix.set(key, (set = new Set()));
      this.prefixes.push({ family: c.family, bits: c.bits, max: c.family === 4 ? 32 : 128, networks: set });
    }
    set.add(c.network);
    return true;
  }

  get size(): number {
    let n = 0;
    for (const s of this.byPrefix.values()) n += s.size;
    return n;
  }

  has(address: string): boolean {
    if (this.prefixes.length === 0) return false;
    const ip = parseIp(address);
    if (!ip) return false;
    for (const p of this.prefixes) {
      if (p.family === ip.family && p.networks.has(maskValue(ip.value, p.bits, p.max))) return true;
    }
    return false;
  }
}

/** The client's network for greylisting and subnet limits: /24 for IPv4, /64 for IPv6 by default. */
export function networkOf(address: string, v4Bits = 24, v6Bits = 64): string {
  const ip = parseIp(address);
  if (!ip) return address;
  if (ip.family === 4) {
    const v = maskValue(ip.value, v4Bits, 32);
    return `${[24n, 16n, 8n, 0n].map((s) => (v >> s) & 255n).join('.')}/${v4Bits}`;
  }
  const v = maskValue(ip.value, v6Bits, 128);
  const groups: string[] = [];
  for (let i = 7n; i >= 0n; i--) groups.push(((v >> (i * 16n)) & 0xffffn).toString(16));
  return `${groups.join(':')}/${v6Bits}`;
}

/**
 * An address in the reversed form DNS names use (blocklists, PTR): 192.0.2.1 → 1.2.0.192;
 * IPv6 as 32 reversed nibbles.
 */
export function reversedIp(ip: string): { name: string; family: 4 | 6 } | null {
  const p = parseIp(ip);
  if (!p) return null;
  if (p.family === 4) return { name: [0n, 8n, 16n, 24n].map((s) => (p.value >> s) & 255n).join('.'), family: 4 };
  return { name: p.value.toString(16).padStart(32, '0').split('').reverse().join('.'), family: 6 };
}
