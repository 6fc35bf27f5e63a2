import fs from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';

/**
 * Copies the WAL back into the database file on a timer, with both of the disk syncs that
 * make this safe done on libuv's thread pool instead of the event loop.
 *
 * SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past its
 * threshold: that commit then copies megabytes and syncs the WAL and the database file, on
 * the event loop, and every client waits for it (tens of ms on a busy disk). Copying a
 * second's worth of frames costs the event loop well under a millisecond; the syncs are
 * what can take long. So a round here is:
 *
 *  1. pin: a read transaction on a connection of our own fixes the WAL frames this round
 *     may copy (a PASSIVE checkpoint never copies past a reader's snapshot);
 *  2. sync the WAL, so every pinned frame is on the disk before any of it is copied (a
 *     power cut in the middle of the copy is then repaired from the WAL);
 *  3. checkpoint on the server's connection, which syncs nothing (synchronous=OFF): the
 *     pinned frames are written into the database file;
 *  4. sync the database file, then let the pin go. While the pin is held no commit can
 *     start the WAL over (SQLite reuses it only once no reader needs any of it), so the
 *     copied frames stay readable in the WAL until their copy is on the disk.
 *
 * The server's commits in between append to the WAL and sync nothing; a power cut loses at
 * most those, as with synchronous=NORMAL. A round that finds nothing new does nothing.
 */

/** Push a file's written data to the disk (fdatasync), off the event loop. */
export type SyncFile = (file: string) => Promise<void>;

const datasync: SyncFile = async (file) => {
  const handle = await fs.open(file, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
};

export interface Checkpointer {
  /** Ends the rounds and closes the pin; resolves once a round in flight has settled (at most 5 s on a hung disk). */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** The server's own connection (the checkpoint runs on it, between its transactions). */
  db: DatabaseSync;
  file: string;
  intervalMs: number;
  /** Called once when checkpoints keep failing, so the caller can hand them back to SQLite's automatic ones. */
  onFailure: (reason: string) => void;
  /** How a file is synced (tests hold a round at a sync). */
  syncFile?: SyncFile;
}

/** Rounds failing in a row before the caller is told. */
const FAILURES_TO_GIVE_UP = 3;
const STOP_WAIT_MS = 5000;

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const { db, file, intervalMs, onFailure } = options;
  const syncFile = options.syncFile ?? datasync;
  const pin = new DatabaseSync(file);
  pin.exec('PRAGMA busy_timeout = 0');
  // Counts commits by other connections (the server's among them): unchanged means nothing new.
  const dataVersion = pin.prepare('PRAGMA data_version');
  const readSnapshot = pin.prepare('SELECT count(*) FROM sqlite_schema');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let seenVersion = -1;
  let failures = 0;
  let stopped = false;
  let inFlight: Promise<void> | null = null;

  const round = async (): Promise<void> => {
    const version = Number((dataVersion.get() as { data_version: number }).data_version);
    if (version === seenVersion) return;
    pin.exec('BEGIN');
    try {
      readSnapshot.get();
      await syncFile(`${file}-wal`);
      if (stopped) return;
      checkpoint.get();
      await syncFile(file);
    } finally {
      if (pin.isOpen && pin.isTransaction) pin.exec('COMMIT');
    }
    seenVersion = version;
  };

  const timer = setInterval(() => {
    if (inFlight || stopped) return;
    inFlight = round()
      .then(() => {
        failures = 0;
      })
      .catch((err: unknown) => {
        if (stopped) return;
        if (++failures === FAILURES_TO_GIVE_UP) {
          stopped = true;
          clearInterval(timer);
          pin.close();
          onFailure(err instanceof Error ? err.message : String(err));
        }
      })
      .finally(() => {
        inFlight = null;
      });
  }, intervalMs);
  // Never keeps the process alive: a stopping server does its own last checkpoint.
  timer.unref();

  return {
    stop() {
      if (stopped) return inFlight ?? Promise.resolve();
      stopped = true;
      clearInterval(timer);
      // Closing ends the pin's read transaction: the server's own last checkpoint may copy everything.
      pin.close();
      if (!inFlight) return Promise.resolve();
      let timeout: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, STOP_WAIT_MS);
      });
      return Promise.race([inFlight, gaveUp]).finally(() => clearTimeout(timeout));
    },
  };
}
