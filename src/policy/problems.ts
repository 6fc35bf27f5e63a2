import type { z } from 'zod';
import { policySchema, type Policy } from './schema.js';
import type { SourceMap } from './source-map.js';
import { problemAt, type PolicyProblem } from './errors.js';
import { sectionOfFile } from './files.js';
import { displayPath, issueMessage } from './issue-messages.js';
import { closestKey, knownKeysAt } from './schema-walk.js';
import { declaresSymbols, knownSymbols } from './symbols.js';
import { checkSections } from '../checks/manifests.js';

/** Turning what is wrong with a policy into problems with file:line:column, in the order an admin fixes them. */

function unknownKeyMessage(parent: readonly PropertyKey[], key: string, sources: SourceMap): string {
  const pos = sources.lookupKey([...parent, key]);
  if (parent.length === 0 && pos && /(^|[/\\])checks[/\\][^/\\]+\.yaml$/.test(pos.file)) {
    return `unknown check "${key}": files in checks/ are named after a check (${Object.keys(checkSections).join(', ')})`;
  }
  const shown = displayPath(sources.relativePath([...parent, key]));
  const guess = closestKey(key, knownKeysAt(parent) ?? []);
  return `unknown key "${shown}"${guess ? ` (did you mean "${guess}"?)` : ''}`;
}

export function zodProblems(error: z.ZodError, sources: SourceMap, fallback: string): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        out.push(problemAt(sources.lookupKey([...issue.path, k]), fallback, unknownKeyMessage(issue.path, k, sources)));
      }
      continue;
    }
    const key = displayPath(sources.relativePath(issue.path));
    // A bad record key (a symbol's name) is pointed at where the name stands.
    const pos = issue.code === 'invalid_key' ? sources.lookupKey(issue.path) : sources.lookup(issue.path);
    out.push(problemAt(pos, fallback, issueMessage(issue, key)));
  }
  return out;
}

/** Cross-checks zod cannot express: every scored symbol is one a check can emit, and back. */
export function symbolProblems(policy: Policy, sources: SourceMap, fallback: string, reportUnknown: boolean): PolicyProblem[] {
  const known = knownSymbols(policy);
  const out: PolicyProblem[] = [];
  if (reportUnknown) {
    for (const name of Object.keys(policy.symbols)) {
      if (known.has(name)) continue;
      const guess = closestKey(name, [...known.keys()]);
      out.push(problemAt(sources.lookupKey(['symbols', name]), fallback, `unknown symbol "${name}": no check emits it${guess ? ` (did you mean ${guess}?)` : ''}`));
    }
  }
  for (const [name, where] of known) {
    if (where.required && !(name in policy.symbols)) {
      out.push(problemAt(sources.lookup(where.path), fallback, `symbol "${name}" has no score in symbols.yaml`));
    }
  }
  return out;
}

/**
 * When the schema fails, still look for unknown symbols, so one run lists every problem:
 * validate again without the broken sections. A dropped section that names symbols of its
 * own (content rules) would make those look unknown, so unknown ones are then not reported.
 */
export function symbolProblemsDespite(error: z.ZodError, raw: Record<string, unknown>, sources: SourceMap, fallback: string): PolicyProblem[] {
  const partial: Record<string, unknown> = { ...raw };
  const dropped = new Set<string>();
  for (const issue of error.issues) {
    if (issue.path.length === 0 && issue.code === 'unrecognized_keys') issue.keys.forEach((k) => dropped.add(k));
    else if (issue.path.length > 0) dropped.add(String(issue.path[0]));
  }
  if (dropped.has('symbols')) return [];
  for (const k of dropped) delete partial[k];
  const retry = policySchema.safeParse(partial);
  if (!retry.success) return [];
  const namesOwnSymbols = [...dropped].some(declaresSymbols);
  return symbolProblems(retry.data, sources, fallback, !namesOwnSymbols);
}

/** File by file in the order they are read, top to bottom: the order an admin fixes them in. */
export function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
  const rank = (file: string): number => {
    const rel = /(?:^|[/\\])((?:checks|lists)[/\\][^/\\]+|[^/\\]+)$/.exec(file)?.[1] ?? file;
    const section = sectionOfFile(rel);
    if (!section) return 5;
    if (section.length === 0) return 0;
    if (section[0] === 'actions' && rel.endsWith('actions.yaml')) return 1;
    if (section[0] === 'symbols' && rel.endsWith('symbols.yaml')) return 2;
    return section[0] === 'lists' ? 4 : 3;
  };
  return problems
    .map((p, i) => ({ p, i, r: rank(p.file) }))
    .sort((a, b) => a.r - b.r || (a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : 0) || a.p.line - b.p.line || a.p.col - b.p.col || a.i - b.i)
    .map(({ p }) => p);
}

