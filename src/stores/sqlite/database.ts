import { DatabaseSync } from 'node:sqlite';

/**
 * The embedded store's database: one SQLite file in WAL mode, opened by one writer process
 * (see writer-lock.ts) and any number of readers. Writes are single statements or short
 * transactions on this one connection, so each store method is atomic (JavaScript does not
 * interleave synchronous calls).
 *
 * Durability: with WAL and synchronous=NORMAL a committed transaction is in the WAL file the
 * moment the call returns, so it survives the process being killed; `durably` additionally
 * syncs the WAL to the disk before returning (synchronous=FULL for that commit), for writes a
 * client is told succeeded and that must also survive a power cut.
 */
export class Database {
  readonly db: DatabaseSync;
  readonly readOnly: boolean;

  constructor(file: string, options: { readOnly?: boolean } = {}) {
    this.readOnly = options.readOnly ?? false;
    this.db = new DatabaseSync(file, { readOnly: this.readOnly });
    // Wait briefly instead of failing when a checkpoint or another reader holds a lock.
    this.db.exec('PRAGMA busy_timeout = 2000');
    if (!this.readOnly) {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = NORMAL');
    }
    // Pages cached in this process count in its memory: a few MB are enough for the hot
    // Bayes tokens, the rest stays in the OS page cache (outside the process).
    this.db.exec('PRAGMA cache_size = -8000');
    this.db.exec('PRAGMA temp_store = MEMORY');
  }

  /** Run `fn` in one transaction; it commits when fn returns and rolls back when it throws. */
  transaction<T>(fn: () => T): T {
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

  /** Like transaction(), and the commit is on the disk (fsync) before this returns. */
  durably<T>(fn: () => T): T {
    // SQLite takes the safety level only outside a transaction.
    this.db.exec('PRAGMA synchronous = FULL');
    try {
      return this.transaction(fn);
    } finally {
      this.db.exec('PRAGMA synchronous = NORMAL');
    }
  }

  /** A part's tables: created when missing (each part owns its tables and nothing else). */
  schema(statements: readonly string[]): void {
    if (this.readOnly) return;
    for (const sql of statements) this.db.exec(sql);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
