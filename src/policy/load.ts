import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { LineCounter, parseDocument, parse as parseYamlValue } from 'yaml';
import type { z } from 'zod';
import { policySchema, type Policy } from './schema.js';
import { SourceMap } from './source-map.js';
import { PolicyError, problemAt, type PolicyProblem } from './errors.js';
import { LIST_KINDS, parseListText, validateListEntry } from './lists.js';
import { compilePolicy, type CompiledPolicy } from './compiled.js';
import { knownSymbols } from '../checks/registry.js';

/** A `--set key=value` override, applied after the files and before validation. */
export interface Override {
  key: string;
  value: string;
}

export interface LoadOptions {
  overrides?: readonly Override[];
}

/** Sections that have a file of their own and may not also appear in server.yaml. */
const SECTION_FILES: Readonly<Record<string, string>> = { actions: 'actions.yaml', symbols: 'symbols.yaml' };

interface RawPolicy {
  raw: Record<string, unknown>;
  sources: SourceMap;
  problems: PolicyProblem[];
  hash: string;
}

/** Read every policy file into one plain object, recording where each value stands. */
async function readPolicyFiles(dir: string): Promise<RawPolicy> {
  const sources = new SourceMap();
  const problems: PolicyProblem[] = [];
  const hash = crypto.createHash('sha256');
  const raw: Record<string, unknown> = {};
  const display = (rel: string) => path.join(dir, rel);

  const readYaml = async (rel: string, prefix: string[]): Promise<void> => {
    const file = display(rel);
    let text: string;
    try {
      text = await fs.readFile(path.join(dir, rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      problems.push({ file, line: 0, col: 0, message: `cannot read: ${(err as Error).message}` });
      return;
    }
    hash.update(rel).update('\0').update(text).update('\0');
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = lines.linePos(e.pos[0]);
        problems.push({ file, line: pos.line, col: pos.col, message: e.message.split('\n')[0] ?? e.message });
      }
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ file, line: 1, col: 1, message: 'must be a mapping of keys to values' });
      return;
    }
    sources.addYaml(file, doc.contents, prefix, lines);
    if (prefix.length === 0) {
      for (const [k, v] of Object.entries(value)) {
        const own = SECTION_FILES[k] ?? (k in raw ? 'checks/' + k + '.yaml' : undefined);
        if (own) {
          problems.push(problemAt(sources.lookupKey([k]), file, `${k} belongs in ${display(own)}`));
          continue;
        }
        raw[k] = v;
      }
    } else {
      const key = prefix[0] as string;
      if (key in raw) {
        problems.push({ file, line: 1, col: 1, message: `${key} is also set in ${display('server.yaml')}; keep it in one place` });
        return;
      }
      raw[key] = value;
    }
  };

  await readYaml('server.yaml', []);
  await readYaml('actions.yaml', ['actions']);
  await readYaml('symbols.yaml', ['symbols']);
  for (const name of await listDir(path.join(dir, 'checks'), '.yaml')) {
    await readYaml(path.join('checks', name), [name.slice(0, -'.yaml'.length)]);
  }

  const lists: Record<string, string[]> = {};
  for (const name of await listDir(path.join(dir, 'lists'), '.txt')) {
    const listName = name.slice(0, -'.txt'.length);
    const rel = path.join('lists', name);
    const file = display(rel);
    const text = await fs.readFile(path.join(dir, rel), 'utf8').catch((err: Error) => {
      problems.push({ file, line: 0, col: 0, message: `cannot read: ${err.message}` });
      return '';
    });
    hash.update(rel).update('\0').update(text).update('\0');
    const kind = LIST_KINDS[listName];
    if (!kind) {
      problems.push({ file, line: 0, col: 0, message: `unknown list "${listName}"; known lists: ${Object.keys(LIST_KINDS).join(', ')}` });
      continue;
    }
    const entries: string[] = [];
    for (const entry of parseListText(text)) {
      const err = validateListEntry(kind, entry.value);
      if (err) problems.push({ file, line: entry.line, col: entry.col, message: err });
      else {
        sources.set(['lists', listName, entries.length], { file, line: entry.line, col: entry.col });
        entries.push(entry.value);
      }
    }
    lists[listName] = entries;
  }
  if (Object.keys(lists).length > 0) raw.lists = lists;
  return { raw, sources, problems, hash: hash.digest('hex').slice(0, 16) };
}

