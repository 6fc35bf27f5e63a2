import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore, DATABASE_FILE } from '../../src/stores/sqlite/sqlite-store.js';
import { SNAPSHOT_FILE } from '../../src/stores/sqlite/ndjson-snapshot.js';
import { writeOldSnapshot } from '../helpers/store-snapshot.js';
import { DataDirInUseError } from '../../src/stores/sqlite/writer-lock.js';
import { storeContract } from './contract.js';

const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'bp-store-'));

storeContract('sqlite (in a data dir)', async () => {
  const dir = await tempDir();
  const store = new SqliteStore({ dataDir: dir });
  return {
    store,
    close: async () => {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});

const opts = { delay: 300, retryWindow: 3600, passTtl: 3600, autoAllowAfter: 0, autoAllowTtl: 3600 };

describe('sqlite store on disk', () => {
  it('keeps greylist, Bayes and history across a reopen, in one database file', async () => {
    const dir = await tempDir();
    try {
      const a = new SqliteStore({ dataDir: dir });
      await a.greylistCheck('192.0.2.0/24', 's@x.org|r@example.com', opts);
      await a.bayesLearn('d1', ['viagra', 'cheap'], 'spam');
      await a.historyPush('{"n":1}', 10);
      await a.close();
      assert.ok((await fs.readdir(dir)).includes(DATABASE_FILE));

      const b = new SqliteStore({ dataDir: dir });
      assert.equal((await b.greylistCheck('192.0.2.0/24', 's@x.org|r@example.com', opts)).state, 'early');
      assert.deepEqual(await b.bayesGetTokens(['viagra']), [{ spam: 1, ham: 0 }]);
      assert.deepEqual(await b.bayesTotals(), { spam: 1, ham: 0 });
      assert.equal(await b.bayesLearn('d1', ['viagra'], 'spam'), 'already_learned');
      assert.deepEqual(await b.historyRead(5), ['{"n":1}']);
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a batch (sync on close) keeps every call all-or-nothing and has everything on disk after close', async () => {
    const dir = await tempDir();
    try {
      const a = new SqliteStore({ dataDir: dir, sync: 'on_close' });
      for (let i = 0; i < 450; i++) assert.equal(await a.bayesLearn(`m${i}`, [`t${i % 7}`, 'common'], i % 2 ? 'spam' : 'ham'), 'learned');
      // A call that fails half-way leaves nothing of itself behind.
      const tokens = ['common', { toString: () => 'x' } as unknown as string];
      await assert.rejects(a.bayesLearn('bad', tokens, 'spam'));
      assert.deepEqual(await a.bayesTotals(), { spam: 225, ham: 225 });
      await a.close();
      const b = new SqliteStore({ dataDir: dir });
      assert.deepEqual(await b.bayesTotals(), { spam: 225, ham: 225 });
      assert.deepEqual(await b.bayesGetTokens(['common']), [{ spam: 225, ham: 225 }]);
      assert.equal(await b.bayesLearn('bad', ['common'], 'spam'), 'learned', 'the failed learn was not recorded');
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('drops entries that expired while stopped, and sweeps expired ones while running', async () => {
    const dir = await tempDir();
    let now = 1_000_000;
    try {
      const a = new SqliteStore({ dataDir: dir, now: () => now });
      await a.greylistCheck('192.0.2.0/24', 'short', { ...opts, retryWindow: 10 });
      await a.greylistCheck('192.0.2.0/24', 'long', opts);
      await a.counterIncrement('c', 1);
      await a.close();
      now += 60_000;
      const b = new SqliteStore({ dataDir: dir, now: () => now });
      assert.deepEqual((await b.greylistList('', 10)).map((e) => e.key), ['192.0.2.0/24|long']);
      now += 3_600_000;
      b.sweep();
      assert.deepEqual(await b.greylistList('', 10), []);
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('one writer per data dir: a second writer is refused naming the holder; a reader may read', async () => {
    const dir = await tempDir();
    try {
      const a = new SqliteStore({ dataDir: dir, role: 'serve' });
      await a.bayesLearn('d', ['tok'], 'ham');
      assert.throws(
        () => new SqliteStore({ dataDir: dir, role: 'learn' }),
        (err: unknown) => err instanceof DataDirInUseError && err.holder === process.pid && new RegExp(`in use by pid ${process.pid} \\(serve`).test(err.message),
      );
      const reader = new SqliteStore({ dataDir: dir, access: 'read' });
      assert.deepEqual(await reader.bayesGetTokens(['tok']), [{ spam: 0, ham: 1 }]);
      await assert.rejects(reader.bayesLearn('e', ['tok'], 'ham'), /readonly/);
      await reader.close();
      await a.close();
      const c = new SqliteStore({ dataDir: dir });
      await c.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('imports an existing store.ndjson once, then keeps it as store.ndjson.imported', async () => {
    const dir = await tempDir();
    const now = Date.now();
    try {
      const records = [
        ['g', '192.0.2.0/24|old@x.org|r@example.com', now - 5000, 1, now + 3_600_000],
        ['g', '192.0.2.0/24|gone@x.org|r@example.com', now - 90_000, 0, now - 1000],
        ['c', 'gla:192.0.2.0/24', 3, now + 3_600_000],
        ['t', 'AAAAAAAAA', 4, 1],
        ['t', 'BBBBBBBBB', 0, 2],
        ['l', 'digest-1', 'spam'],
        ['T', 4, 2],
        ['h', '{"n":1}'],
        ['h', '{"n":2}'],
      ];
      await writeOldSnapshot(dir, records, { savedAt: now, tail: '["t", broken\n' });
      const s = new SqliteStore({ dataDir: dir });
      assert.deepEqual(await s.bayesGetTokens(['AAAAAAAAA', 'BBBBBBBBB']), [
        { spam: 4, ham: 1 },
        { spam: 0, ham: 2 },
      ]);
      assert.deepEqual(await s.bayesTotals(), { spam: 4, ham: 2 });
      assert.equal(await s.bayesLearn('digest-1', ['AAAAAAAAA'], 'spam'), 'already_learned');
      assert.deepEqual(await s.historyRead(5), ['{"n":2}', '{"n":1}']);
      assert.deepEqual((await s.greylistList('', 10)).map((e) => [e.key, e.passed]), [['192.0.2.0/24|old@x.org|r@example.com', true]]);
      const allow = { ...opts, autoAllowAfter: 3 };
      assert.equal((await s.greylistCheck('192.0.2.0/24', 'new@x.org|r@example.com', allow)).state, 'allowed', 'the auto-allow count came along');
      await s.close();
      assert.deepEqual((await fs.readdir(dir)).filter((f) => f.startsWith(SNAPSHOT_FILE)), [`${SNAPSHOT_FILE}.imported`]);
      // A second start does not import again (the counts would double).
      const again = new SqliteStore({ dataDir: dir });
      assert.deepEqual(await again.bayesTotals(), { spam: 4, ham: 2 });
      await again.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a store.ndjson that is not a snapshot, and releases its lock', async () => {
    const dir = await tempDir();
    try {
      await fs.writeFile(path.join(dir, SNAPSHOT_FILE), 'hello\n');
      assert.throws(() => new SqliteStore({ dataDir: dir }), /not a Borderpatrol store snapshot/);
      await fs.rm(path.join(dir, SNAPSHOT_FILE));
      const s = new SqliteStore({ dataDir: dir });
      await s.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('sqlite store bounds', () => {
  it('drops the rarest Bayes tokens past the cap', async () => {
    const s = new SqliteStore();
    const retention = { expireSeconds: 0, maxTokens: 100 };
    for (let i = 0; i < 5; i++) await s.bayesLearn(`common${i}`, ['frequent'], 'spam', retention);
    for (let i = 0; i < 200; i++) await s.bayesLearn(`rare${i}`, [`rare${i}`], 'spam', retention);
    assert.deepEqual(await s.bayesGetTokens(['frequent']), [{ spam: 5, ham: 0 }]);
    const rare = await s.bayesGetTokens(Array.from({ length: 200 }, (_v, i) => `rare${i}`));
    const kept = rare.filter((c) => c.spam > 0).length;
    assert.ok(kept <= 100 && kept >= 50, `${kept} rare tokens kept`);
    await s.close();
  });

  it('expires Bayes tokens and digests not learned for expire_days', async () => {
    let now = Date.UTC(2026, 0, 1);
    const s = new SqliteStore({ now: () => now });
    const retention = { expireSeconds: 10 * 86_400, maxTokens: 1_000_000 };
    await s.bayesLearn('old', ['stale', 'fresh'], 'spam', retention);
    now += 8 * 86_400_000;
    await s.bayesLearn('new', ['fresh'], 'spam', retention);
    now += 5 * 86_400_000;
    s.sweep();
    assert.deepEqual(await s.bayesGetTokens(['stale', 'fresh']), [
      { spam: 0, ham: 0 },
      { spam: 2, ham: 0 },
    ]);
    assert.equal(await s.bayesLearn('old', ['stale'], 'spam', retention), 'learned', 'the old digest expired too');
    assert.equal(await s.bayesLearn('new', ['fresh'], 'spam', retention), 'already_learned');
    await s.close();
  });
});

describe('sqlite fuzzy signatures', () => {
  const sig = (base: number) => Array.from({ length: 32 }, (_, i) => base * 1000 + i);

  it('between equally agreeing signatures picks the one agreeing at the lowest position, then the lowest digest', async () => {
    const store = new SqliteStore();
    try {
      const q = sig(1);
      // z agrees at positions 0..19, a at 5..24: both 20, z first.
      await store.fuzzyAdd('z', q.map((v, i) => (i < 20 ? v : v + 7)), 1, 1);
      await store.fuzzyAdd('a', q.map((v, i) => (i >= 5 && i < 25 ? v : v + 7)), 2, 1);
      assert.equal((await store.fuzzyFind(q, 16))?.digest, 'z');
      // c and b agree at the same 20 positions: the lower digest.
      await store.fuzzyAdd('c', q.map((v, i) => (i < 20 ? v + 9 : v)).map((v, i) => (i < 12 ? v - 9 : v)), 1, 1);
      await store.fuzzyAdd('b', q.map((v, i) => (i < 20 ? v + 9 : v)).map((v, i) => (i < 12 ? v - 9 : v)), 3, 1);
      assert.deepEqual(await store.fuzzyFind(q.map((v, i) => (i < 12 || i >= 20 ? v : v + 1)), 16), { digest: 'b', flag: 3, weight: 1, matched: 24 });
    } finally {
      await store.close();
    }
  });

  it('knows whether any is stored without a query, across a reopen', async () => {
    const dir = await tempDir();
    try {
      const a = new SqliteStore({ dataDir: dir });
      assert.equal(a.fuzzyAny(), false);
      await a.fuzzyAdd('d1', sig(2), 1, 1);
      await a.fuzzyAdd('d1', sig(2), 2, 1);
      await a.fuzzyAdd('d2', sig(3), 1, 1);
      assert.equal(await a.fuzzyDelete('d1', sig(2)), true);
      assert.equal(a.fuzzyAny(), true);
      await a.close();
      const b = new SqliteStore({ dataDir: dir });
      assert.equal(b.fuzzyAny(), true, 'counted when opened');
      assert.equal(await b.fuzzyDelete('d2', sig(3)), true);
      assert.equal(await b.fuzzyDelete('d2', sig(3)), false);
      assert.equal(b.fuzzyAny(), false, 'the same digest added twice counted once');
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
