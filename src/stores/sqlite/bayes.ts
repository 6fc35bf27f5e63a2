import type { StatementSync } from 'node:sqlite';
import { DEFAULT_BAYES_RETENTION, type BayesClass, type BayesPart, type BayesRetention, type BayesTokenCounts, type LearnResult } from '../types.js';
import type { Database } from './database.js';
import { BayesIndex } from './bayes-index.js';
import { loadIndex } from './bayes-index-load.js';

const DAY = 86_400_000;
/** Tokens per read statement (SQLite allows 32,766 parameters). */
const READ_BATCH = 250;

/**
 * Bayes token counts, the learned messages' digests and the totals, in the database. The
 * writer also holds the counts in a compact index (bayes-index.ts, 12 bytes a slot: about
 * 7 MB for 360,000 tokens) that scoring reads, since looking hundreds of tokens up in
 * SQLite per message cost more than the rest of the classifier; a read-only open (scan
 * beside a running server) reads the database. `seen` is the day (since the epoch) a token
 * or digest was last learned: expiry drops what has not been learned for bayes.expire_days.
 */
export class SqliteBayes implements BayesPart {
  private readonly read: StatementSync;
  private readonly add: StatementSync;
  private readonly insert: StatementSync;
  private readonly subtract: StatementSync;
  private readonly learnedClass: StatementSync;
  private readonly remember: StatementSync;
  private readonly totalsRead: StatementSync;
  private readonly totalsAdd: StatementSync;
  /** Tokens stored, kept here so the cap needs no count(*) over the table. */
  private tokenCount = 0;
  /**
   * The writer's copy of the token counts and totals that scoring reads (see bayes-index.ts);
   * null in a read-only open, which reads the database (another process writes it).
   */
  private readonly index: BayesIndex | null;
  private totals: BayesTokenCounts = { spam: 0, ham: 0 };
  /** Set when a write went around the index (an import): it is loaded again before its next use. */
  private stale = false;
  private loadMs = 0;

  constructor(
    private readonly database: Database,
    private readonly now: () => number,
  ) {
    database.schema([
      'CREATE TABLE IF NOT EXISTS bayes_tokens (token TEXT PRIMARY KEY, spam INTEGER NOT NULL, ham INTEGER NOT NULL, seen INTEGER NOT NULL) WITHOUT ROWID',
      'CREATE INDEX IF NOT EXISTS bayes_tokens_seen ON bayes_tokens (seen)',
      'CREATE TABLE IF NOT EXISTS bayes_learned (digest TEXT PRIMARY KEY, class TEXT NOT NULL, seen INTEGER NOT NULL) WITHOUT ROWID',
      'CREATE INDEX IF NOT EXISTS bayes_learned_seen ON bayes_learned (seen)',
      "CREATE TABLE IF NOT EXISTS bayes_totals (class TEXT PRIMARY KEY, messages INTEGER NOT NULL) WITHOUT ROWID",
    ]);
    const db = database.db;
    // A message's tokens are read READ_BATCH at a time with one IN (…) list: measured faster
    // than a lookup per token (each call into SQLite has its cost) and than a json_each join.
    this.read = db.prepare(`SELECT token, spam, ham FROM bayes_tokens WHERE token IN (${Array<string>(READ_BATCH).fill('?').join(',')})`);
    this.read.setReturnArrays(true);
    this.add = db.prepare('UPDATE bayes_tokens SET spam = spam + ?, ham = ham + ?, seen = ? WHERE token = ?');
    this.insert = db.prepare('INSERT INTO bayes_tokens (token, spam, ham, seen) VALUES (?, ?, ?, ?)');
    this.subtract = db.prepare('UPDATE bayes_tokens SET spam = max(0, spam - ?), ham = max(0, ham - ?) WHERE token = ?');
    this.learnedClass = db.prepare('SELECT class FROM bayes_learned WHERE digest = ?');
    this.remember = db.prepare('INSERT OR REPLACE INTO bayes_learned (digest, class, seen) VALUES (?, ?, ?)');
    this.totalsRead = db.prepare('SELECT class, messages FROM bayes_totals');
    this.totalsAdd = db.prepare('INSERT INTO bayes_totals (class, messages) VALUES (?1, max(0, ?2)) ON CONFLICT (class) DO UPDATE SET messages = max(0, messages + ?2)');
    this.index = database.readOnly ? null : new BayesIndex();
    if (this.index) this.load(this.index);
    else this.recount();
  }

  /** The in-memory index of a writer, for the log at the open: tokens, MB, milliseconds its load took. */
  indexStats(): { tokens: number; mb: number; loadMs: number } | null {
    return this.index && { tokens: this.index.size, mb: Math.round(this.index.bytes / 1e5) / 10, loadMs: Math.round(this.loadMs) };
  }

  private load(index: BayesIndex): void {
    const started = performance.now();
    this.recount();
    index.clear(this.tokenCount);
    loadIndex(this.database.db, index);
    // The load read every page of the table once; the index answers those reads from now
    // on, so those pages would only sit in the connection's cache (some 8 MB of the process).
    this.database.db.exec('PRAGMA shrink_memory');
    this.totals = this.readTotals();
    this.stale = false;
    this.loadMs = performance.now() - started;
  }

  private current(): BayesIndex | null {
    if (this.index && this.stale) this.load(this.index);
    return this.index;
  }

  async bayesGetTokens(tokens: readonly string[]): Promise<BayesTokenCounts[]> {
    if (tokens.length === 0) return [];
    const index = this.current();
    return index ? index.counts(tokens) : this.readTokens(tokens);
  }

  private readTokens(tokens: readonly string[]): BayesTokenCounts[] {
    const found = this.readRows(tokens);
    return tokens.map((t) => found.get(t) ?? { spam: 0, ham: 0 });
  }

