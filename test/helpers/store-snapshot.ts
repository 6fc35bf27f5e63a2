import fs from 'node:fs/promises';
import path from 'node:path';
import { SNAPSHOT_FILE } from '../../src/stores/sqlite/ndjson-snapshot.js';

/**
 * Write a `store.ndjson` into `dir` as an older version of the embedded store left it: the
 * header line, then one JSON array per record; `tail` is appended as it is (a damaged line).
 */
export async function writeOldSnapshot(dir: string, records: readonly unknown[][], options: { savedAt?: number; tail?: string } = {}): Promise<void> {
  const header = { format: 'borderpatrol-store', version: 1, savedAt: new Date(options.savedAt ?? Date.now()).toISOString() };
  const lines = [header, ...records].map((line) => JSON.stringify(line));
  await fs.writeFile(path.join(dir, SNAPSHOT_FILE), lines.join('\n') + '\n' + (options.tail ?? ''));
}
