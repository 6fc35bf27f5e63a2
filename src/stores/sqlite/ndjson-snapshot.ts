import fs from 'node:fs';
import path from 'node:path';
import type { BayesClass } from '../types.js';

/**
 * The embedded store's file before it moved to SQLite: one JSON value per line, the first
 * line saying what the file is. It is read once, on the first start of the SQLite store
 * (see import.ts); a damaged line loses one record, not the file.
 */
export type SnapshotRecord =
  /** greylist: key, firstSeen ms, passed 0|1, expires ms */
  | ['g', string, number, 0 | 1, number]
  /** counter: key, value, expires ms */
  | ['c', string, number, number]
  /** Bayes token: token, spam count, ham count */
  | ['t', string, number, number]
  /** learned message digest and its class */
  | ['l', string, BayesClass]
  /** Bayes totals: spam messages, ham messages */
  | ['T', number, number]
  /** history entry (JSON text), oldest first */
  | ['h', string];

export const SNAPSHOT_FILE = 'store.ndjson';
const HEADER = { format: 'borderpatrol-store', version: 1 };

/** Read DIR/store.ndjson; a damaged line is skipped and counted, a file that is not a snapshot refused. */
export function readSnapshotSync(dir: string): { records: SnapshotRecord[]; skipped: number } {
  const file = path.join(dir, SNAPSHOT_FILE);
  const records: SnapshotRecord[] = [];
  let skipped = 0;
  let first = true;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    if (first) {
      first = false;
      const header = safeParse(line) as { format?: string; version?: number } | null;
      if (header?.format !== HEADER.format) throw new Error(`${file} is not a Borderpatrol store snapshot`);
      if (header.version !== HEADER.version) throw new Error(`${file} has snapshot version ${String(header.version)}; this Borderpatrol reads version ${HEADER.version}`);
      continue;
    }
    const r = safeParse(line);
    if (isRecord(r)) records.push(r);
    else skipped++;
  }
  return { records, skipped };
}

function safeParse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is SnapshotRecord {
  if (!Array.isArray(v)) return false;
  const num = (i: number) => typeof v[i] === 'number' && Number.isFinite(v[i]);
  const str = (i: number) => typeof v[i] === 'string';
  switch (v[0]) {
    case 'g':
      return v.length === 5 && str(1) && num(2) && (v[3] === 0 || v[3] === 1) && num(4);
    case 'c':
    case 't':
      return v.length === 4 && str(1) && num(2) && num(3);
    case 'l':
      return v.length === 3 && str(1) && (v[2] === 'spam' || v[2] === 'ham');
    case 'T':
      return v.length === 3 && num(1) && num(2);
    case 'h':
      return v.length === 2 && str(1);
    default:
      return false;
  }
}
