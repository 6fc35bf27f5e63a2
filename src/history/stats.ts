import type { HistoryEntry } from './record.js';

/** Counts of the verdicts in a time window, as GET /stats returns them. */
export interface Stats {
  /** Seconds covered, ending now. */
  window: number;
  since: string;
  until: string;
  total: number;
  /** Final action → count (accept, add_header, reject, greylist, discard, tempfail…). */
  actions: Record<string, number>;
  /** Refusal reason key → count: the check that refused, `score`, `relay`, `unknown_recipient`… */
  reasons: Record<string, number>;
  /** True when the history holds fewer entries than the window had: the counts are a lower bound. */
  truncated: boolean;
}

/** Count history entries newer than `since` (entries come newest first). */
export function aggregate(lines: readonly string[], now: Date, windowSeconds: number, capacity: number): Stats {
  const since = new Date(now.getTime() - windowSeconds * 1000);
  const actions: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let total = 0;
  let reachedOlder = false;
  for (const line of lines) {
    let e: HistoryEntry;
    try {
      e = JSON.parse(line) as HistoryEntry;
    } catch {
      continue;
    }
    const t = Date.parse(e.time);
    if (!Number.isFinite(t)) continue;
    if (t < since.getTime()) {
      reachedOlder = true;
      break;
    }
    total++;
    actions[e.action] = (actions[e.action] ?? 0) + 1;
    if (e.refusal) reasons[e.refusal] = (reasons[e.refusal] ?? 0) + 1;
  }
  return {
    window: windowSeconds,
    since: since.toISOString(),
    until: now.toISOString(),
    total,
    actions: sortByCount(actions),
    reasons: sortByCount(reasons),
    truncated: !reachedOlder && lines.length >= capacity,
  };
}

function sortByCount(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

