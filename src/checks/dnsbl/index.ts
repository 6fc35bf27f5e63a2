import { defineCheck, NO_HITS, type Outcome } from '../../pipeline/check.js';
import type { SymbolHit } from '../../decision/hits.js';
import { dnsblManifest, type DnsblZone } from './manifest.js';
import type { TransactionContext } from '../../pipeline/context.js';
import type { CompiledPolicy } from '../../policy/compiled.js';
import type { ParsedMessage } from '../../mail/parsed-message.js';
import { dnsFor, isNegativeAnswer, type DnsClient } from '../../net/dns.js';
import { orgDomain } from '../../net/org-domain.js';
import { urlHosts } from '../../mail/urls.js';
import { isPrivateAddress, reversedIp } from './names.js';
import net from 'node:net';

/**
 * DNS blocklists, all lookups of a message at once: the client address in every IP zone,
 * the registered domain of each URL (up to max_domains) in every domain zone. An answer
 * maps to a symbol by its exact code, by the bits of its last octet, or to the zone's
 * general symbol. Answers outside 127.0.0.0/8 (a hijacked or wildcarding resolver) and in
 * 127.255.255.0/24 (the list refusing to answer, e.g. through a public resolver) are not
 * listings. Lookups that fail are skipped; when every one fails the check fails (on_error).
 */

type Answer = { hits: SymbolHit[]; failed: string | null };

type ZoneAnswers = Pick<DnsblZone, 'zone' | 'symbol' | 'returncodes' | 'bits' | 'ignore'>;

function symbolsFor(zone: ZoneAnswers, answers: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of answers) {
    if (!a.startsWith('127.') || a.startsWith('127.255.255.') || zone.ignore.includes(a)) continue;
    const exact = zone.returncodes[a];
    if (exact) {
      out.add(exact);
      continue;
    }
    const last = Number(a.split('.')[3]);
    let matched = false;
    for (const [bit, sym] of Object.entries(zone.bits)) {
      if (last & Number(bit)) {
        out.add(sym);
        matched = true;
      }
    }
    if (!matched) out.add(zone.symbol);
  }
  return [...out];
}

async function query(dns: DnsClient, name: string, zone: ZoneAnswers, what: string, ctx: TransactionContext): Promise<Answer> {
  try {
    const answers = await dns.resolve4(name);
    const refused = answers.filter((a) => a.startsWith('127.255.255.'));
    if (refused.length > 0) ctx.log.warn({ event: 'dnsbl_refused', zone: zone.zone, answer: refused[0] }, 'blocklist refused the query (it may not answer through this resolver)');
    return { hits: symbolsFor(zone, answers).map((name) => ({ name, detail: `${what} in ${zone.zone} (${answers.join(', ')})` })), failed: null };
  } catch (err) {
    if (isNegativeAnswer(err)) return { hits: [], failed: null };
    return { hits: [], failed: `${zone.zone}: ${(err as Error).message}` };
  }
}

/** Registered domains of the message's URLs, ours left out, in order of appearance. */
function urlDomains(msg: ParsedMessage, max: number, policy: CompiledPolicy): string[] {
  const out = new Set<string>();
  for (const host of urlHosts(msg)) {
    if (out.size >= max) break;
    if (net.isIP(host) !== 0) continue;
    const domain = orgDomain(host);
    if (domain.includes('.') && !policy.isLocalDomain(domain)) out.add(domain);
  }
  return [...out];
}

async function lookupAll(ctx: TransactionContext): Promise<Outcome> {
  const o = ctx.policy.policy.dnsbl;
  const dns = dnsFor(ctx.policy);
  const lookups: Array<Promise<Answer>> = [];
  const ip = ctx.client.ip;
  // Our own networks (smtp.trusted_networks) are not judged by public lists.
  const rev = ip && !ctx.trusted && !(o.skip_private && isPrivateAddress(ip)) ? reversedIp(ip) : null;
  if (rev) {
    for (const zone of o.ip_zones) {
      if (rev.family === 4 || zone.ipv6) lookups.push(query(dns, `${rev.name}.${zone.zone}`, zone, ip, ctx));
    }
  }
  if (ctx.message && o.domain_zones.length > 0) {
    for (const domain of urlDomains(ctx.message, o.max_domains, ctx.policy)) {
      for (const zone of o.domain_zones) lookups.push(query(dns, `${domain}.${zone.zone}`, zone, domain, ctx));
    }
  }
  if (lookups.length === 0) return NO_HITS;
  const answers = await Promise.all(lookups);
  const failed = answers.filter((a) => a.failed !== null);
  if (failed.length === answers.length) throw new Error(`every blocklist lookup failed: ${failed[0]?.failed}`);
  const hits = answers.flatMap((a) => a.hits);
  return hits.length > 0 ? { hits } : NO_HITS;
}

export const dnsblCheck = defineCheck(dnsblManifest, () => ({
  dnsbl: async (ctx) => (ctx.policy.policy.offline ? NO_HITS : lookupAll(ctx)),
}));
