import path from 'node:path';
import type { Policy } from './schema.js';
import { LIST_KINDS, compileList, normalizeDomain, type ListMatcher } from './lists.js';
import { CidrSet } from '../net/ip.js';

/**
 * A validated policy plus what the hot path needs precomputed (domain sets, list matchers,
 * symbol weights). Immutable: a reload builds a new one and swaps the reference.
 */
export interface CompiledPolicy {
  readonly policy: Readonly<Policy>;
  /** The policies directory it was loaded from ('' when built in code). */
  readonly dir: string;
  /** Content hash of the files it was built from. */
  readonly version: string;
  readonly loadedAt: Date;
  isLocalDomain(domain: string): boolean;
  list(name: string): ListMatcher | undefined;
  readonly trustedNetworks: CidrSet;
  readonly xforwardHosts: CidrSet;
  readonly proxyTrusted: CidrSet;
  /** Who may connect to the milter port (milter.peers). */
  readonly milterPeers: CidrSet;
  /** Weight of a symbol from symbols.yaml (0 when absent). */
  weight(symbol: string): number;
  /** Resolve a path given in a policy file (relative to the policies directory). */
  resolvePath(p: string): string;
}

export function compilePolicy(policy: Policy, dir: string, version: string): CompiledPolicy {
  const localDomains = new Set(policy.local_domains.map(normalizeDomain));
  const lists = new Map<string, ListMatcher>();
  for (const [name, values] of Object.entries(policy.lists)) {
    const kind = LIST_KINDS[name];
    if (kind) lists.set(name, compileList(kind, values));
  }
  const weights = new Map(Object.entries(policy.symbols).map(([k, v]) => [k, v.score]));
  const base = dir || process.cwd();
  return Object.freeze({
    policy: deepFreeze(policy),
    dir,
    version,
    loadedAt: new Date(),
    isLocalDomain: (domain: string) => localDomains.has(normalizeDomain(domain)),
    list: (name: string) => lists.get(name),
    trustedNetworks: new CidrSet(policy.smtp.trusted_networks),
    xforwardHosts: new CidrSet(policy.smtp.xforward_hosts),
    proxyTrusted: new CidrSet(policy.proxy_protocol.trusted),
    milterPeers: new CidrSet(policy.milter.peers),
    weight: (symbol: string) => weights.get(symbol) ?? 0,
    resolvePath: (p: string) => path.resolve(base, p),
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
