/**
 * Expiry in slices. Sweeping runs on the event loop like everything else the store does:
 * dropping 10,000 expired rows holds every client for ~10 ms, and all parts at once add
 * up. So each statement deletes at most SWEEP_SLICE rows (about a millisecond), and the
 * parts take turns, one per tick.
 */
export const SWEEP_SLICE = 1000;

/** Between two ticks: each of N jobs runs every N ticks (1,000 rows per 6 s with four jobs, as many as 10,000 a minute). */
export const SWEEP_TICK_MS = 1500;

export interface SweepJob {
  name: string;
  run: () => void;
  /** Run on every n-th of its turns only (a job whose slices cost more, or that rarely has anything to do). */
  every?: number;
}

export class SweepSchedule {
  private timer: NodeJS.Timeout | null = null;
  private turn = 0;

  constructor(
    private readonly jobs: readonly SweepJob[],
    private readonly onError: (job: string, err: Error) => void,
  ) {}

  start(tickMs: number): void {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The next job in turn. */
  private tick(): void {
    const job = this.jobs[this.turn % this.jobs.length];
    const round = Math.floor(this.turn / this.jobs.length);
    this.turn++;
    if (!job || round % (job.every ?? 1) !== 0) return;
    try {
      job.run();
    } catch (err) {
      this.onError(job.name, err as Error);
    }
  }
}
