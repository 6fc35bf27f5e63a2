import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { SqliteStore, DATABASE_FILE } from '../../src/stores/sqlite/sqlite-store.js';
import { SWEEP_SLICE } from '../../src/stores/sqlite/sweep.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What the embedded store does off the message path or in small pieces: the history
 * (gathered, written within a second), the checkpoints (on a timer, syncs off the event loop), expiry (a
 * slice at a time). All must still reach the database file.
 */

const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'bp-store-bg-'));

/** History rows a second connection sees (the server's reads would write what waits first). */
function historyRows(file: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare('SELECT entry FROM history ORDER BY id').all() as Array<{ entry: string }>).map((r) => r.entry);
  } finally {
    db.close();
  }
}

describe('sqlite store: history and checkpoints off the message path', () => {
  it('history reaches the database within about a second without any read, and the ring keeps its size', async () => {
    const dir = await tempDir();
    const store = new SqliteStore({ dataDir: dir });
    try {
      for (let i = 0; i < 5; i++) await store.historyPush(`{"n":${i}}`, 3);
      await sleep(1500);
      assert.deepEqual(historyRows(path.join(dir, DATABASE_FILE)), ['{"n":2}', '{"n":3}', '{"n":4}']);
    } finally {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a clean stop writes the history still waiting, and a read sees it at once', async () => {
    const dir = await tempDir();
    try {
      const a = new SqliteStore({ dataDir: dir });
      await a.historyPush('{"n":1}', 10);
      assert.deepEqual(await a.historyRead(5), ['{"n":1}'], 'a read includes what waits');
      await a.historyPush('{"n":2}', 10);
      await a.close();
      assert.deepEqual(historyRows(path.join(dir, DATABASE_FILE)), ['{"n":1}', '{"n":2}']);
      const b = new SqliteStore({ dataDir: dir });
      assert.deepEqual(await b.historyRead(5), ['{"n":2}', '{"n":1}']);
      await b.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('the timed checkpoints copy committed writes into the database file while the server runs', async () => {
    const dir = await tempDir();
    const store = new SqliteStore({ dataDir: dir });
    try {
      await store.bayesLearn('d1', ['alpha', 'beta'], 'spam');
      // Without a checkpoint the learn is only in the WAL: a copy of the main file alone lacks it.
      let copied = false;
      for (let i = 0; i < 30 && !copied; i++) {
        await sleep(200);
        const snapshot = path.join(dir, `copy-${i}.sqlite`);
        await fs.copyFile(path.join(dir, DATABASE_FILE), snapshot);
        const db = new DatabaseSync(snapshot);
        try {
          copied = (db.prepare("SELECT count(*) AS n FROM bayes_tokens WHERE token IN ('alpha', 'beta')").get() as { n: number }).n === 2;
        } catch {
          // The tables themselves are not in the main file yet.
        } finally {
          db.close();
        }
      }
      assert.ok(copied, 'the learn reached store.sqlite itself within 6 s');
    } finally {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('expiry deletes at most a slice per statement, and the timer works through a backlog part by part', async () => {
    const dir = await tempDir();
    let now = 1_000_000_000;
    const opts = { delay: 300, retryWindow: 60, passTtl: 60, autoAllowAfter: 0, autoAllowTtl: 60 };
    const entries = 2 * SWEEP_SLICE + 500;
    try {
      // Filled as a batch (no sync per call), then expired.
      const fill = new SqliteStore({ dataDir: dir, sync: 'on_close', now: () => now });
      for (let i = 0; i < entries; i++) await fill.greylistCheck('192.0.2.0/24', `s${i}@x.org|r@example.com`, opts);
      await fill.close();
      now += 3_600_000;
      const count = (): { n: number } => {
        const db = new DatabaseSync(path.join(dir, DATABASE_FILE), { readOnly: true });
        try {
          return db.prepare('SELECT count(*) AS n FROM greylist').get() as { n: number };
        } finally {
          db.close();
        }
      };

      const slow = new SqliteStore({ dataDir: dir, now: () => now, sweepInterval: 3_600_000 });
      slow.sweep();
      await slow.close();
      assert.equal(count().n, entries - SWEEP_SLICE, 'one sweep, one slice');

      const running = new SqliteStore({ dataDir: dir, now: () => now, sweepInterval: 10 });
      for (let i = 0; i < 100 && count().n > 0; i++) await sleep(20);
      await running.close();
      assert.equal(count().n, 0, 'the timer swept the rest');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('close() completes in a process with nothing else to do, and leaves no WAL behind', async () => {
    const dir = await tempDir();
    try {
      const module = pathToFileURL(path.resolve('src/stores/sqlite/sqlite-store.ts')).href;
      const code = `import { SqliteStore } from ${JSON.stringify(module)};
const s = new SqliteStore({ dataDir: ${JSON.stringify(dir)} });
await s.historyPush('{"n":1}', 10);
await s.close();
console.log('closed');`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 30_000 });
      assert.match(stdout, /closed/);
      // (Before anything else opens the database again.)
      assert.ok(!(await fs.readdir(dir)).includes(`${DATABASE_FILE}-wal`), 'the server connection closed last and removed the WAL');
      assert.deepEqual(historyRows(path.join(dir, DATABASE_FILE)), ['{"n":1}']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
