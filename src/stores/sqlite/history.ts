import type { StatementSync } from 'node:sqlite';
import type { HistoryPart } from '../types.js';
import type { Database } from './database.js';

/** The verdict history: a table used as a ring (rows past the newest `max` are deleted). */
export class SqliteHistory implements HistoryPart {
  private readonly push: StatementSync;
  private readonly trim: StatementSync;
  private readonly read: StatementSync;
  /** The newest id written through this object (0 until the first push). */
  private lastId = 0;

  constructor(private readonly database: Database) {
    database.schema(['CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY, entry TEXT NOT NULL)']);
    const db = database.db;
    this.push = db.prepare('INSERT INTO history (entry) VALUES (?)');
    this.trim = db.prepare('DELETE FROM history WHERE id <= ?');
    this.read = db.prepare('SELECT entry FROM history ORDER BY id DESC LIMIT ?');
  }

  async historyPush(entry: string, max: number): Promise<void> {
    const write = (): void => {
      const id = Number(this.push.run(entry).lastInsertRowid);
      this.lastId = id;
      // Ids grow by one per entry, so everything at or below id - max is older than the
      // newest max; below max entries there is nothing to delete (and no statement to run).
      if (id > max) this.trim.run(id - max);
    };
    // A full ring (the usual state of a running server) inserts and deletes: one commit
    // for both instead of one each.
    if (this.lastId >= max) this.database.transaction(write);
    else write();
  }

  async historyRead(limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return (this.read.all(limit) as Array<{ entry: string }>).map((r) => r.entry);
  }
}
