import type { StatementSync } from 'node:sqlite';
import type { HistoryPart } from '../types.js';
import type { Database } from './database.js';

/** The verdict history: a table used as a ring (rows past the newest `max` are deleted). */
export class SqliteHistory implements HistoryPart {
  private readonly push: StatementSync;
  private readonly trim: StatementSync;
  private readonly read: StatementSync;

  constructor(database: Database) {
    database.schema(['CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY, entry TEXT NOT NULL)']);
    const db = database.db;
    this.push = db.prepare('INSERT INTO history (entry) VALUES (?)');
    this.trim = db.prepare('DELETE FROM history WHERE id <= ?');
    this.read = db.prepare('SELECT entry FROM history ORDER BY id DESC LIMIT ?');
  }

  async historyPush(entry: string, max: number): Promise<void> {
    const id = Number(this.push.run(entry).lastInsertRowid);
    // Ids grow by one per entry, so everything at or below id - max is older than the newest max.
    this.trim.run(id - max);
  }

  async historyRead(limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return (this.read.all(limit) as Array<{ entry: string }>).map((r) => r.entry);
  }
}
