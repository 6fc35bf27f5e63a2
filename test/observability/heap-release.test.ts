import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { startHeapRelease } from '../../src/observability/heap-release.js';

const rssAnonMb = () => Number(/RssAnon:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

/** A burst: the old generation grows to hold `live` batches of objects, then is churned down to a few, so a full collection shrinks it. */
async function burst(live: number): Promise<void> {
  let keep: unknown[][] = [];
  const batch = () => Array.from({ length: 10_000 }, (_v, j) => ({ j, s: `k${j}` }));
  for (let i = 0; i < 100; i++) {
    keep.push(batch());
    if (keep.length > live) keep.shift();
    await tick();
  }
  keep = [];
  for (let i = 0; i < 80; i++) {
    keep.push(batch());
    if (keep.length > 3) keep.shift();
    await tick();
  }
}

describe('heap release after a burst', () => {
  it('returns the pages a shrunken heap left pooled once the process is quiet', async () => {
    const releases: Array<{ beforeBytes: number; afterBytes: number }> = [];
    const watch = startHeapRelease({ intervalMs: 20, minReleaseBytes: 8e6, onRelease: (r) => releases.push(r) });
    try {
      await burst(60);
      const before = rssAnonMb();
      await sleep(600);
      assert.equal(releases.length, 1, 'one release for one burst');
      assert.ok(releases[0]!.afterBytes < releases[0]!.beforeBytes);
      const after = rssAnonMb();
      assert.ok(after < before - 20, `RSS ${before.toFixed(0)} MB -> ${after.toFixed(0)} MB`);
      // The collection function stays private to the watch.
      assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
    } finally {
      watch.stop();
    }
  });

  it('gives back a heap that grew and stayed grown, but only once the process has been quiet for settleMs', async () => {
    const releases: Array<{ beforeBytes: number; afterBytes: number }> = [];
    const watch = startHeapRelease({ intervalMs: 20, minReleaseBytes: 8e6, settleMs: 600, onRelease: (r) => releases.push(r) });
    try {
      // Messages in flight, all alive while the burst lasts; then the burst ends and the
      // process allocates nothing more, so V8 has no reason to collect: the heap stays at its
      // peak, with nothing shrunk for the quick release to return.
      let inFlight: unknown[][] = [];
      for (let i = 0; i < 60; i++) {
        inFlight.push(Array.from({ length: 10_000 }, (_v, j) => ({ j, s: `m${i}-${j}` })));
        await tick();
      }
      inFlight = [];
      await sleep(250);
      assert.equal(releases.length, 0, 'not after a short quiet');
      await sleep(900);
      assert.equal(releases.length, 1, 'one release after the long quiet');
      const { beforeBytes, afterBytes } = releases[0]!;
      assert.ok(afterBytes < beforeBytes - 20e6, `committed heap ${(beforeBytes / 1e6).toFixed(0)} MB -> ${(afterBytes / 1e6).toFixed(0)} MB`);
    } finally {
      watch.stop();
    }
  });

  it('releases nothing while the process is busy', async () => {
    const releases: unknown[] = [];
    const watch = startHeapRelease({ intervalMs: 20, minReleaseBytes: 8e6, onRelease: (r) => releases.push(r) });
    try {
      await burst(60);
      // Busy: most of every interval spent computing, as under mail.
      const until = performance.now() + 500;
      let x = 0;
      while (performance.now() < until) {
        const stop = performance.now() + 15;
        while (performance.now() < stop) x += Math.sqrt(x + 1);
        await tick();
      }
      assert.ok(x > 0);
      assert.deepEqual(releases, []);
    } finally {
      watch.stop();
    }
  });
});
