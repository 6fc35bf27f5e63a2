import { z } from 'zod';
import net from 'node:net';

/** Network values as policy files write them (HOST:PORT, an IP or a CIDR), for every section that names one. */

export const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+|[0-9a-fA-F:]+):\d{1,5}$/, 'must be HOST:PORT (IPv6 as [::1]:25)');

/** A bare IP or a CIDR, IPv4 or IPv6. */
export const cidr = z.string().refine(isIpOrCidr, { message: 'must be an IP address or CIDR (e.g. 192.0.2.0/24)' });

export function isIpOrCidr(value: string): boolean {
  const [addr, bits, ...rest] = value.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const family = net.isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  return family === 4 ? n <= 32 : n <= 128;
}

export function splitHostPort(value: string): { host: string; port: number } {
  const idx = value.lastIndexOf(':');
  let host = value.slice(0, idx);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(value.slice(idx + 1)) };
}
