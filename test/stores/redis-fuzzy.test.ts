import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { redisPairForTests } from '../helpers/redis-pair.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Whether any fuzzy signature is stored, on a Redis shared by several MXes: answered from
 * memory (no round trip per message), learned by every MX within the refresh time, and
 * correct for signatures stored before the count existed.
 */

const servers = redisPairForTests();

const sig = (base: number) => Array.from({ length: 32 }, (_, i) => (base * 1000 + i) >>> 0);

function mx(url: string, prefix: string, fuzzyRefreshMs = 100): RedisStore {
  return new RedisStore({ url, prefix, commandTimeout: 1000, log: silentLogger(), metrics: null, fuzzyRefreshMs });
}

/** Polls fuzzyAny() (which refreshes in the background) until it gives `want` or 5 s pass. */
async function settles(store: RedisStore, want: boolean): Promise<boolean> {
  const until = Date.now() + 5000;
  while (store.fuzzyAny() !== want && Date.now() < until) await sleep(20);
  return store.fuzzyAny();
}

for (const [name, url] of [
  ['standalone', () => servers.standalone.url],
  ['cluster', () => servers.cluster.url],
] as const) {
  describe(`redis fuzzy count (${name})`, () => {
    it('an MX learns within the refresh time that another added or deleted the only signature', async () => {
      const prefix = `two-${name}:`;
      const [a, b] = [mx(url(), prefix), mx(url(), prefix)];
      try {
        await Promise.all([a.ready(), b.ready()]);
        assert.equal(b.fuzzyAny(), true, 'not known before Redis has answered: the check runs');
        assert.equal(await settles(b, false), false, 'an empty store is noticed');
        await a.fuzzyAdd('d1', sig(1), 1, 10);
        assert.equal(a.fuzzyAny(), true);
        assert.equal(await settles(b, true), true, 'the other MX sees the signature');
        assert.deepEqual(await b.fuzzyFind(sig(1), 16), { digest: 'd1', flag: 1, weight: 10, matched: 32 });
        // The same digest again is still one signature.
        await a.fuzzyAdd('d1', sig(1), 2, 5);
        assert.equal(await a.fuzzyDelete('d1', sig(1)), true);
        assert.equal(await settles(b, false), false, 'the delete is noticed');
        assert.equal(await settles(a, false), false);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('counts signatures stored before the count existed, so they keep matching', async () => {
      const prefix = `old-${name}:`;
      // The earlier layout: the hash and the min-hash sets, no set of all digests.
      const writer = mx(url(), prefix);
      try {
        await writer.ready();
        const client = writer.client;
        await client.hset(`${prefix}fz:{fz}h:old1`, 'f', '1', 'w', '10');
        for (const [pos, value] of sig(7).entries()) await client.sadd(`${prefix}fz:{fz}s:${pos}:${value}`, 'old1');
        const reader = mx(url(), prefix);
        try {
          await reader.ready();
          reader.fuzzyAny();
          // The count runs in the background: wait (bounded) until the old keys are indexed.
          const until = Date.now() + 5000;
          while ((await client.get(`${prefix}fz:{fz}indexed`)) !== '1' && Date.now() < until) await sleep(20);
          assert.equal(reader.fuzzyAny(), true, 'the old signature is counted');
          assert.equal(await client.sismember(`${prefix}fz:{fz}all`, 'old1'), 1);
          assert.equal(await client.get(`${prefix}fz:{fz}indexed`), '1');
          assert.equal((await reader.fuzzyFind(sig(7), 16))?.digest, 'old1');
          assert.equal(await reader.fuzzyDelete('old1', sig(7)), true);
          assert.equal(await settles(reader, false), false);
        } finally {
          await reader.close();
        }
      } finally {
        await writer.close();
      }
    });
  });
}

it('asks Redis at most once per refresh time, however many messages ask', async () => {
  const store = mx(servers.standalone.url, 'rt-fuzzy:', 60_000);
  try {
    await store.ready();
    store.fuzzyAny();
    await sleep(200);
    const start = store.roundTrips();
    for (let i = 0; i < 1000; i++) store.fuzzyAny();
    assert.equal(store.roundTrips() - start, 0);
  } finally {
    await store.close();
  }
});
