import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { startRedis, startRedisCluster, startRedisSentinel, type RunningRedis, type RunningRedisCluster } from '../helpers/redis.js';
import { storeContract } from './contract.js';

let standalone: RunningRedis;
let cluster: RunningRedisCluster;
before(async () => {
  [standalone, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});
after(async () => {
  await Promise.all([standalone?.stop(), cluster?.stop()]);
});

const open = (url: () => string, prefix = 'bp:') => async () => {
  const store = new RedisStore({ url: url(), prefix, commandTimeout: 1000, log: silentLogger(), metrics: null });
  return { store, close: () => store.close() };
};

storeContract('redis standalone', open(() => standalone.url));
storeContract('redis cluster (3 masters)', open(() => cluster.url));

describe('redis store specifics', () => {
  it('keeps deployments with different prefixes apart', async () => {
    const a = new RedisStore({ url: standalone.url, prefix: 'one:', commandTimeout: 1000, log: silentLogger(), metrics: null });
    const b = new RedisStore({ url: standalone.url, prefix: 'two:', commandTimeout: 1000, log: silentLogger(), metrics: null });
    try {
      await Promise.all([a.ready(), b.ready()]);
      const o = { delay: 300, retryWindow: 60, passTtl: 60, autoAllowAfter: 0, autoAllowTtl: 60 };
      assert.equal((await a.greylistCheck('203.0.113.0/24', 'p@x|r@y', o)).state, 'new');
      assert.equal((await b.greylistCheck('203.0.113.0/24', 'p@x|r@y', o)).state, 'new');
      assert.equal((await a.greylistList('p@x', 10)).length, 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('counts one round trip per operation', async () => {
    const s = new RedisStore({ url: cluster.url, prefix: 'rt:', commandTimeout: 1000, log: silentLogger(), metrics: null });
    try {
      await s.ready();
      const o = { delay: 300, retryWindow: 60, passTtl: 60, autoAllowAfter: 5, autoAllowTtl: 60 };
      await s.greylistCheck('203.0.113.0/24', 'warm|up', o); // loads the script (EVALSHA + EVAL once)
      const start = s.roundTrips();
      await s.greylistCheck('203.0.113.0/24', 'p@x|r@y', o);
      await s.historyPush('{}', 10);
      await s.bayesGetTokens(['a', 'b', 'c']);
      assert.equal(s.roundTrips() - start, 3);
    } finally {
      await s.close();
    }
  });

  it('fails fast and counts a store error when Redis is down, then recovers', async () => {
    const redis = await startRedis();
    const metrics = new Metrics({ defaults: false });
    const s = new RedisStore({ url: redis.url, prefix: 'down:', commandTimeout: 250, log: silentLogger(), metrics });
    try {
      await s.ready();
      assert.equal(await s.counterIncrement('k', 60), 1);
      const port = redis.port;
      await redis.stop();
      const t0 = Date.now();
      await assert.rejects(s.counterIncrement('k', 60), /redis counter_increment/);
      assert.ok(Date.now() - t0 < 1000, `failed after ${Date.now() - t0} ms`);
      const errors = await metrics.storeErrors.get();
      assert.ok((errors.values.find((v) => v.labels.operation === 'counter_increment')?.value ?? 0) >= 1);
      const again = await startRedis({ port });
      try {
        const deadline = Date.now() + 10_000;
        let value = 0;
        while (Date.now() < deadline) {
          value = await s.counterIncrement('k', 60).catch(() => 0);
          if (value > 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(value, 1, 'a fresh Redis starts counting again');
      } finally {
        await again.stop();
      }
    } finally {
      await s.close();
      await redis.stop();
    }
  });

  it('rejects ready() in bounded time when nothing listens', async () => {
    const redis = await startRedis();
    const url = redis.url;
    await redis.stop();
    const s = new RedisStore({ url, prefix: 'x:', commandTimeout: 250, log: silentLogger(), metrics: null });
    const t0 = Date.now();
    await assert.rejects(s.ready(500), /not ready after 500 ms/);
    assert.ok(Date.now() - t0 < 1500);
    await s.close();
  });

  it('refuses a prefix with hash-tag braces', () => {
    assert.throws(() => new RedisStore({ url: standalone.url, prefix: 'a{b}', commandTimeout: 250, log: silentLogger(), metrics: null }), /may not contain/);
  });
});

describe('redis store through Sentinel', () => {
  it('finds the master and greylists atomically', async () => {
    const sentinel = await startRedisSentinel();
    const s = new RedisStore({ url: sentinel.url, prefix: 'sen:', commandTimeout: 1000, log: silentLogger(), metrics: null });
    try {
      await s.ready();
      const o = { delay: 300, retryWindow: 60, passTtl: 60, autoAllowAfter: 0, autoAllowTtl: 60 };
      const states = await Promise.all(Array.from({ length: 50 }, () => s.greylistCheck('203.0.113.0/24', 'sentinel|race', o)));
      assert.equal(states.filter((r) => r.state === 'new').length, 1);
      assert.equal((await s.greylistList('sentinel', 10)).length, 1);
    } finally {
      await s.close();
      await sentinel.stop();
    }
  });
});
