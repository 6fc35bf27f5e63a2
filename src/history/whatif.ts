import type { CompiledPolicy } from '../policy/compiled.js';
import type { HistoryEntry } from './record.js';
import type { ForcedAction, RecordedForce, RecordedHit } from '../decision/hits.js';
import { decide, type Action } from '../decision/verdict.js';
import { reply } from '../decision/replies.js';
import { MANIFESTS } from '../checks/manifests.js';
import { sectionSymbols } from '../policy/symbols.js';

/**
 * `policy whatif`: replay the verdict history a server keeps (symbols hit per message with
 * their factors, and forced actions) under a draft policy. Only what the policy decides can
 * change: weights, thresholds and dry-run switches, and checks switched off. Refusals that
 * are not the policy's (relaying, unknown recipients, size limits) are skipped.
 */

const ACTIONS: ReadonlySet<string> = new Set<Action>(['accept', 'add_header', 'rewrite_subject', 'greylist', 'soft_reject', 'reject']);

export interface WhatIfChange {
  time: string;
  tx: string;
  from: string;
  ip: string;
  before: Action;
  after: Action;
  /** Undefined when the message was refused before its content was scored. */
  oldScore: number | undefined;
  newScore: number;
  /** Refused before DATA: the draft lets it further, but its content was never seen. */
  contentUnseen: boolean;
}

export interface WhatIfReport {
  total: number;
  replayed: number;
  skipped: number;
  changed: number;
  /** "before → after" counts, most frequent first. */
  transitions: Array<{ before: Action; after: Action; count: number }>;
  /** Totals per action before and after. */
  before: Partial<Record<Action, number>>;
  after: Partial<Record<Action, number>>;
  changes: WhatIfChange[];
}

/** The action the history recorded, in the verdict's words; null when no policy decision made it. */
function recordedAction(e: HistoryEntry): Action | null {
  if (e.score === undefined && e.forced.length === 0) return null;
  if (ACTIONS.has(e.action)) return e.action as Action;
  // Entries written before pre-DATA refusals were named in the verdict's words.
  if (e.action === 'tempfail') return e.forced.some((f) => f[1] === 'greylist' && !f[2]) ? 'greylist' : 'soft_reject';
  return null;
}

interface SectionSwitches {
  enabled?: boolean;
  dry_run?: boolean;
}

function section(policy: CompiledPolicy, name: string | undefined): SectionSwitches | undefined {
  if (!name) return undefined;
  const value = (policy.policy as unknown as Record<string, unknown>)[name];
  return value && typeof value === 'object' ? (value as SectionSwitches) : undefined;
}

/** Symbols that checks switched off in the draft would no longer report. */
function silencedSymbols(draft: CompiledPolicy): Set<string> {
  const out = new Set<string>();
  for (const m of MANIFESTS) {
    if (section(draft, m.name)?.enabled !== false) continue;
    for (const s of m.symbols) out.add(s);
    for (const s of sectionSymbols(m.name, draft.policy)) out.add(s.name);
  }
  return out;
}

const PLACEHOLDER_REPLY = reply(550, '5.7.1', 'replayed');

export function replayHistory(entries: readonly HistoryEntry[], draft: CompiledPolicy): WhatIfReport {
  const silenced = silencedSymbols(draft);
  const transitions = new Map<string, { before: Action; after: Action; count: number }>();
  const report: WhatIfReport = { total: entries.length, replayed: 0, skipped: 0, changed: 0, transitions: [], before: {}, after: {}, changes: [] };
  for (const e of entries) {
    const before = recordedAction(e);
    if (!before) {
      report.skipped++;
      continue;
    }
    const hits: RecordedHit[] = e.hits.filter(([name]) => !silenced.has(name)).map(([name, factor]) => ({ name, factor, check: '' }));
    const forced: RecordedForce[] = [];
    for (const [check, action, dryRun, sectionName] of e.forced) {
      const s = section(draft, sectionName);
      if (s?.enabled === false) continue;
      forced.push({
        check,
        action: action as ForcedAction['action'],
        reply: PLACEHOLDER_REPLY,
        reason: check,
        phase: 'data',
        // The draft's switches decide; without a recorded section, keep what was recorded.
        dryRun: draft.policy.dry_run || (s ? s.dry_run === true : dryRun),
      });
    }
    const verdict = decide(hits, forced, draft);
    report.replayed++;
    report.before[before] = (report.before[before] ?? 0) + 1;
    report.after[verdict.action] = (report.after[verdict.action] ?? 0) + 1;
    if (verdict.action === before) continue;
    report.changed++;
    const key = `${before}>${verdict.action}`;
    const t = transitions.get(key) ?? { before, after: verdict.action, count: 0 };
    t.count++;
    transitions.set(key, t);
    report.changes.push({
      time: e.time,
      tx: e.tx,
      from: e.from,
      ip: e.ip,
      before,
      after: verdict.action,
      oldScore: e.score,
      newScore: verdict.score,
      contentUnseen: e.score === undefined,
    });
  }
  report.transitions = [...transitions.values()].sort((a, b) => b.count - a.count || a.before.localeCompare(b.before));
  return report;
}

/** Check that a parsed JSON value looks like a history entry; returns a reason when not. */
export function historyEntryProblem(v: unknown): string | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const e = v as Record<string, unknown>;
  if (typeof e.action !== 'string') return 'no "action"';
  if (!Array.isArray(e.hits)) return 'no "hits" list';
  if (!Array.isArray(e.forced)) return 'no "forced" list';
  for (const h of e.hits) {
    if (!Array.isArray(h) || typeof h[0] !== 'string' || typeof h[1] !== 'number') return '"hits" must hold [symbol, factor] pairs';
  }
  for (const f of e.forced) {
    if (!Array.isArray(f) || typeof f[0] !== 'string' || typeof f[1] !== 'string' || typeof f[2] !== 'boolean') return '"forced" must hold [check, action, dryRun] entries';
  }
  return null;
}
