import { CidrSet, parseIp } from '../../net/ip.js';

/** Addresses no public blocklist can know: private, loopback, link-local, shared, unique-local. */
const PRIVATE = new CidrSet(['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '::1/128', '::/128', 'fc00::/7', 'fe80::/10']);

export function isPrivateAddress(ip: string): boolean {
  return PRIVATE.has(ip);
}

/** The DNSBL query name of an address: 192.0.2.1 → 1.2.0.192; IPv6 as 32 reversed nibbles. */
export function reversedIp(ip: string): { name: string; family: 4 | 6 } | null {
  const p = parseIp(ip);
  if (!p) return null;
  if (p.family === 4) return { name: [0n, 8n, 16n, 24n].map((s) => (p.value >> s) & 255n).join('.'), family: 4 };
  return { name: p.value.toString(16).padStart(32, '0').split('').reverse().join('.'), family: 6 };
}