  /** The rows the database holds for `tokens`, by token. */
  private readRows(tokens: readonly string[]): Map<string, BayesTokenCounts> {
    const found = new Map<string, BayesTokenCounts>();
    for (let i = 0; i < tokens.length; i += READ_BATCH) {
      const batch = tokens.slice(i, i + READ_BATCH);
      // Pad the last batch with a token already asked for: the statement has a fixed size.
      while (batch.length < READ_BATCH) batch.push(tokens[i]!);
      for (const [token, spam, ham] of this.read.all(...batch) as unknown as Array<[string, number, number]>) found.set(token, { spam, ham });
    }
    return found;
  }

  async bayesTotals(): Promise<BayesTokenCounts> {
    return this.current() ? { ...this.totals } : this.readTotals();
  }

  private readTotals(): BayesTokenCounts {
    const totals = { spam: 0, ham: 0 };
    for (const r of this.totalsRead.all() as Array<{ class: BayesClass; messages: number }>) totals[r.class] = r.messages;
    return totals;
  }

  async bayesLearn(digest: string, tokens: readonly string[], cls: BayesClass, retention: BayesRetention = DEFAULT_BAYES_RETENTION): Promise<LearnResult> {
    const day = Math.floor(this.now() / DAY);
    const unique = [...new Set(tokens)];
    const result = this.written(() => this.database.durably((): LearnResult => {
      const before = (this.learnedClass.get(digest) as { class: BayesClass } | undefined)?.class;
      if (before === cls) return 'already_learned';
      const [spam, ham] = cls === 'spam' ? [1, 0] : [0, 1];
      for (const t of unique) {
        // Relearning as the other class: take the token from that class (it is added to this one below, so it never drops to zero).
        if (before) this.subtract.run(ham, spam, t);
        if (Number(this.add.run(spam, ham, day, t).changes) === 0) {
          this.insert.run(t, spam, ham, day);
          this.tokenCount++;
        }
      }
      this.totalsAdd.run(cls, 1);
      if (before) this.totalsAdd.run(before, -1);
      this.remember.run(digest, cls, day);
      return before ? 'relearned' : 'learned';
    }));
    // Read back what the database now holds for the tokens learned, rather than repeating its arithmetic.
    if (result !== 'already_learned') this.refresh(unique);
    if (this.tokenCount > retention.maxTokens) this.pruneRarest(retention.maxTokens);
    return result;
  }

  /**
   * Learn's writes, made through `write` so the index follows them: read back after they
   * commit. A failed learn of the server changed nothing (its transaction rolled back); in a
   * batch (sync on close) a failure may undo earlier calls not yet committed, so the whole
   * index is read again before its next use.
   */
  private written<T>(write: () => T): T {
    try {
      return write();
    } catch (err) {
      if (this.database.sync === 'on_close') this.stale = true;
      throw err;
    }
  }

  /** The index entries of `unique` (no token twice) and the totals, as the database holds them now. */
  private refresh(unique: readonly string[]): void {
    const index = this.current();
    if (!index) return;
    const rows = this.readRows(unique);
    for (const t of unique) {
      const row = rows.get(t);
      if (row) index.set(t, row.spam, row.ham);
      else index.delete(t);
    }
    this.totals = this.readTotals();
  }

  /** Over the cap, drop the tokens seen least (they carry the least evidence) until 90% full. */
  private pruneRarest(max: number): void {
    const drop = this.tokenCount - Math.floor(max * 0.9);
    const dropped = this.written(() =>
      this.database.transaction(() => this.database.db.prepare('DELETE FROM bayes_tokens WHERE token IN (SELECT token FROM bayes_tokens ORDER BY spam + ham, seen LIMIT ?) RETURNING token').all(drop)),
    );
    this.forget(dropped);
    this.recount();
  }

  /** Drop tokens and digests not learned for the retention time (a batch per call). */
  sweep(retention: BayesRetention): number {
    if (retention.expireSeconds <= 0) return 0;
    const oldest = Math.floor((this.now() - retention.expireSeconds * 1000) / DAY);
    const db = this.database.db;
    const dropped = this.written(() => db.prepare('DELETE FROM bayes_tokens WHERE token IN (SELECT token FROM bayes_tokens WHERE seen < ? LIMIT 10000) RETURNING token').all(oldest));
    this.forget(dropped);
    const tokens = dropped.length;
    db.prepare('DELETE FROM bayes_learned WHERE digest IN (SELECT digest FROM bayes_learned WHERE seen < ? LIMIT 10000)').run(oldest);
    if (tokens > 0) this.recount();
    return tokens;
  }

  private forget(rows: readonly unknown[]): void {
    const index = this.current();
    if (index) for (const r of rows as ReadonlyArray<{ token: string }>) index.delete(r.token);
  }

  private recount(): void {
    this.tokenCount = Number((this.database.db.prepare('SELECT count(*) AS n FROM bayes_tokens').get() as { n: number }).n);
  }

  /** Records of the old snapshot file (import): written around the index, which is read again afterwards. */
  restoreToken(token: string, spam: number, ham: number): void {
    this.stale = this.index !== null;
    const day = Math.floor(this.now() / DAY);
    if (Number(this.add.run(spam, ham, day, token).changes) === 0) {
      this.insert.run(token, spam, ham, day);
      this.tokenCount++;
    }
  }

  restoreLearned(digest: string, cls: BayesClass): void {
    this.remember.run(digest, cls, Math.floor(this.now() / DAY));
  }

  restoreTotals(spam: number, ham: number): void {
    this.stale = this.index !== null;
    this.totalsAdd.run('spam', spam);
    this.totalsAdd.run('ham', ham);
  }
}
