import net from 'node:net';
import type { SymbolHit } from '../../decision/hits.js';
import type { CompiledPolicy } from '../../policy/compiled.js';
import { unmapIpv4 } from '../../net/ip.js';

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function sameIp(a: string, b: string): boolean {
  return unmapIpv4(a).toLowerCase() === unmapIpv4(b).toLowerCase();
}

/**
 * What the HELO/EHLO name says about the client: an address literal that is not its
 * address, a bare IP, a name that is not a fully qualified domain, or a name claiming to
 * be this server or one of our domains (which only our own hosts may use).
 */
export function heloHits(helo: string, clientIp: string, policy: CompiledPolicy): SymbolHit[] {
  const name = helo.trim();
  if (!name) return [];
  const literal = /^\[(?:ipv6:)?([^\]]*)\]$/i.exec(name);
  if (literal) {
    const addr = literal[1] ?? '';
    if (net.isIP(addr) === 0) return [{ name: 'HELO_INVALID', detail: name }];
    return clientIp && !sameIp(addr, clientIp) ? [{ name: 'HELO_IP_MISMATCH', detail: `${name} from ${clientIp}` }] : [];
  }
  if (net.isIP(name) !== 0) {
    const hits: SymbolHit[] = [{ name: 'HELO_BARE_IP', detail: name }];
    if (clientIp && !sameIp(name, clientIp)) hits.push({ name: 'HELO_IP_MISMATCH', detail: `${name} from ${clientIp}` });
    return hits;
  }
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (lower === policy.policy.hostname.toLowerCase() || policy.isLocalDomain(lower)) return [{ name: 'HELO_OWN_NAME', detail: name }];
  if (!HOSTNAME.test(name)) return [{ name: 'HELO_INVALID', detail: name.slice(0, 80) }];
  if (!lower.includes('.')) return [{ name: 'HELO_NOT_FQDN', detail: name }];
  return [];
}
