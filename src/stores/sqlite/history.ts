import type { StatementSync } from 'node:sqlite';
import type { HistoryPart } from '../types.js';
import type { Database } from './database.js';

/** Longest an entry waits in memory before it is written. */
const FLUSH_MS = 1000;
/** Entries that are written at once without waiting for the timer. */
const FLUSH_ENTRIES = 200;

/**
 * The verdict history: a table used as a ring (rows past the newest `max` are deleted).
 *
 * Entries are gathered in memory and written together, one transaction at most every
 * FLUSH_MS (or FLUSH_ENTRIES entries), never on the message's own path: a commit per
 * message costs every message two WAL commits and makes the WAL, and so the checkpoints
 * that pause the server, grow by pages per message. The history is a record, not mail: a
 * process killed with `kill -9` loses at most the last second of it; a clean stop (close)
 * and every read write what is waiting first.
 */
export class SqliteHistory implements HistoryPart {
  private readonly push: StatementSync;
  private readonly trim: StatementSync;
  private readonly read: StatementSync;
  private pending: string[] = [];
  /** The smallest `max` asked for since the last write (the ring's size is the policy's). */
  private pendingMax = Number.MAX_SAFE_INTEGER;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly database: Database,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    database.schema(['CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY, entry TEXT NOT NULL)']);
    const db = database.db;
    this.push = db.prepare('INSERT INTO history (entry) VALUES (?)');
    this.trim = db.prepare('DELETE FROM history WHERE id <= ?');
    this.read = db.prepare('SELECT entry FROM history ORDER BY id DESC LIMIT ?');
  }

  async historyPush(entry: string, max: number): Promise<void> {
    this.pending.push(entry);
    this.pendingMax = Math.min(this.pendingMax, max);
    if (this.pending.length >= FLUSH_ENTRIES) {
      // Later than this message's own reply, still without waiting for the timer.
      setImmediate(() => this.flushQuietly());
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flushQuietly(), FLUSH_MS);
      this.timer.unref();
    }
  }

  async historyRead(limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    this.flush();
    return (this.read.all(limit) as Array<{ entry: string }>).map((r) => r.entry);
  }

  /** Write what is waiting, in one transaction (also from the old snapshot's import, inside its own). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const entries = this.pending;
    const max = this.pendingMax;
    this.pending = [];
    this.pendingMax = Number.MAX_SAFE_INTEGER;
    const write = () => {
      let id = 0;
      for (const e of entries) id = Number(this.push.run(e).lastInsertRowid);
      // Ids grow by one per entry, so everything at or below id - max is older than the
      // newest max; below max entries there is nothing to delete (and no statement to run).
      if (id > max) this.trim.run(id - max);
    };
    if (this.database.db.isTransaction) write();
    else this.database.transaction(write);
  }

  /** Before the database closes: what is waiting is written (a failure is reported, not thrown). */
  close(): void {
    this.flushQuietly();
  }

  private flushQuietly(): void {
    if (!this.database.db.isOpen) return;
    try {
      this.flush();
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
