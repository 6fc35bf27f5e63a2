import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Gives the heap pages a burst of mail left behind back to the system once the server is quiet.
 *
 * Under load the old generation grows (each message in flight survives a few young
 * collections), and when a full collection shrinks it again V8 keeps the freed pages in a
 * pool for reuse: they still count in the process's memory. V8 returns that pool only in a
 * memory-reducing collection, which it schedules rarely (seconds after a collection, and only
 * at a low allocation rate), so after a burst the server could hold tens of MB it no longer
 * uses, the more so as trained Bayes makes the burst's heap bigger. This watch asks for that
 * collection itself, on two conditions that keep it off the path of any client: the heap
 * shrank by at least `minReleaseBytes` from its peak (there is a pool worth returning), and the
 * process used almost no CPU in the last interval (no mail is being handled). One such
 * collection takes some tens of milliseconds and happens once per burst at most.
 *
 * A burst often ends with no full collection after it, and then nothing shrinks: the young
 * generation stays at its largest (twice the semi-space) and the old generation at its burst
 * size, some 50 MB the quiet server does not need, for as long as it stays quiet (V8's own
 * memory reducer only starts after a full collection). Such a heap, grown by `minReleaseBytes`
 * since the last release, is given back as well, but only after a long quiet (`settleMs`):
 * a memory-reducing collection also lets V8 drop the object layouts no live object uses at
 * that moment (every per-message one, when no mail is in flight) and the optimised code built
 * on them, so the next burst's first messages run slower while that code is compiled again
 * (some hundreds of ms of CPU in all). Between bursts seconds apart that is not worth it.
 *
 * A memory-reducing collection also throws away the bytecode of every function that is not
 * running at that moment (V8 forces code flushing then), so the next burst would begin by
 * compiling and optimising much of the server again. Bytecode flushing is switched off for
 * the collection itself; V8's usual flushing of code unused for a long time is left as it was.
 */

/** V8's collection of all it can, returning its pooled pages ("last-resort": several passes, shrinking the young generation too). */
type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export interface HeapReleaseOptions {
  /** How often to look (ms); also the quiet window the CPU is measured over. */
  intervalMs?: number;
  /** What a release must have to give back to be worth its pause: the committed heap shrunk this much from its peak, or grown this much since the last release. */
  minReleaseBytes?: number;
  /** Share of one core below which the process counts as quiet. */
  quietCpuShare?: number;
  /** Quiet time (ms) after which a heap grown by `minReleaseBytes` since the last release is given back too. */
  settleMs?: number;
  /** Told of each release: committed heap before and after (bytes), the pause (ms). */
  onRelease?: (info: { beforeBytes: number; afterBytes: number; pauseMs: number }) => void;
}

export interface HeapRelease {
  stop(): void;
}

const committed = (): number => v8.getHeapStatistics().total_heap_size;

/** Whether V8 flushes bytecode at all in this process (on unless Node was told otherwise). */
const flushing = ![...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((option) => /^--no[-_]?flush[-_]bytecode$/.test(option));

export function startHeapRelease(options: HeapReleaseOptions = {}): HeapRelease {
  const intervalMs = options.intervalMs ?? 250;
  const minRelease = options.minReleaseBytes ?? 16 * 1024 * 1024;
  const quietShare = options.quietCpuShare ?? 0.05;
  const settleMs = options.settleMs ?? 30_000;
  let collect: Collect | null = null;
  let peak = committed();
  // Committed heap after the last release; none yet, so a server that starts and stays quiet
  // also returns what loading the program and its policy left behind.
  let settled = 0;
  let quietMs = 0;
  let cpu = process.cpuUsage();
  let at = performance.now();
  const timer = setInterval(() => {
    const now = committed();
    peak = Math.max(peak, now);
    const used = process.cpuUsage(cpu);
    const elapsed = performance.now() - at;
    cpu = process.cpuUsage();
    at = performance.now();
    quietMs = (used.user + used.system) / 1000 > elapsed * quietShare ? 0 : quietMs + elapsed;
    const shrunk = peak - now >= minRelease;
    const grown = now - settled >= minRelease;
    if (quietMs === 0 || !(shrunk || (grown && quietMs >= settleMs))) return;
    collect ??= exposedCollect();
    const started = performance.now();
    if (flushing) v8.setFlagsFromString('--no-flush-bytecode');
    try {
      collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    } finally {
      if (flushing) v8.setFlagsFromString('--flush-bytecode');
    }
    const pauseMs = performance.now() - started;
    settled = peak = committed();
    quietMs = 0;
    // The collection's own CPU is not the mail's: start the next quiet window after it.
    cpu = process.cpuUsage();
    at = performance.now();
    options.onRelease?.({ beforeBytes: now, afterBytes: peak, pauseMs });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * V8's `gc` function without starting Node with --expose-gc (the launcher's options are its
 * own): the flag is set for as long as it takes a fresh context to receive the function,
 * and cleared again, so no other context (and not the server's own) ever sees a `gc` global.
 */
function exposedCollect(): Collect {
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as Collect;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
