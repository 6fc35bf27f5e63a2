import fs from 'node:fs';
import path from 'node:path';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { BayesClass, BayesRetention, RateLimiterSpec, Store } from '../types.js';
import { memoryRateLimiter } from '../rate-limiter.js';
import { DEFAULT_BAYES_RETENTION } from '../types.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { MemoryCounters } from '../memory-counters.js';
import { Database } from './database.js';
import { SqliteGreylist } from './greylist.js';
import { SqliteBayes } from './bayes.js';
import { SqliteHistory } from './history.js';
import { SqliteFuzzy } from './fuzzy.js';
import { SqliteNeural } from './neural.js';
import { SqliteReplies } from './replies.js';
import { lockDataDir, type WriterLock } from './writer-lock.js';
import { importSnapshot } from './import.js';
import { SweepSchedule, SWEEP_TICK_MS, type SweepJob } from './sweep.js';

export const DATABASE_FILE = 'store.sqlite';

export interface SqliteStoreOptions {
  /** Where the database lives; without it the store is in memory only (tests). */
  dataDir?: string;
  /**
   * 'write' takes the data dir's writer lock (the server, or a CLI command that writes);
   * 'read' opens the database read-only beside a running writer (scan, listings).
   */
  access?: 'write' | 'read';
  /**
   * 'each' (the server): every acknowledged write is synced before the call returns.
   * 'on_close': synced once when the store closes, for a command that reports only at its end.
   */
  sync?: 'each' | 'on_close';
  /** Who takes the writer lock, as shown to a process refused by it. */
  role?: string;
  /** Bayes retention until a learn brings the policy's (the sweep uses the latest). */
  retention?: BayesRetention;
  /** Milliseconds between two expiry slices (sweep.ts). */
  sweepInterval?: number;
  now?: () => number;
  log?: Logger;
  metrics?: Metrics | null;
}

