import type { StatementSync } from 'node:sqlite';
import type { ReplyPart } from '../types.js';
import type { Database } from './database.js';
import { SWEEP_SLICE } from './sweep.js';

/** Message-IDs our users sent, each until its expiry (milliseconds since the epoch). */
export class SqliteReplies implements ReplyPart {
  private readonly upsert: StatementSync;
  private readonly lookup: StatementSync;
  private readonly sweepExpired: StatementSync;

  constructor(
    private readonly database: Database,
    private readonly now: () => number,
  ) {
    database.schema([
      'CREATE TABLE IF NOT EXISTS replies (id TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID',
      'CREATE INDEX IF NOT EXISTS replies_expires ON replies (expires)',
    ]);
    const db = database.db;
    this.upsert = db.prepare('INSERT INTO replies (id, expires) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires = max(expires, excluded.expires)');
    this.lookup = db.prepare('SELECT 1 FROM replies WHERE id = ? AND expires > ?');
    this.sweepExpired = db.prepare(`DELETE FROM replies WHERE id IN (SELECT id FROM replies WHERE expires <= ? LIMIT ${SWEEP_SLICE})`);
  }

  async replyRemember(ids: readonly string[], ttlSeconds: number): Promise<void> {
    const expires = this.now() + ttlSeconds * 1000;
    this.database.transaction(() => {
      for (const id of ids) this.upsert.run(id, expires);
    });
  }

  async replyKnown(ids: readonly string[]): Promise<boolean[]> {
    const now = this.now();
    return ids.map((id) => this.lookup.get(id, now) !== undefined);
  }

  sweep(): void {
    this.sweepExpired.run(this.now());
  }
}
