import fs from 'node:fs';
import path from 'node:path';
import { readSnapshotSync, SNAPSHOT_FILE } from './ndjson-snapshot.js';
import type { Database } from './database.js';
import type { SqliteGreylist } from './greylist.js';
import type { SqliteBayes } from './bayes.js';
import type { SqliteHistory } from './history.js';

export const IMPORTED_SUFFIX = '.imported';

/**
 * On the first start after the move to SQLite: read DIR/store.ndjson (the snapshot the
 * embedded store used to write) into the database in one transaction, then rename it to
 * store.ndjson.imported, so it is imported once and kept for the admin to delete. Expired
 * greylist entries are left out; rate-limit counters are not kept (they live in memory now).
 */
export function importSnapshot(
  dir: string,
  database: Database,
  parts: { greylist: SqliteGreylist; bayes: SqliteBayes; history: SqliteHistory },
  now: number,
): { greylist: number; tokens: number; learned: number; history: number; skipped: number } | null {
  const file = path.join(dir, SNAPSHOT_FILE);
  if (!fs.existsSync(file)) return null;
  const { records, skipped } = readSnapshotSync(dir);
  const counts = { greylist: 0, tokens: 0, learned: 0, history: 0, skipped };
  database.durably(() => {
    for (const r of records) {
      switch (r[0]) {
        case 'g':
          if (r[4] > now) {
            parts.greylist.restoreEntry(r[1], r[2], r[3] === 1, r[4]);
            counts.greylist++;
          }
          break;
        case 'c':
          // Auto-allow counts were counters named gla:GROUP; other counters are short-lived.
          if (r[1].startsWith('gla:') && r[3] > now) parts.greylist.restoreAllow(r[1].slice(4), r[2], r[3]);
          break;
        case 't':
          parts.bayes.restoreToken(r[1], r[2], r[3]);
          counts.tokens++;
          break;
        case 'l':
          parts.bayes.restoreLearned(r[1], r[2]);
          counts.learned++;
          break;
        case 'T':
          parts.bayes.restoreTotals(r[1], r[2]);
          break;
        case 'h':
          void parts.history.historyPush(r[1], Number.MAX_SAFE_INTEGER);
          counts.history++;
          break;
      }
    }
    parts.history.flush();
  });
  fs.renameSync(file, file + IMPORTED_SUFFIX);
  return counts;
}
