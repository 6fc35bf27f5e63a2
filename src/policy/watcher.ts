import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../observability/logger.js';

export interface WatcherOptions {
  /** Quiet time after the last change before reloading: an editor's save is several events. */
  debounceMs?: number;
  /** How often the files' stat fingerprint is compared, for changes fs.watch did not report. */
  pollMs?: number;
}

/** The directories whose files make up a policy (see load.ts). */
const SUBDIRS = ['', 'checks', 'lists'] as const;

/**
 * Notices edits in a policies directory and asks for a reload.
 *
 * It watches the directories, not the files: an editor that saves by writing a new file and
 * renaming it over the old one would silently end a watch on the file. fs.watch can still
 * miss events (network file systems, some containers, a directory replaced whole), so a
 * cheap stat fingerprint is also compared every `pollMs`. The reload itself compares content
 * and keeps the running policy when the new one is broken, so a spurious trigger costs one
 * read of the files.
 */
export class PolicyWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private fingerprint = '';
  private running = false;
  private pending = false;
  private stopped = false;
  private readonly debounceMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly dir: string,
    private readonly reload: (reason: string) => Promise<unknown>,
    private readonly log: Logger,
    options: WatcherOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 200;
    this.pollMs = options.pollMs ?? 500;
  }

  async start(): Promise<void> {
    this.fingerprint = await this.snapshot();
    this.attach();
    this.poll = setInterval(() => void this.pollOnce(), this.pollMs);
    this.poll.unref();
    this.log.info({ event: 'policy_watch', dir: this.dir, watching: [...this.watchers.keys()], poll_ms: this.pollMs }, 'watching the policy for edits');
  }

  stop(): void {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.poll) clearInterval(this.poll);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Watch each policy directory that exists and is not watched yet (checks/ may appear later). */
  private attach(): void {
    for (const sub of SUBDIRS) {
      const d = path.join(this.dir, sub);
      if (this.watchers.has(d)) continue;
      try {
        const w = fs.watch(d, { persistent: false }, (_event, name) => {
          if (name && !isPolicyFile(String(name)) && String(name) !== 'checks' && String(name) !== 'lists') return;
          this.changed();
        });
        w.on('error', () => {
          // The directory went away (moved or replaced): drop the watch; the poll re-attaches.
          w.close();
          this.watchers.delete(d);
        });
        this.watchers.set(d, w);
      } catch {
        // Not there (yet): the poll tries again.
      }
    }
  }

  private changed(): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.fire(), this.debounceMs);
    this.debounce.unref();
  }

  private async fire(): Promise<void> {
    this.debounce = null;
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = true;
    try {
      this.fingerprint = await this.snapshot();
      this.attach();
      await this.reload('file change');
    } catch (err) {
      this.log.error({ event: 'policy_watch_error', err: (err as Error).message }, 'policy reload after a file change failed');
    } finally {
      this.running = false;
      if (this.pending && !this.stopped) {
        this.pending = false;
        this.changed();
      }
    }
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped || this.running) return;
    this.attach();
    const now = await this.snapshot();
    if (now !== this.fingerprint && !this.stopped) {
      this.fingerprint = now;
      this.changed();
    }
  }

  /** Name, size, mtime and inode of every policy file: any save changes at least one. */
  private async snapshot(): Promise<string> {
    const parts: string[] = [];
    for (const sub of SUBDIRS) {
      const d = path.join(this.dir, sub);
      let names: string[];
      try {
        names = (await fsp.readdir(d)).filter(isPolicyFile).sort();
      } catch {
        parts.push(`${sub}:-`);
        continue;
      }
      for (const n of names) {
        try {
          const st = await fsp.stat(path.join(d, n));
          parts.push(`${sub}/${n}:${st.size}:${st.mtimeMs}:${st.ino}`);
        } catch {
          parts.push(`${sub}/${n}:-`);
        }
      }
    }
    return parts.join('\n');
  }
}

function isPolicyFile(name: string): boolean {
  return !name.startsWith('.') && (name.endsWith('.yaml') || name.endsWith('.txt'));
}
