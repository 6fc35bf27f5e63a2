/**
 * Reading samples back out of Prometheus text exposition, so that routes which summarise
 * the metrics (rspamd's /stat and /counters) see the same figures as GET /metrics, summed
 * over all workers in a cluster.
 */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

// One sample line: name, optional {labels}, value. Label values are quoted with \" and \\
// escapes; the pattern has no nested quantifiers, so it stays linear on any input.
const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of the metric `name` (exact name: `_total` included for counters). */
export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ labels, value });
  }
  return out;
}

/** The sum of a metric's samples, grouped by one label. */
export function sumBy(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples(text, name)) {
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** The sum of all of a metric's samples (0 when it has none). */
export function total(text: string, name: string): number {
  return samples(text, name).reduce((sum, s) => sum + s.value, 0);
}
