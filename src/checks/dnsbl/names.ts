import { CidrSet, parseIp } from '../../net/ip.js';

/** Addresses no public blocklist can know: private, loopback, link-local, shared, unique-local. */
const PRIVATE = new CidrSet(['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '::1/128', '::/128', 'fc00::/7', 'fe80::/10']);

export function isPrivateAddress(ip: string): boolean {
  return PRIVATE.has(ip);
}

export { reversedIp } from '../../net/ip.js';
