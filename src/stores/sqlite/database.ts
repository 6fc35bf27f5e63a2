import { DatabaseSync } from 'node:sqlite';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';

/**
 * The embedded store's database: one SQLite file in WAL mode, opened by one writer process
 * (see writer-lock.ts) and any number of readers. Writes are single statements or short
 * transactions on this one connection, so each store method is atomic (JavaScript does not
 * interleave synchronous calls).
 *
 * Durability: in WAL mode a committed transaction is in the WAL file the moment the call
 * returns, so it survives the process being killed; `durably` additionally syncs the WAL to
 * the disk before returning (synchronous=FULL for that commit), for writes a client is told
 * succeeded and that must also survive a power cut.
 *
 * The server's other commits sync nothing (synchronous=OFF) while the checkpoints run on
 * their timer (checkpointer.ts): with NORMAL, the first commit after each checkpoint syncs
 * the restarted WAL's header, an fsync on the event loop once a second. Nothing is weaker
 * for it: each checkpoint syncs the WAL before copying it and the database file after, and
 * keeps the WAL from being reused until then, so a power cut loses at most the last
 * unsynced commits, as with NORMAL. If the checkpoints keep failing the connection goes
 * back to NORMAL and to checkpointing in its commits.
 */
const BATCH_CALLS = 200;
const BATCH_MS = 2000;
/** How often the WAL is copied into the database file. */
const CHECKPOINT_MS = 1000;

export class Database {
  readonly db: DatabaseSync;
  readonly readOnly: boolean;

  /** 'each': durably() syncs every commit; 'on_close': only close() does (a bulk `learn` that reports at the end). */
  readonly sync: 'each' | 'on_close';

  private readonly checkpointer: Checkpointer | null = null;
  /** The safety level of commits that need no sync (durably() raises it for its own). */
  private level: 'OFF' | 'NORMAL' = 'NORMAL';

  constructor(file: string, options: { readOnly?: boolean; sync?: 'each' | 'on_close'; onCheckpointFailure?: (reason: string) => void } = {}) {
    this.readOnly = options.readOnly ?? false;
    this.sync = options.sync ?? 'each';
    this.db = new DatabaseSync(file, { readOnly: this.readOnly });
    // Wait briefly instead of failing when a checkpoint or another reader holds a lock.
    this.db.exec('PRAGMA busy_timeout = 2000');
    if (!this.readOnly) {
      this.db.exec('PRAGMA journal_mode = WAL');
      // A batch syncs nothing until close() (a crash of the process still loses no committed
      // write; only a power cut during the batch could), the server every acknowledged write.
      if (this.sync === 'on_close') this.level = 'OFF';
      // The server checkpoints on a timer with the syncs off the event loop (checkpointer.ts), never in its commits.
      if (this.sync === 'each' && file !== ':memory:') {
        this.db.exec('PRAGMA wal_autocheckpoint = 0');
        this.level = 'OFF';
        this.checkpointer = startCheckpointer({
          db: this.db,
          file,
          intervalMs: CHECKPOINT_MS,
          onFailure: (reason) => {
            // Back to SQLite's own (synced) checkpoints in the commits: slower answers, a bounded WAL.
            // Called from a callback, so never inside a transaction, where SQLite ignores the level.
            this.level = 'NORMAL';
            if (this.db.isOpen) this.db.exec('PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 1000');
            options.onCheckpointFailure?.(reason);
          },
        });
      }
      this.db.exec(`PRAGMA synchronous = ${this.level}`);
    }
    // Pages cached in this process count in its memory, the rest stays in the OS page cache
    // (outside it). The writer reads Bayes counts from its in-memory index, so what passes
    // through here is history, greylist and learn writes: SQLite's default 2 MB serves them
    // as well as 8 MB did (learning 3,000 messages took as long), and a trained server held
    // 10-15 MB less after a burst.
    this.db.exec('PRAGMA cache_size = -2000');
    this.db.exec('PRAGMA temp_store = MEMORY');
  }

  /** Run `fn` in one transaction; it commits when fn returns and rolls back when it throws. */
  transaction<T>(fn: () => T): T {
    if (this.sync === 'on_close') return this.batched(fn);
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private batchedSince = 0;
  private batchedCount = 0;

  /**
   * A batch (`learn` of a directory) commits many calls at once: a learn touches hundreds of
   * scattered pages, and committing each would write them all to the WAL again every time.
   * Each call is still all-or-nothing (a savepoint); the batch commits every BATCH_CALLS
   * calls or BATCH_MS, and at close.
   */
  private batched<T>(fn: () => T): T {
    if (!this.db.isTransaction) {
      this.db.exec('BEGIN IMMEDIATE');
      this.batchedSince = Date.now();
      this.batchedCount = 0;
    }
    this.db.exec('SAVEPOINT one_call');
    let out: T;
    try {
      out = fn();
      this.db.exec('RELEASE one_call');
    } catch (err) {
      this.db.exec('ROLLBACK TO one_call');
      this.db.exec('RELEASE one_call');
      throw err;
    }
    if (++this.batchedCount >= BATCH_CALLS || Date.now() - this.batchedSince >= BATCH_MS) this.db.exec('COMMIT');
    return out;
  }

  /** Like transaction(), and the commit is on the disk (fsync) before this returns. */
  durably<T>(fn: () => T): T {
    if (this.sync === 'on_close') return this.transaction(fn);
    // SQLite takes the safety level only outside a transaction.
    this.db.exec('PRAGMA synchronous = FULL');
    try {
      return this.transaction(fn);
    } finally {
      this.db.exec(`PRAGMA synchronous = ${this.level}`);
    }
  }

  /** A part's tables: created when missing (each part owns its tables and nothing else). */
  schema(statements: readonly string[]): void {
    if (this.readOnly) return;
    for (const sql of statements) this.db.exec(sql);
  }

  /** Before close(): stops the timed checkpoints and waits for a round's disk sync in flight (close() alone does not wait). */
  async stopCheckpoints(): Promise<void> {
    await this.checkpointer?.stop();
  }

  /** Copy the WAL into the database file and sync it, then close. */
  close(): void {
    if (!this.db.isOpen) return;
    void this.checkpointer?.stop();
    if (!this.readOnly) {
      if (this.db.isTransaction) this.db.exec('COMMIT');
      this.db.exec('PRAGMA synchronous = FULL');
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    }
    this.db.close();
  }
}
