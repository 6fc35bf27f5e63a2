import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { startRedis, startRedisSentinel } from '../helpers/redis.js';
import { redisPairForTests } from '../helpers/redis-pair.js';
import { storeContract } from './contract.js';
import { tokenGroup, TOKEN_GROUPS } from '../../src/stores/redis/bayes.js';
import { Redis } from 'ioredis';

const servers = redisPairForTests();

const open = (url: () => string, prefix = 'bp:') => async () => {
  const store = new RedisStore({ url: url(), prefix, commandTimeout: 1000, log: silentLogger(), metrics: null, fuzzyRefreshMs: 50 });
  return { store, close: () => store.close() };
};

storeContract('redis standalone', open(() => servers.standalone.url));
storeContract('redis cluster (3 masters)', open(() => servers.cluster.url));

describe('redis store specifics', () => {
  it('keeps deployments with different prefixes apart', async () => {
    const a = new RedisStore({ url: servers.standalone.url, prefix: 'one:', commandTimeout: 1000, log: silentLogger(), metrics: null });
    const b = new RedisStore({ url: servers.standalone.url, prefix: 'two:', commandTimeout: 1000, log: silentLogger(), metrics: null });
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
    const s = new RedisStore({ url: servers.cluster.url, prefix: 'rt:', commandTimeout: 1000, log: silentLogger(), metrics: null });
    try {
      await s.ready();
      const o = { delay: 300, retryWindow: 60, passTtl: 60, autoAllowAfter: 5, autoAllowTtl: 60 };
      await s.greylistCheck('203.0.113.0/24', 'warm|up', o); // loads the script (EVALSHA + EVAL once)
      await s.bayesGetTokens(['warm']);
      const start = s.roundTrips();
      await s.greylistCheck('203.0.113.0/24', 'p@x|r@y', o);
      await s.historyPush('{}', 10);
      assert.equal(s.roundTrips() - start, 2);
      // Bayes tokens are spread over slots: a Cluster gets one read per token group present.
      const tokens = Array.from({ length: 40 }, (_v, i) => `t${i}`);
      const groups = new Set(tokens.map(tokenGroup)).size;
      const before = s.roundTrips();
      await s.bayesGetTokens(tokens);
      assert.equal(s.roundTrips() - before, groups);
      assert.ok(groups <= TOKEN_GROUPS);
    } finally {
      await s.close();
    }
  });

  it('reads all of a message\'s Bayes tokens in one round trip on a standalone Redis', async () => {
    const s = new RedisStore({ url: servers.standalone.url, prefix: 'rt1:', commandTimeout: 1000, log: silentLogger(), metrics: null });
    try {
      await s.ready();
      await s.bayesGetTokens(['warm']);
      const before = s.roundTrips();
      await s.bayesGetTokens(Array.from({ length: 2000 }, (_v, i) => `t${i}`));
      assert.equal(s.roundTrips() - before, 1);
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
    assert.throws(() => new RedisStore({ url: servers.standalone.url, prefix: 'a{b}', commandTimeout: 250, log: silentLogger(), metrics: null }), /may not contain/);
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

describe('redis Bayes: one key per token, spread, expiring, capped', () => {
  const setups = [
    { name: 'standalone', url: () => servers.standalone.url, ports: () => [servers.standalone.port] },
    { name: 'cluster', url: () => servers.cluster.url, ports: () => servers.cluster.ports },
  ];
  for (const setup of setups) {
    const open = (prefix: string) => new RedisStore({ url: setup.url(), prefix, commandTimeout: 2000, log: silentLogger(), metrics: null });
    const keysOn = async (port: number, pattern: string) => {
      const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
      try {
        await node.connect();
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
        return { keys: found };
      } finally {
        node.disconnect();
      }
    };

    it(`${setup.name}: tokens are keys of their own with the retention's TTL, spread over every node; digests expire too`, async () => {
      const s = open(`spread-${setup.name}:`);
      try {
        await s.ready();
        const tokens = Array.from({ length: 600 }, (_v, i) => `tok${i}`);
        const retention = { expireSeconds: 30 * 86_400, maxTokens: 2_000_000 };
        assert.equal(await s.bayesLearn('d-spread', tokens, 'spam', retention), 'learned');
        let total = 0;
        for (const port of setup.ports()) {
          const node = new Redis({ host: '127.0.0.1', port });
          try {
            const { keys } = await keysOn(port, `spread-${setup.name}:bt:*`);
            total += keys.length;
            assert.ok(keys.length > 0, `node ${port} holds tokens`);
            const ttl = await node.ttl(keys[0]!);
            assert.ok(ttl > 29 * 86_400 && ttl <= 30 * 86_400, `token TTL ${ttl}`);
            const digest = (await keysOn(port, `spread-${setup.name}:bl:*`)).keys[0];
            if (digest) assert.ok((await node.ttl(digest)) > 29 * 86_400, 'the digest expires too');
          } finally {
            node.disconnect();
          }
        }
        assert.equal(total, 600);
      } finally {
        await s.close();
      }
    });

    it(`${setup.name}: tokens and digests not learned within expire_days are gone`, async () => {
      const s = open(`expire-${setup.name}:`);
      try {
        await s.ready();
        const retention = { expireSeconds: 1, maxTokens: 2_000_000 };
        assert.equal(await s.bayesLearn('d-expire', ['gone1', 'gone2'], 'spam', retention), 'learned');
        assert.deepEqual((await s.bayesGetTokens(['gone1']))[0], { spam: 1, ham: 0 });
        await new Promise((r) => setTimeout(r, 2100));
        assert.deepEqual(await s.bayesGetTokens(['gone1', 'gone2']), [
          { spam: 0, ham: 0 },
          { spam: 0, ham: 0 },
        ]);
        assert.equal(await s.bayesLearn('d-expire', ['gone1'], 'spam', retention), 'learned', 'the digest expired with its tokens');
      } finally {
        await s.close();
      }
    });

    it(`${setup.name}: Bayes data of the older two-hash layout is moved to one key per token on start`, async () => {
      const prefix = `legacy-${setup.name}:`;
      const raw = new RedisStore({ url: setup.url(), prefix: 'unused:', commandTimeout: 2000, log: silentLogger(), metrics: null });
      await raw.ready();
      const tokens = Array.from({ length: 1500 }, (_v, i) => `old${i}`);
      await raw.client.hset(`${prefix}{bayes}:spam`, Object.fromEntries(tokens.map((t) => [t, '3'])));
      await raw.client.hset(`${prefix}{bayes}:ham`, { old0: '2', hamonly: '5' });
      await raw.client.hset(`${prefix}{bayes}:totals`, { spam: '40', ham: '12' });
      await raw.client.hset(`${prefix}{bayes}:learned`, { 'digest-a': 'spam' });
      const s = open(prefix);
      try {
        await s.ready();
        assert.equal(await s.legacyMoved, 1502);
        assert.deepEqual(await s.bayesGetTokens(['old0', 'old1499', 'hamonly']), [
          { spam: 3, ham: 2 },
          { spam: 3, ham: 0 },
          { spam: 0, ham: 5 },
        ]);
        assert.deepEqual(await s.bayesTotals(), { spam: 40, ham: 12 });
        assert.equal(await s.bayesLearn('digest-a', ['x'], 'spam'), 'already_learned');
        assert.equal(await raw.client.exists(`${prefix}{bayes}:spam`, `${prefix}{bayes}:totals`, `${prefix}{bayes}:learned`), 0, 'the old hashes are gone');
      } finally {
        await s.close();
        await raw.close();
      }
      const again = open(prefix);
      await again.ready();
      assert.equal(await again.legacyMoved, null, 'nothing to move twice');
      await again.close();
    });

    it(`${setup.name}: past max_stored_tokens no new token is stored, known ones keep counting`, async () => {
      const s = open(`cap-${setup.name}:`);
      try {
        await s.ready();
        const retention = { expireSeconds: 3600, maxTokens: TOKEN_GROUPS * 2 };
        const known = ['k1', 'k2', 'k3'];
        await s.bayesLearn('cap-0', known, 'spam', retention);
        for (let m = 1; m <= 5; m++) {
          await s.bayesLearn(`cap-${m}`, [...known, ...Array.from({ length: 200 }, (_v, i) => `m${m}-${i}`)], 'spam', retention);
        }
        let stored = 0;
        for (const port of setup.ports()) stored += (await keysOn(port, `cap-${setup.name}:bt:*`)).keys.length;
        assert.ok(stored <= TOKEN_GROUPS * 2, `${stored} tokens stored`);
        assert.deepEqual(await s.bayesGetTokens(known), known.map(() => ({ spam: 6, ham: 0 })));
      } finally {
        await s.close();
      }
    });
  }
});
