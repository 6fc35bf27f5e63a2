import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BayesIndex } from '../../src/stores/sqlite/bayes-index.js';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { writeOldSnapshot } from '../helpers/store-snapshot.js';
import { tokenKey } from '../../src/bayes/token-key.js';
import { KEY_ALPHABET, keyBits } from '../../src/stores/bayes-key.js';
import type { BayesRetention } from '../../src/stores/types.js';
import { rng } from '../bayes/synthetic.js';

const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'bp-bayes-index-'));
const keys = (prefix: string, n: number) => Array.from({ length: n }, (_v, i) => tokenKey(`${prefix}${i}`));

/**
 * What the writer reads (its in-memory index) against what the database holds, read by a
 * read-only open of the same file (which reads SQLite itself).
 */
async function assertInStep(writer: SqliteStore, dir: string, tokens: readonly string[]): Promise<void> {
  const reader = new SqliteStore({ dataDir: dir, access: 'read' });
  try {
    assert.deepEqual(await writer.bayesGetTokens(tokens), await reader.bayesGetTokens(tokens));
    assert.deepEqual(await writer.bayesTotals(), await reader.bayesTotals());
  } finally {
    await reader.close();
  }
}

describe('Bayes index: the writer keeps its token counts in memory', () => {
  it('reads every token key back into the 54 bits it was written from', () => {
    const bits = new Uint32Array(2);
    for (const key of [...keys('k', 20_000), '_________', 'AAAAAAAAA']) {
      assert.ok(keyBits(key, bits), key);
      const value = BigInt(bits[0]!) | (BigInt(bits[1]!) << 32n);
      assert.ok(bits[1]! < 2 ** 22, key);
      const written = Array.from({ length: 9 }, (_v, i) => KEY_ALPHABET[Number((value >> BigInt(6 * i)) & 63n)]).join('');
      assert.equal(written, key);
    }
    for (const other of ['AAAAAAAA', 'AAAAAAAAAA', 'AAAA AAAA', 'AAAAAAAAé', '']) assert.equal(keyBits(other, bits), false, other);
  });

  it('holds what a Map holds through sets, deletes and growth', () => {
    const index = new BayesIndex();
    const model = new Map<string, { spam: number; ham: number }>();
    const pool = [...keys('t', 5000), 'plain', 'two words', 'AAAAAAAA*', 'é'.repeat(9)];
    const next = rng(7);
    for (let step = 0; step < 60_000; step++) {
      const key = pool[Math.floor(next() * pool.length)]!;
      if (next() < 0.3) {
        index.delete(key);
        model.delete(key);
      } else {
        // Now and then a count a slot cannot hold: kept exactly all the same.
        const spam = next() < 0.01 ? 2 ** 40 : next() < 0.01 ? 65_535 + Math.floor(next() * 3) : Math.floor(next() * 100);
        const ham = next() < 0.01 ? -1 : Math.floor(next() * 100);
        index.set(key, spam, ham);
        model.set(key, { spam, ham });
      }
    }
    assert.equal(index.size, model.size);
    assert.deepEqual(
      index.counts(pool),
      pool.map((k) => model.get(k) ?? { spam: 0, ham: 0 }),
    );
    for (const k of pool) assert.deepEqual(index.get(k), model.get(k), k);
  });

  it('stays in step with the database through learn, relearn, repeats, the cap, expiry and a reopen', async () => {
    const dir = await tempDir();
    let now = Date.UTC(2026, 0, 1);
    const retention: BayesRetention = { expireSeconds: 30 * 86_400, maxTokens: 3000 };
    const all = [...keys('w', 4000), 'not-a-key'];
    const next = rng(11);
    const pick = (n: number) => Array.from({ length: n }, () => all[Math.floor(next() * next() * all.length)]!);
    try {
      const store = new SqliteStore({ dataDir: dir, now: () => now, retention });
      const learned: Array<{ digest: string; tokens: string[] }> = [];
      for (let i = 0; i < 120; i++) {
        const tokens = pick(60);
        learned.push({ digest: `m${i}`, tokens });
        assert.equal(await store.bayesLearn(`m${i}`, tokens, next() < 0.4 ? 'spam' : 'ham', retention), 'learned');
        now += 3_600_000;
      }
      await assertInStep(store, dir, all);
      // Repeats change nothing; class moves take the tokens from the other class.
      for (const { digest, tokens } of learned.slice(0, 40)) {
        await store.bayesLearn(digest, tokens, 'spam', retention);
        await store.bayesLearn(digest, tokens, 'ham', retention);
      }
      await assertInStep(store, dir, all);
      // Past the cap the rarest tokens go, from the database and the index alike.
      for (let i = 0; i < 40; i++) await store.bayesLearn(`wide${i}`, keys(`x${i}-`, 100), 'spam', retention);
      const wide = Array.from({ length: 40 }, (_v, i) => keys(`x${i}-`, 100)).flat();
      const counts = await store.bayesGetTokens(wide);
      assert.ok(counts.some((c) => c.spam === 0) && counts.some((c) => c.spam === 1), 'the cap dropped some tokens and kept others');
      await assertInStep(store, dir, [...all, ...wide]);
      // Expiry: what was not learned for the retention time goes.
      now += 20 * 86_400_000;
      await store.bayesLearn('late', all.slice(0, 50), 'ham', retention);
      now += 15 * 86_400_000;
      store.sweep();
      const after = await store.bayesGetTokens(all);
      assert.ok(after.slice(50, -1).every((c) => c.spam === 0 && c.ham === 0), 'the stale tokens expired');
      assert.ok(after.slice(0, 50).every((c) => c.ham > 0), 'the fresh ones stayed');
      await assertInStep(store, dir, [...all, ...wide]);
      await store.close();
      // A reopen reads the index from the database.
      const again = new SqliteStore({ dataDir: dir, now: () => now, retention });
      assert.deepEqual(await again.bayesGetTokens(all.slice(0, 50)), after.slice(0, 50));
      await assertInStep(again, dir, [...all, ...wide]);
      await again.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a large table back at a reopen, chunk by chunk, odd keys and counts included', async () => {
    const dir = await tempDir();
    const many = keys('many', 45_000);
    const odd = ['plain', 'two words', 'comma,inside', '', 'AAAAAAAA'];
    try {
      await writeOldSnapshot(dir, [
        ['t', many[30_000], 2 ** 40, 1],
        ['t', many[40_000], 65_535, 70_000],
        ['t', 'comma,inside', 3, 4],
        ['T', 4, 2],
      ]);
      const a = new SqliteStore({ dataDir: dir });
      await a.bayesLearn('all', many, 'spam');
      await a.bayesLearn('half', many.filter((_k, i) => i % 2 === 0), 'ham');
      await a.bayesLearn('odd', odd, 'ham');
      await a.close();
      const b = new SqliteStore({ dataDir: dir });
      const counts = await b.bayesGetTokens([many[0]!, many[1]!, many[30_000]!, 'comma,inside', '', many[40_000]!]);
      assert.deepEqual(counts, [
        { spam: 1, ham: 1 },
        { spam: 1, ham: 0 },
        { spam: 2 ** 40 + 1, ham: 2 },
        { spam: 3, ham: 5 },
        { spam: 0, ham: 1 },
        { spam: 65_536, ham: 70_001 },
      ]);
      await assertInStep(b, dir, [...many, ...odd]);
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reads an imported snapshot, and learns on top of it', async () => {
    const dir = await tempDir();
    const [a, b] = keys('imported', 2) as [string, string];
    try {
      await writeOldSnapshot(dir, [['t', a, 4, 1], ['t', b, 0, 2], ['T', 4, 2]]);
      const store = new SqliteStore({ dataDir: dir });
      assert.deepEqual(await store.bayesGetTokens([a, b]), [
        { spam: 4, ham: 1 },
        { spam: 0, ham: 2 },
      ]);
      assert.deepEqual(await store.bayesTotals(), { spam: 4, ham: 2 });
      await store.bayesLearn('d', [a], 'spam');
      assert.deepEqual(await store.bayesGetTokens([a]), [{ spam: 5, ham: 1 }]);
      await assertInStep(store, dir, [a, b]);
      await store.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a learn that fails in a batch leaves the index as the database is', async () => {
    const dir = await tempDir();
    try {
      const store = new SqliteStore({ dataDir: dir, sync: 'on_close' });
      const [k] = keys('batch', 1) as [string];
      await store.bayesLearn('ok', [k], 'spam');
      await assert.rejects(store.bayesLearn('bad', [k, { toString: () => 'x' } as unknown as string], 'ham'));
      assert.deepEqual(await store.bayesGetTokens([k]), [{ spam: 1, ham: 0 }]);
      assert.deepEqual(await store.bayesTotals(), { spam: 1, ham: 0 });
      await store.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
