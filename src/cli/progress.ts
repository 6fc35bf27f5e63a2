/**
 * Progress of a long CLI job on stderr: a bar redrawn in place on a terminal, a plain line
 * every few seconds otherwise (logs and pipes), and always a final summary line. Progress
 * is measured in input bytes, because an mbox's message count is unknown until it is read.
 */
export interface ProgressOptions {
  label: string;
  /** Total input bytes, or null when unknown (stdin): no percentage or ETA then. */
  totalBytes: number | null;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds between plain lines when not on a terminal. */
  lineInterval?: number;
  now?: () => number;
}

export class Progress {
  private count = 0;
  private bytes = 0;
  private readonly started: number;
  private lastDraw = 0;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = !!this.stream.isTTY;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.lastDraw = this.started;
  }

  tick(bytes: number): void {
    this.count++;
    this.bytes += bytes;
    const now = this.now();
    const interval = this.tty ? 100 : (this.options.lineInterval ?? 2000);
    if (now - this.lastDraw < interval) return;
    this.lastDraw = now;
    this.draw(false);
  }

  /** The summary line; `extra` is appended (e.g. "1200 learned, 3 already learned"). */
  done(extra = ''): void {
    this.draw(true, extra);
  }

  private draw(final: boolean, extra = ''): void {
    const elapsed = Math.max(1e-3, (this.now() - this.started) / 1000);
    const rate = this.count / elapsed;
    const parts = [`${this.options.label}: ${this.count} message${this.count === 1 ? '' : 's'}`, `${rate.toFixed(rate < 10 ? 1 : 0)} msg/s`];
    const total = this.options.totalBytes;
    let bar = '';
    if (total && !final) {
      const fraction = Math.min(1, this.bytes / total);
      const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : 0;
      parts.push(`${Math.floor(fraction * 100)}%`, `ETA ${clock(eta)}`);
      if (this.tty) bar = `[${'#'.repeat(Math.round(fraction * 24)).padEnd(24, '.')}] `;
    }
    if (final) parts.push(`in ${clock(elapsed)}`);
    if (extra) parts.push(extra);
    const line = bar + parts.join(', ');
    if (this.tty) this.stream.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
    else this.stream.write(line + '\n');
  }
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
