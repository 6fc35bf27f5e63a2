import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCheckpointer, type Checkpointer, type CheckpointerOptions, type SyncFile } from '../../src/stores/sqlite/checkpointer.js';

/**
 * The timed checkpoints' ordering, on a real SQLite file: what a round copies is on the disk
 * in the WAL first, and the WAL is not reused before the copy is on the disk. The disk syncs
 * are held open by the test to look at the files in between.
 */

interface Gate {
  wait: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** A sync that records each file it is asked for and waits at a gate set for that kind of file. */
function heldSync(): { sync: SyncFile; calls: string[]; hold: Map<'wal' | 'db', Gate> } {
  const calls: string[] = [];
  const hold = new Map<'wal' | 'db', Gate>();
  const sync: SyncFile = async (file) => {
    const kind = file.endsWith('-wal') ? 'wal' : 'db';
    calls.push(kind);
    await hold.get(kind)?.wait;
  };
  return { sync, calls, hold };
}

async function until(what: string, test: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !test(); i++) await sleep(20);
  assert.ok(test(), `timed out waiting for ${what}`);
}

/** The server's side: WAL, no automatic checkpoints, commits that sync nothing. */
function serverConnection(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = OFF');
  db.exec('CREATE TABLE t (v TEXT); CREATE TABLE u (v TEXT)');
  return db;
}
const insert = (db: DatabaseSync, v: string, table: 't' | 'u' = 't') => db.prepare(`INSERT INTO ${table} (v) VALUES (?)`).run(v);

/** Rows in the database file alone (a copy without its WAL): what checkpoints have written there. */
async function rowsInMainFile(file: string, table: 't' | 'u' = 't'): Promise<string[]> {
  const copy = `${file}.copy-${Math.random().toString(36).slice(2)}`;
  await fs.copyFile(file, copy);
  const db = new DatabaseSync(copy);
  try {
    return (db.prepare(`SELECT v FROM ${table} ORDER BY rowid`).all() as Array<{ v: string }>).map((r) => r.v);
  } catch {
    return [];
  } finally {
    db.close();
  }
}

/** The WAL header's checkpoint sequence and salts: they change when SQLite starts the WAL over. */
async function walGeneration(file: string): Promise<string> {
  const header = await fs.readFile(`${file}-wal`);
  return header.subarray(12, 24).toString('hex');
}

type Start = (options: Pick<CheckpointerOptions, 'onFailure' | 'syncFile'>) => Checkpointer;

/** `run` on a fresh server connection, with a way to start checkpoints on it (20 ms rounds); all stopped, closed and removed after. */
async function onServerDatabase(run: (db: DatabaseSync, file: string, start: Start) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-ckpt-'));
  const file = path.join(dir, 'store.sqlite');
  const db = serverConnection(file);
  const started: Checkpointer[] = [];
  try {
    await run(db, file, (options) => {
      const checkpointer = startCheckpointer({ db, file, intervalMs: 20, ...options });
      started.push(checkpointer);
      return checkpointer;
    });
  } finally {
    for (const checkpointer of started) await checkpointer.stop();
    db.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('sqlite timed checkpoints', () => {
  it('copy only frames already synced in the WAL, and keep the WAL until the copy is synced', () =>
    onServerDatabase(async (db, file, start) => {
      const { sync, calls, hold } = heldSync();
      const walHeld = gate();
      hold.set('wal', walHeld);
      start({ onFailure: (r) => assert.fail(r), syncFile: sync });
      try {
        const sizeBefore = (await fs.stat(file)).size;
        insert(db, 'a');
        await until('the round to sync the WAL', () => calls.includes('wal'));
        // Committed after the round pinned its frames (to a page of its own): not this round's to copy.
        insert(db, 'b', 'u');
        const dbHeld = gate();
        hold.set('db', dbHeld);
        walHeld.open();
        await until('the round to sync the database file', () => calls.includes('db'));
        assert.deepEqual(calls, ['wal', 'db'], 'the WAL was synced before the copy, the database file after');
        assert.ok((await fs.stat(file)).size > sizeBefore, 'the round copied pages into the database file');
        // The round's pin is still held: no checkpoint copies past the frames it pinned.
        const probe = new DatabaseSync(file);
        const r = probe.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number; checkpointed: number };
        probe.close();
        assert.ok(r.checkpointed < r.log, `checkpointed ${r.checkpointed} of ${r.log} frames: b stays in the WAL only`);
        dbHeld.open();

        // A round that copies everything, held before its database sync: no commit may start the WAL over.
        hold.clear();
        calls.length = 0;
        await until('a round that copies b', () => calls.includes('db'));
        const held = gate();
        hold.set('db', held);
        insert(db, 'c');
        calls.length = 0;
        await until('the round for c to reach its database sync', () => calls.includes('db'));
        const generation = await walGeneration(file);
        insert(db, 'd');
        assert.equal(await walGeneration(file), generation, 'the WAL was not reused while the copy was unsynced');
        held.open();

        // Once the round is over, a later one copies d, and a commit after that starts the WAL over.
        hold.clear();
        let restarted = false;
        for (let i = 0; i < 50 && !restarted; i++) {
          await sleep(40);
          insert(db, `f${i}`);
          restarted = (await walGeneration(file)) !== generation;
        }
        assert.ok(restarted, 'the WAL is reused once nothing pins it');
        assert.deepEqual((await rowsInMainFile(file)).slice(0, 3), ['a', 'c', 'd']);
        assert.deepEqual(await rowsInMainFile(file, 'u'), ['b']);
      } finally {
        // No round left waiting at a gate (an assertion failed before it opened) when the checkpoints stop.
        for (const held of hold.values()) held.open();
        hold.clear();
      }
    }));

  it('does nothing while nothing is committed', () =>
    onServerDatabase(async (db, _file, start) => {
      const { sync, calls } = heldSync();
      start({ onFailure: (r) => assert.fail(r), syncFile: sync });
      insert(db, 'a');
      await until('a round', () => calls.length === 2);
      await sleep(300);
      assert.equal(calls.length, 2, 'no sync without a commit');
      insert(db, 'b');
      await until('the next round', () => calls.length === 4);
    }));

  it('gives the checkpoints back once they keep failing, and says so once', () =>
    onServerDatabase(async (db, _file, start) => {
      const reasons: string[] = [];
      let attempts = 0;
      start({
        onFailure: (r) => reasons.push(r),
        syncFile: async () => {
          attempts++;
          throw new Error('EIO: i/o error, fdatasync');
        },
      });
      insert(db, 'a');
      await until('the failure report', () => reasons.length > 0);
      await sleep(200);
      assert.deepEqual(reasons, ['EIO: i/o error, fdatasync']);
      assert.equal(attempts, 3, 'three rounds, then no more');
      // The pin is gone: the server's connection can checkpoint everything itself.
      const r = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number };
      assert.equal(r.busy, 0);
    }));
});
