import dns from 'node:dns';
import { reversedIp } from './ip.js';
import { withDeadline } from './deadline.js';

/**
 * The one DNS client for checks (SPF/DKIM/DMARC, blocklists). Every lookup has a hard
 * deadline, answers and "no such name" are cached briefly, concurrent identical lookups
 * share one query, and `offline: true` makes every lookup fail at once without touching
 * the network. Servers come from policy (`dns.servers`), so tests can point it at a DNS
 * server on loopback.
 */

/** Same shape as dns.promises.resolve(name, rrtype): what mailauth's `resolver` option expects. */
export type ResolveFn = (name: string, rrtype: string) => Promise<unknown>;

export interface DnsSettings {
  servers: readonly string[];
  /** Milliseconds one lookup may take. */
  timeout: number;
  /** Seconds answers and negative answers are kept. */
  cache_ttl: number;
  /** Answers kept at most. */
  cache_size: number;
}

/** A failed lookup, with the node:dns style code mailauth and the checks look at. */
export class DnsError extends Error {
  constructor(
    readonly code: string,
    name: string,
    rrtype: string,
  ) {
    super(`${rrtype} ${name}: ${code}`);
    this.name = 'DnsError';
  }
}

/** Codes that are answers (the name or the record does not exist), not failures. */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

export function isNegativeAnswer(err: unknown): boolean {
  return NEGATIVE.has((err as { code?: string } | null)?.code ?? '');
}

export class DnsClient {
  private readonly resolver: dns.promises.Resolver | null;
  private readonly cache = new Map<string, { expires: number; answer: Promise<unknown> }>();

  constructor(
    private readonly settings: DnsSettings,
    readonly offline = false,
  ) {
    if (offline) {
      this.resolver = null;
      return;
    }
    // Two tries within the budget: c-ares doubles the wait on the second (t + 2t = 3t).
    this.resolver = new dns.promises.Resolver({ timeout: Math.max(50, Math.floor(settings.timeout / 3)), tries: 2 });
    if (settings.servers.length > 0) this.resolver.setServers([...settings.servers]);
  }

  /** dns.promises.resolve semantics: A/AAAA → string[], TXT → string[][], MX → {exchange, priority}[]… */
  resolve(name: string, rrtype: string): Promise<unknown> {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.answer;
    const answer = this.lookup(name, rrtype);
    this.remember(key, answer, now);
    return answer;
  }

  resolve4(name: string): Promise<string[]> {
    return this.resolve(name, 'A') as Promise<string[]>;
  }

  resolveTxt(name: string): Promise<string[][]> {
    return this.resolve(name, 'TXT') as Promise<string[][]>;
  }

  /**
   * The client's name from its PTR record (the first one), or '' when there is none, the
   * lookup failed or we are offline: a missing name is a fact about the client, not an error.
   */
  async reverse(ip: string): Promise<string> {
    const r = reversedIp(ip);
    if (!r) return '';
    try {
      const names = (await this.resolve(`${r.name}.${r.family === 4 ? 'in-addr' : 'ip6'}.arpa`, 'PTR')) as string[];
      return (names[0] ?? '').replace(/\.$/, '').toLowerCase();
    } catch {
      return '';
    }
  }

  /** The function to hand to mailauth (bound to this client). */
  get resolveFn(): ResolveFn {
    return (name, rrtype) => this.resolve(name, rrtype);
  }

  /** Answers held now (never more than cache_size). */
  get cachedAnswers(): number {
    return this.cache.size;
  }

  private remember(key: string, answer: Promise<unknown>, now: number): void {
    const ttl = this.settings.cache_ttl * 1000;
    const max = this.settings.cache_size;
    if (ttl <= 0 || max <= 0) return;
    if (this.cache.size >= max) {
      // Oldest first (Map keeps insertion order): drop a tenth rather than one per insert.
      let drop = Math.ceil(max / 10);
      for (const k of this.cache.keys()) {
        if (drop-- <= 0) break;
        this.cache.delete(k);
      }
    }
    this.cache.set(key, { expires: now + ttl, answer });
    // A failure (timeout, SERVFAIL) is not an answer: forget it so the next message asks again.
    answer.catch((err: unknown) => {
      if (!isNegativeAnswer(err) && this.cache.get(key)?.answer === answer) this.cache.delete(key);
    });
  }

  private async lookup(name: string, rrtype: string): Promise<unknown> {
    if (!this.resolver) throw new DnsError('EOFFLINE', name, rrtype);
    try {
      return await withDeadline(this.resolver.resolve(name, rrtype), this.settings.timeout + 50, () => new DnsError('ETIMEOUT', name, rrtype));
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw err instanceof DnsError ? err : new DnsError(code ?? 'EFAIL', name, rrtype);
    }
  }
}

/** What DNS needs of a policy version (a CompiledPolicy, seen from below policy/). */
export interface DnsPolicy {
  readonly policy: { readonly dns: DnsSettings; readonly offline: boolean };
}

const perPolicy = new WeakMap<DnsPolicy, DnsClient>();

/** The DNS client for a policy version: a reload with other servers gets a fresh client and cache. */
export function dnsFor(policy: DnsPolicy): DnsClient {
  let client = perPolicy.get(policy);
  if (!client) {
    client = new DnsClient(policy.policy.dns, policy.policy.offline);
    perPolicy.set(policy, client);
  }
  return client;
}