async function listDir(dir: string, suffix: string): Promise<string[]> {
  try {
    const names = await fs.readdir(dir);
    return names.filter((n) => n.endsWith(suffix) && !n.startsWith('.')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

const DEFAULTS: Policy = policySchema.parse({});

/** Apply `--set a.b.c=value`: YAML scalars (numbers, booleans), comma lists where the key is a list. */
export function applyOverrides(raw: Record<string, unknown>, overrides: readonly Override[], sources: SourceMap): void {
  for (const { key, value } of overrides) {
    const parts = key.split('.');
    let defaultAt: unknown = DEFAULTS;
    for (const p of parts) defaultAt = defaultAt && typeof defaultAt === 'object' ? (defaultAt as Record<string, unknown>)[p] : undefined;
    let parsed: unknown;
    if (Array.isArray(defaultAt)) parsed = value === '' ? [] : value.split(',').map((s) => s.trim()).filter(Boolean);
    else {
      try {
        parsed = parseYamlValue(value);
      } catch {
        parsed = value;
      }
      if (parsed === null && value !== 'null' && value !== '~') parsed = value;
      if (typeof defaultAt === 'string' && typeof parsed !== 'string') parsed = value;
    }
    let target = raw;
    for (const p of parts.slice(0, -1)) {
      const next = target[p];
      if (!next || typeof next !== 'object' || Array.isArray(next)) target[p] = {};
      target = target[p] as Record<string, unknown>;
    }
    target[parts[parts.length - 1] as string] = parsed;
    sources.set(parts, { file: `--set ${key}`, line: 0, col: 0 });
  }
}

function zodProblems(error: z.ZodError, sources: SourceMap, fallback: string): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const p = [...issue.path, k];
        out.push(problemAt(sources.lookupKey(p), fallback, `unknown key "${p.join('.')}"`));
      }
      continue;
    }
    const where = issue.path.join('.') || '(top level)';
    const message = issue.code === 'custom' ? issue.message : `${where}: ${issue.message}`;
    out.push(problemAt(sources.lookup(issue.path), fallback, message));
  }
  return out;
}

/** Cross-checks zod cannot express: every scored symbol is one a check can emit, and back. */
function symbolProblems(policy: Policy, sources: SourceMap, fallback: string): PolicyProblem[] {
  const known = knownSymbols(policy);
  const out: PolicyProblem[] = [];
  for (const name of Object.keys(policy.symbols)) {
    if (!known.has(name)) {
      out.push(problemAt(sources.lookupKey(['symbols', name]), fallback, `unknown symbol "${name}": no check emits it`));
    }
  }
  for (const [name, where] of known) {
    if (where.required && !(name in policy.symbols)) {
      out.push(problemAt(sources.lookup(where.path), fallback, `symbol "${name}" has no score in symbols.yaml`));
    }
  }
  return out;
}

export interface LoadedPolicy {
  compiled: CompiledPolicy;
  sources: SourceMap;
}

/**
 * Load, validate and compile a policies directory. Throws PolicyError listing every
 * problem with file:line:col; never returns a half-valid policy.
 */
export async function loadPolicy(dir: string, options: LoadOptions = {}): Promise<LoadedPolicy> {
  const { raw, sources, problems, hash } = await readPolicyFiles(dir);
  const fallback = path.join(dir, 'server.yaml');
  if (options.overrides?.length) applyOverrides(raw, options.overrides, sources);
  const result = policySchema.safeParse(raw);
  if (!result.success) problems.push(...zodProblems(result.error, sources, fallback));
  else problems.push(...symbolProblems(result.data, sources, fallback));
  if (problems.length > 0 || !result.success) throw new PolicyError(problems);
  const overridesHash = options.overrides?.map((o) => `${o.key}=${o.value}`).join('\n') ?? '';
  const version = crypto.createHash('sha256').update(hash).update(overridesHash).digest('hex').slice(0, 12);
  return { compiled: compilePolicy(result.data, path.resolve(dir), version), sources };
}

/** The built-in defaults alone (for unit tests and tools that run without a policies dir). */
export function defaultPolicy(overrides: Partial<Record<string, unknown>> = {}): CompiledPolicy {
  const parsed = policySchema.parse(overrides);
  return compilePolicy(parsed, '', 'defaults');
}
