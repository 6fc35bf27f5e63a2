/**
 * The one timeout race: every wait on something outside the process (a DNS answer, a check's
 * backend, Redis) has a deadline, and the timer never outlives the wait it bounds.
 */

/** `work`'s result, or a rejection with `onTimeout()` once `ms` milliseconds pass first. */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `work` at most `ms` milliseconds; true when it settled in time (its failure counts as settled). */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  try {
    return await withDeadline(settled, ms, () => new Error('deadline'));
  } catch {
    return false;
  }
}
