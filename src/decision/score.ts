import type { CompiledPolicy } from '../policy/compiled.js';
import type { RecordedHit } from './hits.js';

export interface ScoredHit {
  name: string;
  score: number;
  detail?: string;
}

/** hits × weights from symbols.yaml → a score; a symbol hit twice counts once (its highest). */
export function scoreHits(hits: readonly RecordedHit[], policy: CompiledPolicy): { score: number; scored: ScoredHit[] } {
  const best = new Map<string, ScoredHit>();
  for (const h of hits) {
    const score = round2(policy.weight(h.name) * (h.factor ?? 1));
    const prev = best.get(h.name);
    if (!prev || Math.abs(score) > Math.abs(prev.score)) best.set(h.name, h.detail ? { name: h.name, score, detail: h.detail } : { name: h.name, score });
  }
  // Names in code-unit order: localeCompare would load ICU's collation tables (some 8 MB of
  // the process's memory) to order ASCII symbol names, on every message.
  const scored = [...best.values()].sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { score: round2(scored.reduce((s, h) => s + h.score, 0)), scored };
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
