import { z } from 'zod';
import net from 'node:net';
import { checkBase, defineManifest, symbolName, type PolicySymbol } from '../manifest.js';

const zoneName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i, 'must be a DNS zone name (e.g. zen.spamhaus.org)');

/** An answer a zone gives (127.0.0.2, …) → the symbol it stands for. */
const returnCodes = z
  .record(z.string().refine((k) => net.isIPv4(k), { message: 'return codes are IPv4 addresses (127.0.0.2)' }), symbolName)
  .default({});

/** A bit of the answer's last octet (URIBL/SURBL multi zones) → the symbol it stands for. */
const bitmask = z
  .record(z.string().regex(/^(1|2|4|8|16|32|64|128)$/, 'bits are 1, 2, 4, 8, 16, 32, 64 or 128'), symbolName)
  .default({});

const zoneSchema = z.strictObject({
  zone: zoneName,
  /** Scored for any listing not named in returncodes/bits. */
  symbol: symbolName,
  returncodes: returnCodes,
  bits: bitmask,
  /** Answers that mean "not listed" for this zone (e.g. a refusal code such as URIBL's 127.0.0.1). */
  ignore: z.array(z.string().refine((k) => net.isIPv4(k), { message: 'must be an IPv4 address (127.0.0.1)' })).default([]),
  /** Query IPv6 clients too (most IP lists only know IPv4). */
  ipv6: z.boolean().default(false),
});

export type DnsblZone = z.output<typeof zoneSchema>;

/**
 * DNS blocklists: the client address against IP lists, the registered domains of URLs in
 * the body against domain lists (URIBL style). Zones, answers and symbols are policy; the
 * symbols' weights are in symbols.yaml.
 */
export const dnsblSchema = z
  .strictObject({
    ...checkBase,
    timeout: z.number().int().positive().default(3000),
    ip_zones: z.array(zoneSchema).default([]),
    domain_zones: z.array(zoneSchema.omit({ ipv6: true })).default([]),
    /** Don't ask about private, loopback and link-local clients: no public list knows them. */
    skip_private: z.boolean().default(true),
    /** Distinct URL domains looked up per message (each in every domain zone). */
    max_domains: z.number().int().min(0).default(20),
  })
  .prefault({});

/** Every symbol the dnsbl section names, with where it stands in the section (for "missing score" errors). */
function dnsblPolicySymbols(section: z.output<typeof dnsblSchema>): PolicySymbol[] {
  const out: PolicySymbol[] = [];
  for (const kind of ['ip_zones', 'domain_zones'] as const) {
    section[kind].forEach((z, i) => {
      out.push({ name: z.symbol, path: [kind, i, 'symbol'] });
      for (const [code, sym] of Object.entries(z.returncodes)) out.push({ name: sym, path: [kind, i, 'returncodes', code] });
      for (const [bit, sym] of Object.entries(z.bits)) out.push({ name: sym, path: [kind, i, 'bits', bit] });
    });
  }
  return out;
}

export const dnsblManifest = defineManifest({
  name: 'dnsbl',
  runs: { dnsbl: 'data' },
  schema: dnsblSchema,
  // Every DNSBL symbol is named by its zone in the policy.
  symbols: [],
  policySymbols: dnsblPolicySymbols,
});
