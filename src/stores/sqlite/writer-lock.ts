import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export const LOCK_FILE = 'writer.lock';
export const HOLDER_FILE = 'writer.pid';

/** Another process writes to this data dir. `holder` is its pid (null when it cannot be read). */
export class DataDirInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: number | null,
    readonly holderInfo: string,
  ) {
    super(`data dir ${dir} is in use by ${holder ? `pid ${holder}` : 'another process'}${holderInfo ? ` (${holderInfo})` : ''}`);
    this.name = 'DataDirInUseError';
  }
}

export interface WriterLock {
  release(): void;
}

/**
 * One data dir, one writer. The lock is an exclusive SQLite lock on DIR/writer.lock, which is
 * an operating-system lock: it is released when the holder exits in any way, kill -9
 * included, so a stale lock can never block a start. Who holds it is written to
 * DIR/writer.pid (readable while the lock is held) so a refused process can name it.
 */
export function lockDataDir(dir: string, role: string): WriterLock {
  fs.mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(path.join(dir, LOCK_FILE));
  try {
    db.exec('PRAGMA busy_timeout = 0');
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA journal_mode = DELETE');
    // The first write takes the exclusive lock and (in EXCLUSIVE locking mode) keeps it until close.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS writer (pid INTEGER)');
    db.exec(`DELETE FROM writer; INSERT INTO writer VALUES (${process.pid})`);
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if (/locked|busy/i.test((err as Error).message)) throw inUse(dir);
    throw err;
  }
  const holderFile = path.join(dir, HOLDER_FILE);
  fs.writeFileSync(holderFile, `${process.pid} ${role} ${os.hostname()} ${new Date().toISOString()}\n`);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        fs.rmSync(holderFile, { force: true });
      } finally {
        db.close();
      }
    },
  };
}

function inUse(dir: string): DataDirInUseError {
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, HOLDER_FILE), 'utf8').trim();
  } catch {
    // The holder has not written its pid yet.
  }
  const [pid, role, host, since] = text.split(' ');
  const n = Number(pid);
  const info = [role, host && host !== os.hostname() ? `on ${host}` : '', since ? `since ${since}` : ''].filter(Boolean).join(', ');
  return new DataDirInUseError(dir, Number.isInteger(n) && n > 0 ? n : null, info);
}
