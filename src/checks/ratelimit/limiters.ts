import { BurstyRateLimiter, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Store } from '../../stores/types.js';
import type { CompiledPolicy } from '../../policy/compiled.js';
import type { RateRule } from './manifest.js';

type Limiter = RateLimiterAbstract | BurstyRateLimiter;

export interface RuleLimiter {
  rule: RateRule;
  limiter: Limiter;
}

/**
 * The limiters for the rules in force, rebuilt only when the rules change (a reload that
 * touched other files keeps them, and with them the in-memory counts).
 */
export class RuleLimiters {
  private rules: readonly RateRule[] | null = null;
  private rulesText = '';
  private limiters: RuleLimiter[] = [];

  constructor(
    private readonly store: Pick<Store, 'rateLimiter'>,
    private readonly onInsurance: () => void,
  ) {}

  for(policy: CompiledPolicy): readonly RuleLimiter[] {
    // A compiled policy is frozen: the same rules array means nothing changed.
    const rules = policy.policy.ratelimit.rules;
    if (rules === this.rules) return this.limiters;
    this.rules = rules;
    const text = JSON.stringify(rules);
    if (text !== this.rulesText) {
      this.rulesText = text;
      this.limiters = rules.map((rule) => ({ rule, limiter: this.build(rule) }));
    }
    return this.limiters;
  }

  private build(rule: RateRule): Limiter {
    const main = this.make(rule.name, rule.rate, rule.window);
    if (rule.burst === 0) return main;
    return new BurstyRateLimiter(main, this.make(`${rule.name}:burst`, rule.burst, rule.burst_window ?? rule.window * 10));
  }

  private make(name: string, points: number, duration: number): RateLimiterAbstract {
    return this.store.rateLimiter({ name, points, duration, onInsurance: this.onInsurance });
  }
}

/**
 * Count `points` events. Returns null when within the limit and the limiter's answer when
 * over it; any other failure is an Error and is thrown (rate-limiter-flexible rejects with either).
 */
export async function consume(limiter: Limiter, key: string, points = 1): Promise<RateLimiterRes | null> {
  try {
    await limiter.consume(key, points);
    return null;
  } catch (err) {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  }
}

/**
 * Whether `pending` more events would go over the limit, without counting them: how a
 * limit charged only on acceptance refuses at MAIL or RCPT (and how a read-only store,
 * scan and /checkv2, previews every limit). The burst allowance is taken as extra points
 * over the whole window: close enough for a refusal that only says "not now".
 */
export async function peek(entry: RuleLimiter, key: string, pending = 1): Promise<RateLimiterRes | null> {
  // BurstyRateLimiter has get() too (it combines both windows); its typings omit it.
  const res = await (entry.limiter as RateLimiterAbstract).get(key);
  const consumed = res?.consumedPoints ?? 0;
  if (consumed + pending <= entry.rule.rate + entry.rule.burst) return null;
  const wait = res && res.msBeforeNext > 0 ? res.msBeforeNext : entry.rule.window * 1000;
  return new RateLimiterRes(0, wait, consumed, false);
}
