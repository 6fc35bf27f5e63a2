import fs from 'node:fs/promises';
import os from 'node:os';
import crypto from 'node:crypto';

export interface LockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** A lock older than this, or held by a process that no longer exists, is taken over. */
  staleMs?: number;
}

export class LockTimeoutError extends Error {
  constructor(file: string, ms: number, holder: string) {
    super(`${file} is locked by another edit (${holder || 'unknown holder'}); gave up after ${ms} ms`);
    this.name = 'LockTimeoutError';
  }
}

/**
 * Run `fn` while holding an exclusive lock file. The file is created with O_EXCL, so of many
 * processes (scripts calling `list add` in a loop, two admins at once) exactly one holds it;
 * the others retry with a growing, jittered delay. It records host, pid and time so a lock
 * left behind by a killed process is recognised and taken over instead of blocking forever.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const staleMs = options.staleMs ?? 30_000;
  const token = `${os.hostname()} ${process.pid} ${Date.now()} ${crypto.randomBytes(6).toString('hex')}\n`;
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      const handle = await fs.open(file, 'wx', 0o644);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await removeIfStale(file, staleMs)) continue;
    if (Date.now() >= deadline) throw new LockTimeoutError(file, timeoutMs, (await fs.readFile(file, 'utf8').catch(() => '')).trim());
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    // Remove it only if it is still ours (a stale takeover may have replaced it).
    const now = await fs.readFile(file, 'utf8').catch(() => '');
    if (now === token) await fs.unlink(file).catch(() => undefined);
  }
}

async function removeIfStale(file: string, staleMs: number): Promise<boolean> {
  let content: string;
  let age: number;
  try {
    content = await fs.readFile(file, 'utf8');
    age = Date.now() - (await fs.stat(file)).mtimeMs;
  } catch {
    return true; // released in the meantime: try again at once
  }
  const [host, pidText] = content.split(' ');
  const pid = Number(pidText);
  const deadHolder = host === os.hostname() && Number.isInteger(pid) && pid > 0 && !processExists(pid);
  if (!deadHolder && age < staleMs) return false;
  // Only remove what we judged: if another process took it over meanwhile, leave theirs.
  const again = await fs.readFile(file, 'utf8').catch(() => null);
  if (again !== content) return again === null;
  await fs.unlink(file).catch(() => undefined);
  return true;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
