/**
 * Full (mark-compact) collections a Borderpatrol server has run, from its /metrics: Node's
 * GC histogram as prom-client exports it, summed over workers by the server. Counted per
 * workload, it shows whether full collections follow the load or run back to back.
 */
const MAJOR = /^borderpatrol_nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m;

/** The count so far, or NaN when the server does not export it. */
export async function fullCollections(metricsUrl: string): Promise<number> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    const m = MAJOR.exec(await res.text());
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
