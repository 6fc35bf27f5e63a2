import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Time for one message's content rules. Each rule runs in one piece (a regex cannot be
 * paused), so between rules the scan gives the event loop a turn once it has held it for
 * SLICE_MS, and stops when the message's budget is spent: other connections are served
 * while a message with many rules is scanned, and no message costs more than the budget.
 */
const SLICE_MS = 20;

export class ScanBudget {
  private readonly started = performance.now();
  private sliceStarted = this.started;
  /** Time spent waiting for our turn back does not count against the message. */
  private waited = 0;

  constructor(readonly ms: number) {}

  spent(): boolean {
    return performance.now() - this.started - this.waited >= this.ms;
  }

  async yieldIfDue(): Promise<void> {
    const now = performance.now();
    if (now - this.sliceStarted < SLICE_MS) return;
    await nextTurn();
    this.sliceStarted = performance.now();
    this.waited += this.sliceStarted - now;
  }
}
