import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MemoryStore } from '../../src/stores/memory/memory-store.js';
import { SNAPSHOT_FILE } from '../../src/stores/memory/snapshot.js';
import { Metrics } from '../../src/observability/metrics.js';
import { storeContract } from './contract.js';

storeContract('memory', async () => {
  const store = new MemoryStore();
  return { store, close: () => store.close() };
});

const opts = { delay: 300, retryWindow: 3600, passTtl: 3600, autoAllowAfter: 0, autoAllowTtl: 3600 };
const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'bp-store-'));

describe('memory store persistence', () => {
  it('keeps greylist, counters, Bayes and history across a restart', async () => {
    const dir = await tempDir();
    try {
      const a = new MemoryStore({ dataDir: dir });
      await a.ready();
      await a.greylistCheck('192.0.2.0/24', 's@x.org|r@example.com', opts);
      await a.counterIncrement('k', 3600);
      await a.bayesLearn('d1', ['viagra', 'cheap'], 'spam');
      await a.historyPush('{"n":1}', 10);
      await a.close();

      const b = new MemoryStore({ dataDir: dir });
      await b.ready();
      assert.equal((await b.greylistCheck('192.0.2.0/24', 's@x.org|r@example.com', opts)).state, 'early');
      assert.equal(await b.counterGet('k'), 1);
      assert.deepEqual(await b.bayesGetTokens(['viagra']), [{ spam: 1, ham: 0 }]);
      assert.deepEqual(await b.bayesTotals(), { spam: 1, ham: 0 });
      assert.equal(await b.bayesLearn('d1', ['viagra'], 'spam'), 'already_learned');
      assert.deepEqual(await b.historyRead(5), ['{"n":1}']);
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('writes atomically (no temp file left) and drops entries that expired while stopped', async () => {
    const dir = await tempDir();
    let now = 1_000_000;
    try {
      const a = new MemoryStore({ dataDir: dir, now: () => now });
      await a.ready();
      await a.greylistCheck('192.0.2.0/24', 'short', { ...opts, retryWindow: 10 });
      await a.greylistCheck('192.0.2.0/24', 'long', opts);
      await a.close();
      assert.deepEqual((await fs.readdir(dir)).sort(), [SNAPSHOT_FILE]);
      now += 60_000;
      const b = new MemoryStore({ dataDir: dir, now: () => now });
      await b.ready();
      assert.deepEqual((await b.greylistList('', 10)).map((e) => e.key), ['192.0.2.0/24|long']);
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('skips a damaged line and refuses a file that is not a snapshot', async () => {
    const dir = await tempDir();
    try {
      const a = new MemoryStore({ dataDir: dir });
      await a.ready();
      await a.counterIncrement('x', 3600);
      await a.counterIncrement('y', 3600);
      await a.close();
      const file = path.join(dir, SNAPSHOT_FILE);
      const lines = (await fs.readFile(file, 'utf8')).split('\n');
      lines[1] = '["c", broken';
      await fs.writeFile(file, lines.join('\n'));
      const b = new MemoryStore({ dataDir: dir });
      await b.ready();
      assert.equal((await b.counterGet('x')) + (await b.counterGet('y')), 1);
      await b.close();
      await fs.writeFile(file, 'hello\n');
      await assert.rejects(new MemoryStore({ dataDir: dir }).ready(), /not a Borderpatrol store snapshot/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('snapshots on its interval only when something changed', async () => {
    const dir = await tempDir();
    try {
      const a = new MemoryStore({ dataDir: dir, snapshotInterval: 50 });
      await a.ready();
      await a.counterIncrement('z', 3600);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !(await fs.stat(path.join(dir, SNAPSHOT_FILE)).catch(() => null))) await new Promise((r) => setTimeout(r, 20));
      const first = await fs.stat(path.join(dir, SNAPSHOT_FILE));
      await new Promise((r) => setTimeout(r, 200));
      const second = await fs.stat(path.join(dir, SNAPSHOT_FILE));
      assert.equal(second.mtimeMs, first.mtimeMs, 'unchanged state is not rewritten');
      await a.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('counts a snapshot it cannot write as a store error and keeps serving', async () => {
    const dir = await tempDir();
    try {
      const blocker = path.join(dir, 'file');
      await fs.writeFile(blocker, '');
      const metrics = new Metrics({ defaults: false });
      const a = new MemoryStore({ dataDir: path.join(blocker, 'sub'), metrics });
      await a.ready();
      await a.counterIncrement('k', 60);
      await a.close();
      const m = await metrics.storeErrors.get();
      assert.equal(m.values.find((v) => v.labels.operation === 'snapshot')?.value, 1);
      assert.equal(await a.counterGet('k'), 1);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('memory store bounds', () => {
  it('evicts the oldest greylist entries past the cap', async () => {
    const s = new MemoryStore({ limits: { greylist: 100 } });
    for (let i = 0; i < 250; i++) await s.greylistCheck('192.0.2.0/24', `s${i}`, opts);
    const all = await s.greylistList('', 1000);
    assert.ok(all.length <= 100, `${all.length} entries`);
    assert.ok(all.some((e) => e.key.endsWith('|s249')), 'the newest entry is kept');
    assert.ok(!all.some((e) => e.key.endsWith('|s0')), 'the oldest entry is gone');
  });

  it('drops the rarest Bayes tokens past the cap', async () => {
    const s = new MemoryStore({ limits: { tokens: 100 } });
    for (let i = 0; i < 5; i++) await s.bayesLearn(`common${i}`, ['frequent'], 'spam');
    for (let i = 0; i < 200; i++) await s.bayesLearn(`rare${i}`, [`rare${i}`], 'spam');
    assert.deepEqual(await s.bayesGetTokens(['frequent']), [{ spam: 5, ham: 0 }]);
    const rare = await s.bayesGetTokens(Array.from({ length: 200 }, (_v, i) => `rare${i}`));
    assert.ok(rare.filter((c) => c.spam > 0).length <= 100);
  });

  it('sweeps expired entries', async () => {
    let now = 0;
    const s = new MemoryStore({ now: () => now });
    await s.greylistCheck('192.0.2.0/24', 'a', { ...opts, retryWindow: 1 });
    await s.counterIncrement('c', 1);
    now = 5000;
    s.sweep();
    assert.deepEqual(await s.greylistList('', 10), []);
    assert.equal(await s.counterGet('c'), 0);
  });
});
