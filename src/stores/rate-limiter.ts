import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimiterSpec } from './types.js';

/**
 * Rate limiters counting where the store keeps its state: the embedded store counts in this
 * process's memory, Redis in Redis (shared by every worker and MX), with an in-memory stand-in
 * while Redis is away.
 */

/** A limiter in this process's memory. */
export function memoryRateLimiter(spec: RateLimiterSpec): RateLimiterAbstract {
  return new RateLimiterMemory({ keyPrefix: `rl:${spec.name}`, points: spec.points, duration: spec.duration });
}

/**
 * Stands in for Redis when a command fails (rate-limiter-flexible's insurance limiter), so
 * limits keep working per machine while Redis is away; every use is reported.
 */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(...args);
  }
}

/** A limiter in Redis under `prefix`; `client` is the store's ioredis client or cluster. */
export function redisRateLimiter(client: unknown, prefix: string, spec: RateLimiterSpec): RateLimiterAbstract {
  const options = { keyPrefix: `${prefix}${spec.name}`, points: spec.points, duration: spec.duration };
  return new RateLimiterRedis({
    ...options,
    storeClient: client,
    // A Redis that is not connected goes straight to the insurance limiter.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new InsuranceLimiter(options, spec.onInsurance),
  });
}
