import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { once } from 'node:events';
import type { BayesClass } from '../types.js';

/**
 * The embedded store's file: one JSON value per line, so a large Bayes table is written
 * and read as a stream (never one giant string) and a damaged line loses one record, not
 * the file. The first line says what the file is.
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

/** Write every record to DIR/store.ndjson atomically: temp file, fsync, rename. Returns the count. */
export async function writeSnapshot(dir: string, records: Iterable<SnapshotRecord>): Promise<number> {
  await fsp.mkdir(dir, { recursive: true });
  const final = path.join(dir, SNAPSHOT_FILE);
  const temp = path.join(dir, `.${SNAPSHOT_FILE}.${process.pid}.tmp`);
  const out = fs.createWriteStream(temp, { mode: 0o600 });
  let count = 0;
  try {
    const write = async (line: string) => {
      if (!out.write(line + '\n')) await once(out, 'drain');
    };
    await write(JSON.stringify({ ...HEADER, savedAt: new Date().toISOString() }));
    for (const r of records) {
      await write(JSON.stringify(r));
      count++;
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const fh = await fsp.open(temp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(temp, final);
    await syncDir(dir);
  } catch (err) {
    out.destroy();
    await fsp.rm(temp, { force: true });
    throw err;
  }
  return count;
}

/** Read DIR/store.ndjson; a missing file is an empty store, a damaged line is skipped and counted. */
export async function readSnapshot(dir: string): Promise<{ records: SnapshotRecord[]; skipped: number }> {
  const file = path.join(dir, SNAPSHOT_FILE);
  let input: fs.ReadStream;
  try {
    await fsp.access(file);
    input = fs.createReadStream(file);
  } catch {
    return { records: [], skipped: 0 };
  }
  const records: SnapshotRecord[] = [];
  let skipped = 0;
  let first = true;
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
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

/** Make the rename itself durable; some file systems cannot sync a directory, which is fine. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
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
