import { Worker } from 'node:worker_threads';

/**
 * Copies the WAL back into the database file from a thread of its own, on a timer.
 *
 * SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past its
 * threshold: that commit then copies megabytes and syncs the database file twice, on the
 * event loop, and every client waits for it (tens of ms, more on a busy disk). A PASSIVE
 * checkpoint from a second connection on another thread does the same work while the
 * server's connection keeps reading and writing (WAL lets both proceed), so no message
 * waits for it. The worker is a few lines given as source, so it needs no file of its own
 * in either the built or the TypeScript tree.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file);
// PASSIVE never waits for the other connection; a lock held elsewhere just means "next time".
db.exec('PRAGMA busy_timeout = 0');
// Each checkpoint syncs the WAL before copying it and the database file after: the
// server's connection commits without syncing and relies on that before the WAL is reused.
db.exec('PRAGMA synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let failures = 0;
const timer = setInterval(() => {
  try {
    checkpoint.get();
    failures = 0;
  } catch (err) {
    if (++failures === 3) parentPort.postMessage({ error: String(err && err.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /**
   * Ends the thread's timer and closes its connection; resolves once the thread is gone
   * (it may be mid-checkpoint), so the server's connection closes last and leaves no WAL.
   */
  stop(): Promise<void>;
}

/**
 * Start checkpointing `file` every `intervalMs`. `onFailure` is called once when the thread
 * cannot do its work (it could not start, or its checkpoints keep failing), so the caller
 * can hand checkpoints back to SQLite's automatic ones.
 */
export function startCheckpointer(file: string, intervalMs: number, onFailure: (reason: string) => void): Checkpointer {
  let failed = false;
  const fail = (reason: string) => {
    if (failed) return;
    failed = true;
    onFailure(reason);
  };
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, intervalMs } });
  worker.on('message', (m: { error?: string }) => fail(m.error ?? 'checkpoints failed'));
  worker.on('error', (err) => fail(err.message));
  let stopped = false;
  const exited = new Promise<void>((resolve) =>
    worker.on('exit', () => {
      if (!stopped) fail('the checkpoint thread ended');
      resolve();
    }),
  );
  // Never keeps the process alive (a stopping server does its own last checkpoint); after
  // the listeners, since adding a 'message' listener refs the worker again.
  worker.unref();
  return {
    stop() {
      if (!stopped) {
        stopped = true;
        // Held until it is gone: a process with nothing else to do would otherwise exit
        // before the store finished closing.
        worker.ref();
        worker.postMessage('stop');
        // A thread stuck in a checkpoint on a hung disk is not waited for forever.
        const timer = setTimeout(() => void worker.terminate(), 5000);
        void exited.then(() => clearTimeout(timer));
      }
      return exited;
    },
  };
}
