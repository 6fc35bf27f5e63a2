import type { StatementSync } from 'node:sqlite';
import type { GreylistEntry, GreylistOptions, GreylistPart, GreylistResult } from '../types.js';
import { assertGreylistGroup, joinGreylistKey, splitGreylistKey } from '../greylist-key.js';
import type { Database } from './database.js';
import { SWEEP_SLICE } from './sweep.js';

interface Row {
  first_seen: number;
  passed: number;
  expires: number;
}

/**
 * Greylist entries (GROUP|ID → first seen, passed, expiry) and the auto-allow count per
 * group. Times are milliseconds since the epoch from this machine's clock.
 */
export class SqliteGreylist implements GreylistPart {
  private readonly get: StatementSync;
  private readonly insert: StatementSync;
  private readonly pass: StatementSync;
  private readonly passWaiting: StatementSync;
  private readonly touch: StatementSync;
  private readonly allowed: StatementSync;
  private readonly allowTouch: StatementSync;
  private readonly allowIncrement: StatementSync;
  private readonly list: StatementSync;
  private readonly sweepEntries: StatementSync;
  private readonly sweepAllow: StatementSync;

  constructor(
    private readonly database: Database,
    private readonly now: () => number,
  ) {
    database.schema([
      'CREATE TABLE IF NOT EXISTS greylist (key TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, passed INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID',
      'CREATE INDEX IF NOT EXISTS greylist_expires ON greylist (expires)',
      'CREATE TABLE IF NOT EXISTS greylist_allow ("group" TEXT PRIMARY KEY, passes INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID',
      // The sweep finds expired groups without reading the whole table.
      'CREATE INDEX IF NOT EXISTS greylist_allow_expires ON greylist_allow (expires)',
    ]);
    const db = database.db;
    this.get = db.prepare('SELECT first_seen, passed, expires FROM greylist WHERE key = ?');
    this.insert = db.prepare('INSERT OR REPLACE INTO greylist (key, first_seen, passed, expires) VALUES (?, ?, ?, ?)');
    this.pass = db.prepare('UPDATE greylist SET passed = 1, expires = ? WHERE key = ? AND expires > ?');
    this.passWaiting = db.prepare('UPDATE greylist SET passed = 1, expires = ? WHERE key = ? AND expires > ? AND passed = 0');
    this.touch = db.prepare('UPDATE greylist SET expires = ? WHERE key = ?');
    this.allowed = db.prepare('SELECT passes FROM greylist_allow WHERE "group" = ? AND expires > ?');
    this.allowTouch = db.prepare('UPDATE greylist_allow SET expires = ? WHERE "group" = ?');
    this.allowIncrement = db.prepare(
      'INSERT INTO greylist_allow ("group", passes, expires) VALUES (?, 1, ?) ON CONFLICT ("group") DO UPDATE SET passes = CASE WHEN expires > ? THEN passes + 1 ELSE 1 END, expires = excluded.expires',
    );
    this.list = db.prepare('SELECT key, first_seen, passed, expires FROM greylist WHERE expires > ? AND instr(key, ?) > 0 LIMIT ?');
    this.sweepEntries = db.prepare(`DELETE FROM greylist WHERE key IN (SELECT key FROM greylist WHERE expires <= ? LIMIT ${SWEEP_SLICE})`);
    this.sweepAllow = db.prepare(`DELETE FROM greylist_allow WHERE "group" IN (SELECT "group" FROM greylist_allow WHERE expires <= ? LIMIT ${SWEEP_SLICE})`);
  }

  async greylistCheck(group: string, id: string, o: GreylistOptions): Promise<GreylistResult> {
    assertGreylistGroup(group);
    const now = this.now();
    if (o.autoAllowAfter > 0) {
      const allowed = this.allowed.get(group, now) as { passes: number } | undefined;
      if (allowed && allowed.passes >= o.autoAllowAfter) {
        this.allowTouch.run(now + o.autoAllowTtl * 1000, group);
        return { state: 'allowed', retryAfter: 0 };
      }
    }
    const key = joinGreylistKey(group, id);
    const rec = this.get.get(key) as Row | undefined;
    if (!rec || rec.expires <= now) {
      this.insert.run(key, now, 0, now + o.retryWindow * 1000);
      return { state: 'new', retryAfter: o.delay };
    }
    if (rec.passed) {
      this.touch.run(now + o.passTtl * 1000, key);
      return { state: 'known', retryAfter: 0 };
    }
    const waited = now - rec.first_seen;
    if (waited < o.delay * 1000) return { state: 'early', retryAfter: Math.ceil((o.delay * 1000 - waited) / 1000) };
    if (o.confirmLater) return { state: 'due', retryAfter: 0 };
    // The sender is told 250 on this: the pass must outlive a crash right after.
    this.database.durably(() => {
      this.pass.run(now + o.passTtl * 1000, key, now);
      if (o.autoAllowAfter > 0) this.allowIncrement.run(group, now + o.autoAllowTtl * 1000, now);
    });
    return { state: 'passed', retryAfter: 0 };
  }

  async greylistConfirm(group: string, id: string, o: GreylistOptions): Promise<boolean> {
    assertGreylistGroup(group);
    const now = this.now();
    const key = joinGreylistKey(group, id);
    return this.database.durably(() => {
      if (Number(this.passWaiting.run(now + o.passTtl * 1000, key, now).changes) === 0) return false;
      if (o.autoAllowAfter > 0) this.allowIncrement.run(group, now + o.autoAllowTtl * 1000, now);
      return true;
    });
  }

  async greylistList(match: string, limit: number): Promise<GreylistEntry[]> {
    const now = this.now();
    const rows = this.list.all(now, match, limit) as unknown as Array<Row & { key: string }>;
    return rows.map((r) => ({ key: r.key, firstSeen: r.first_seen, passed: r.passed === 1, ttl: Math.ceil((r.expires - now) / 1000) }));
  }

  async greylistRelease(key: string, passTtl: number): Promise<boolean> {
    if (!splitGreylistKey(key)) return false;
    const now = this.now();
    return this.database.durably(() => Number(this.pass.run(now + passTtl * 1000, key, now).changes) > 0);
  }

  /** An entry from the old snapshot file (import). */
  restoreEntry(key: string, firstSeen: number, passed: boolean, expires: number): void {
    this.insert.run(key, firstSeen, passed ? 1 : 0, expires);
  }

  restoreAllow(group: string, passes: number, expires: number): void {
    this.database.db.prepare('INSERT OR REPLACE INTO greylist_allow ("group", passes, expires) VALUES (?, ?, ?)').run(group, passes, expires);
  }

  /** Drop expired entries, at most SWEEP_SLICE of each kind per call, so a sweep never holds the process long. */
  sweep(): number {
    const now = this.now();
    this.sweepAllow.run(now);
    return Number(this.sweepEntries.run(now).changes);
  }
}
