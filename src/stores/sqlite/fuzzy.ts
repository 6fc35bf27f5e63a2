import type { StatementSync } from 'node:sqlite';
import type { FuzzyMatch, FuzzyPart } from '../types.js';
import type { Database } from './database.js';

/** Min-hashes per signature (checks/fuzzy/shingles.ts SHINGLES): the lookup has one branch per position. */
const POSITIONS = 32;

/**
 * Fuzzy signatures: one row per signature (flag, weight) and one per min-hash, indexed by
 * (position, value). A lookup is one statement: one indexed seek per position of the
 * message's signature, and the best candidate is the digest that turns up most often.
 * The number of stored signatures is kept in memory (this process is the only writer), so
 * a store holding none answers fuzzyAny() without a query.
 */
export class SqliteFuzzy implements FuzzyPart {
  private readonly upsert: StatementSync;
  private readonly exists: StatementSync;
  private readonly dropShingles: StatementSync;
  private readonly dropHash: StatementSync;
  private readonly addShingle: StatementSync;
  private readonly lookup: StatementSync;
  private count: number;

  constructor(private readonly database: Database) {
    database.schema([
      'CREATE TABLE IF NOT EXISTS fuzzy_hashes (digest TEXT PRIMARY KEY, flag INTEGER NOT NULL, weight REAL NOT NULL) WITHOUT ROWID',
      'CREATE TABLE IF NOT EXISTS fuzzy_shingles (pos INTEGER NOT NULL, value INTEGER NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (pos, value, digest)) WITHOUT ROWID',
      'CREATE INDEX IF NOT EXISTS fuzzy_shingles_digest ON fuzzy_shingles (digest)',
    ]);
    const db = database.db;
    this.upsert = db.prepare('INSERT INTO fuzzy_hashes (digest, flag, weight) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET flag = excluded.flag, weight = excluded.weight');
    this.exists = db.prepare('SELECT 1 FROM fuzzy_hashes WHERE digest = ?');
    this.dropShingles = db.prepare('DELETE FROM fuzzy_shingles WHERE digest = ?');
    this.dropHash = db.prepare('DELETE FROM fuzzy_hashes WHERE digest = ?');
    this.addShingle = db.prepare('INSERT OR IGNORE INTO fuzzy_shingles (pos, value, digest) VALUES (?, ?, ?)');
    // A min-hash shared by very many signatures says little; the limit per position bounds
    // the work. Among digests agreeing equally often, the one met first (lowest position,
    // then digest) wins, as reading the positions in order and counting would pick it.
    const branches = Array.from({ length: POSITIONS }, () => 'SELECT * FROM (SELECT pos, digest FROM fuzzy_shingles WHERE pos = ? AND value = ? LIMIT 1000)');
    this.lookup = db.prepare(
      `SELECT b.digest AS digest, b.n AS n, h.flag AS flag, h.weight AS weight FROM
       (SELECT digest, count(*) AS n, min(pos) AS first FROM (${branches.join(' UNION ALL ')}) GROUP BY digest ORDER BY n DESC, first, digest LIMIT 1) AS b
       LEFT JOIN fuzzy_hashes AS h ON h.digest = b.digest`,
    );
    this.count = Number((db.prepare('SELECT count(*) AS n FROM fuzzy_hashes').get() as { n: number }).n);
  }

  async fuzzyAdd(digest: string, shingles: readonly number[], flag: number, weight: number): Promise<void> {
    // The count changes once the write is committed.
    const added = this.database.durably(() => {
      const isNew = this.exists.get(digest) === undefined;
      this.upsert.run(digest, flag, weight);
      this.dropShingles.run(digest);
      shingles.forEach((value, pos) => this.addShingle.run(pos, value, digest));
      return isNew;
    });
    if (added) this.count++;
  }

  async fuzzyDelete(digest: string, _shingles: readonly number[]): Promise<boolean> {
    const deleted = this.database.durably(() => {
      this.dropShingles.run(digest);
      return Number(this.dropHash.run(digest).changes) > 0;
    });
    if (deleted) this.count--;
    return deleted;
  }

  fuzzyAny(): boolean {
    return this.count > 0;
  }

  async fuzzyFind(shingles: readonly number[], minMatched: number): Promise<FuzzyMatch | null> {
    if (shingles.length !== POSITIONS) throw new Error(`a fuzzy signature has ${POSITIONS} min-hashes, not ${shingles.length}`);
    const args: number[] = [];
    for (let pos = 0; pos < POSITIONS; pos++) args.push(pos, shingles[pos] as number);
    const row = this.lookup.get(...args) as { digest: string; n: number; flag: number | null; weight: number | null } | undefined;
    if (!row || row.n < minMatched || row.flag === null || row.weight === null) return null;
    return { digest: row.digest, flag: row.flag, weight: row.weight, matched: row.n };
  }
}
