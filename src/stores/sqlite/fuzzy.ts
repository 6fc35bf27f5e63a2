import type { StatementSync } from 'node:sqlite';
import type { FuzzyMatch, FuzzyPart } from '../types.js';
import type { Database } from './database.js';

/**
 * Fuzzy signatures: one row per signature (flag, weight) and one per min-hash, indexed by
 * (position, value), so a lookup is one indexed query per position of the message's
 * signature and the best candidate is the digest that turns up most often.
 */
export class SqliteFuzzy implements FuzzyPart {
  private readonly upsert: StatementSync;
  private readonly dropShingles: StatementSync;
  private readonly dropHash: StatementSync;
  private readonly addShingle: StatementSync;
  private readonly lookup: StatementSync;
  private readonly entry: StatementSync;

  constructor(private readonly database: Database) {
    database.schema([
      'CREATE TABLE IF NOT EXISTS fuzzy_hashes (digest TEXT PRIMARY KEY, flag INTEGER NOT NULL, weight REAL NOT NULL) WITHOUT ROWID',
      'CREATE TABLE IF NOT EXISTS fuzzy_shingles (pos INTEGER NOT NULL, value INTEGER NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (pos, value, digest)) WITHOUT ROWID',
      'CREATE INDEX IF NOT EXISTS fuzzy_shingles_digest ON fuzzy_shingles (digest)',
    ]);
    const db = database.db;
    this.upsert = db.prepare('INSERT INTO fuzzy_hashes (digest, flag, weight) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET flag = excluded.flag, weight = excluded.weight');
    this.dropShingles = db.prepare('DELETE FROM fuzzy_shingles WHERE digest = ?');
    this.dropHash = db.prepare('DELETE FROM fuzzy_hashes WHERE digest = ?');
    this.addShingle = db.prepare('INSERT OR IGNORE INTO fuzzy_shingles (pos, value, digest) VALUES (?, ?, ?)');
    // A min-hash shared by very many signatures says little; the limit bounds the work.
    this.lookup = db.prepare('SELECT digest FROM fuzzy_shingles WHERE pos = ? AND value = ? LIMIT 1000');
    this.entry = db.prepare('SELECT flag, weight FROM fuzzy_hashes WHERE digest = ?');
  }

  async fuzzyAdd(digest: string, shingles: readonly number[], flag: number, weight: number): Promise<void> {
    this.database.durably(() => {
      this.upsert.run(digest, flag, weight);
      this.dropShingles.run(digest);
      shingles.forEach((value, pos) => this.addShingle.run(pos, value, digest));
    });
  }

  async fuzzyDelete(digest: string, _shingles: readonly number[]): Promise<boolean> {
    return this.database.durably(() => {
      this.dropShingles.run(digest);
      return Number(this.dropHash.run(digest).changes) > 0;
    });
  }

  async fuzzyFind(shingles: readonly number[], minMatched: number): Promise<FuzzyMatch | null> {
    const counts = new Map<string, number>();
    shingles.forEach((value, pos) => {
      for (const row of this.lookup.all(pos, value) as Array<{ digest: string }>) counts.set(row.digest, (counts.get(row.digest) ?? 0) + 1);
    });
    let best: string | null = null;
    let matched = 0;
    for (const [digest, n] of counts) {
      if (n > matched) {
        best = digest;
        matched = n;
      }
    }
    if (!best || matched < minMatched) return null;
    const row = this.entry.get(best) as { flag: number; weight: number } | undefined;
    return row ? { digest: best, flag: row.flag, weight: row.weight, matched } : null;
  }
}
