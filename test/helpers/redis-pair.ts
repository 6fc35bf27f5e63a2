import { before, after } from 'node:test';
import { startRedis, startRedisCluster, type RunningRedis, type RunningRedisCluster } from './redis.js';

export interface RedisPair {
  standalone: RunningRedis;
  cluster: RunningRedisCluster;
}

/**
 * A standalone Redis and a three-master cluster for the tests of one file: started before
 * them, stopped after. Call at the top level of a test file; the fields are set once the
 * file's tests run.
 */
export function redisPairForTests(): RedisPair {
  // Empty until before() has run: no test reads it earlier.
  const pair = {} as RedisPair;
  before(async () => {
    [pair.standalone, pair.cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  });
  after(async () => {
    await Promise.all([pair.standalone?.stop(), pair.cluster?.stop()]);
  });
  return pair;
}