/**
 * The embedded store: one SQLite database file (DIR/store.sqlite) holding greylisting,
 * Bayes, fuzzy signatures, the neural model and remembered reply ids, each written before the call returns, and the
 * history, written within a second (history.ts); rate-limit
 * counters stay in memory. Each feature is a part (greylist.ts, bayes.ts, fuzzy.ts,
 * history.ts) owning its tables; this
 * class opens the database, takes the writer lock, and delegates.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly database: Database;
  private readonly lock: WriterLock | null;
  private readonly greylist: SqliteGreylist;
  private readonly bayes: SqliteBayes;
  private readonly history: SqliteHistory;
  private readonly fuzzy: SqliteFuzzy;
  private readonly neural: SqliteNeural;
  private readonly replies: SqliteReplies;
  private readonly counters: MemoryCounters;
  private retention: BayesRetention;
  private sweeps: SweepSchedule | null = null;
  /** What expires, one part each: the server's timer runs them in turn, sweep() all at once. */
  private readonly sweepJobs: readonly SweepJob[] = [
    { name: 'greylist', run: () => this.greylist.sweep() },
    { name: 'counters', run: () => this.counters.sweep() },
    { name: 'replies', run: () => this.replies.sweep() },
    // Bayes slices are larger and recount the tokens: about once a minute, as they always were.
    { name: 'bayes', run: () => this.bayes.sweep(this.retention), every: 10 },
  ];
  private closed = false;

  constructor(private readonly options: SqliteStoreOptions = {}) {
    const now = options.now ?? Date.now;
    this.retention = options.retention ?? DEFAULT_BAYES_RETENTION;
    const dir = options.dataDir;
    const readOnly = options.access === 'read';
    this.lock = dir && !readOnly ? lockDataDir(dir, options.role ?? 'borderpatrol') : null;
    try {
      // A reader with nothing written yet sees an empty store.
      const file = dir && (!readOnly || fs.existsSync(path.join(dir, DATABASE_FILE))) ? path.join(dir, DATABASE_FILE) : ':memory:';
      this.database = new Database(file, { readOnly: readOnly && file !== ':memory:', sync: options.sync ?? 'each',
        onCheckpointFailure: (reason) => options.log?.warn({ event: 'store_checkpoint_failed', reason }, 'the timed checkpoints failed; checkpoints run in the commits again'),
      });
      this.greylist = new SqliteGreylist(this.database, now);
      this.bayes = new SqliteBayes(this.database, now);
      this.history = new SqliteHistory(this.database, (err) => {
        options.metrics?.storeErrors.inc({ operation: 'history_push' });
        options.log?.warn({ event: 'history_error', err: err.message }, 'could not record history');
      });
      this.fuzzy = new SqliteFuzzy(this.database);
      this.neural = new SqliteNeural(this.database);
      this.replies = new SqliteReplies(this.database, now);
      this.counters = new MemoryCounters(now);
      if (dir && !readOnly) {
        const imported = importSnapshot(dir, this.database, { greylist: this.greylist, bayes: this.bayes, history: this.history }, now());
        if (imported) options.log?.info({ event: 'store_imported', dir, ...imported }, 'imported the old store snapshot into store.sqlite');
      }
    } catch (err) {
      this.lock?.release();
      throw err;
    }
    if (!readOnly) {
      const sweeps = new SweepSchedule(this.sweepJobs, (job, err) => this.sweepFailed(`sweep_${job}`, err));
      sweeps.start(options.sweepInterval ?? SWEEP_TICK_MS);
      this.sweeps = sweeps;
    }
    if (dir) options.log?.info({ event: 'store_opened', dir, access: readOnly ? 'read' : 'write', bayesIndex: this.bayes.indexStats() }, 'embedded store opened');
  }

  greylistCheck = this.guard('greylist_check', (...a: Parameters<SqliteGreylist['greylistCheck']>) => this.greylist.greylistCheck(...a));
  greylistConfirm = this.guard('greylist_confirm', (...a: Parameters<SqliteGreylist['greylistConfirm']>) => this.greylist.greylistConfirm(...a));
  greylistList = this.guard('greylist_list', (...a: Parameters<SqliteGreylist['greylistList']>) => this.greylist.greylistList(...a));
  greylistRelease = this.guard('greylist_release', (...a: Parameters<SqliteGreylist['greylistRelease']>) => this.greylist.greylistRelease(...a));
  counterIncrement = this.guard('counter_increment', (...a: Parameters<MemoryCounters['counterIncrement']>) => this.counters.counterIncrement(...a));
  counterGet = this.guard('counter_get', (...a: Parameters<MemoryCounters['counterGet']>) => this.counters.counterGet(...a));
  bayesGetTokens = this.guard('bayes_get', (...a: Parameters<SqliteBayes['bayesGetTokens']>) => this.bayes.bayesGetTokens(...a));
  bayesTotals = this.guard('bayes_totals', () => this.bayes.bayesTotals());
  historyPush = this.guard('history_push', (...a: Parameters<SqliteHistory['historyPush']>) => this.history.historyPush(...a));
  historyRead = this.guard('history_read', (...a: Parameters<SqliteHistory['historyRead']>) => this.history.historyRead(...a));
  fuzzyAdd = this.guard('fuzzy_add', (...a: Parameters<SqliteFuzzy['fuzzyAdd']>) => this.fuzzy.fuzzyAdd(...a));
  fuzzyDelete = this.guard('fuzzy_delete', (...a: Parameters<SqliteFuzzy['fuzzyDelete']>) => this.fuzzy.fuzzyDelete(...a));
  fuzzyFind = this.guard('fuzzy_find', (...a: Parameters<SqliteFuzzy['fuzzyFind']>) => this.fuzzy.fuzzyFind(...a));
  fuzzyAny = (): boolean => this.fuzzy.fuzzyAny();
  neuralLoad = this.guard('neural_load', () => this.neural.neuralLoad());
  neuralSave = this.guard('neural_save', (...a: Parameters<SqliteNeural['neuralSave']>) => this.neural.neuralSave(...a));
  replyRemember = this.guard('reply_remember', (...a: Parameters<SqliteReplies['replyRemember']>) => this.replies.replyRemember(...a));
  replyKnown = this.guard('reply_known', (...a: Parameters<SqliteReplies['replyKnown']>) => this.replies.replyKnown(...a));

  bayesLearn = this.guard('bayes_learn', (digest: string, tokens: readonly string[], cls: BayesClass, retention?: BayesRetention) => {
    if (retention) this.retention = retention;
    return this.bayes.bayesLearn(digest, tokens, cls, this.retention);
  });

  rateLimiter(spec: RateLimiterSpec): RateLimiterAbstract {
    return memoryRateLimiter(spec);
  }

  roundTrips(): number {
    return 0;
  }

  async ready(): Promise<void> {
    if (this.closed) throw new Error('the store is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweeps?.stop();
    try {
      await this.database.stopCheckpoints();
      this.history.close();
      this.database.close();
    } finally {
      this.lock?.release();
    }
  }

  /**
   * Drop what expired, one slice of each part at once: greylist entries, counters, Bayes
   * data past its retention, reply ids. The server's timer runs the parts in turn instead (sweep.ts).
   */
  sweep(): void {
    if (this.closed) return;
    try {
      for (const job of this.sweepJobs) job.run();
    } catch (err) {
      this.sweepFailed('sweep', err as Error);
    }
  }

  private sweepFailed(operation: string, err: Error): void {
    if (this.closed) return;
    this.options.metrics?.storeErrors.inc({ operation: 'sweep' });
    this.options.log?.error({ event: 'store_error', operation, err: err.message }, 'embedded store sweep failed');
  }

  /** Count a failure (a full disk, a read-only store) as a store error and pass it to the check's on_error. */
  private guard<A extends unknown[], R>(operation: string, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      try {
        return await fn(...args);
      } catch (err) {
        this.options.metrics?.storeErrors.inc({ operation });
        throw err;
      }
    };
  }
}
