import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { LineCounter, parseDocument, parse as parseYamlValue, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { policySchema, type Policy } from './schema.js';
import { SourceMap } from './source-map.js';
import { PolicyError, problemAt, type PolicyProblem } from './errors.js';
import { LIST_KINDS, parseListText, validateListEntry } from './lists.js';
import { compilePolicy, type CompiledPolicy } from './compiled.js';
import { displayPath, issueMessage } from './issue-messages.js';
import { closestKey, emptyMeansDefault, knownKeysAt } from './schema-walk.js';
import { declaresSymbols, knownSymbols } from './symbols.js';
import { checkSections } from '../checks/manifests.js';

/** A `--set key=value` override, applied after the files and before validation. */
export interface Override {
  key: string;
  value: string;
}

export interface LoadOptions {
  overrides?: readonly Override[];
  /**
   * File contents that stand in for what is on disk, keyed by path relative to the policies
   * directory (null = the file is gone). `policy set` and `list add` validate the policy as
   * it would be after their edit this way, before writing anything.
   */
  files?: ReadonlyMap<string, string | null>;
}

/** Sections that have a file of their own and may not also appear in server.yaml. */
const SECTION_FILES: Readonly<Record<string, string>> = { actions: 'actions.yaml', symbols: 'symbols.yaml' };

/** The object path a policy file's top level stands for, from its path relative to the directory. */
export function sectionOfFile(rel: string): string[] | null {
  const norm = rel.split(path.sep).join('/');
  if (norm === 'server.yaml') return [];
  if (norm === 'actions.yaml') return ['actions'];
  if (norm === 'symbols.yaml') return ['symbols'];
  let m = /^checks\/([^/]+)\.yaml$/.exec(norm);
  if (m) return [m[1] as string];
  m = /^lists\/([^/]+)\.txt$/.exec(norm);
  if (m) return ['lists', m[1] as string];
  return null;
}

interface RawPolicy {
  raw: Record<string, unknown>;
  sources: SourceMap;
  problems: PolicyProblem[];
  hash: string;
}

/** Reads policy files from disk, with an optional in-memory overlay. */
class PolicyFiles {
  private readonly overlay = new Map<string, string | null>();

  constructor(
    readonly dir: string,
    files: ReadonlyMap<string, string | null> | undefined,
  ) {
    for (const [rel, text] of files ?? []) this.overlay.set(path.normalize(rel), text);
  }

  /** The file's text, or null when it does not exist. */
  async read(rel: string): Promise<string | null> {
    const key = path.normalize(rel);
    if (this.overlay.has(key)) return this.overlay.get(key) ?? null;
    try {
      return await fs.readFile(path.join(this.dir, rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Names in a subdirectory ending in `suffix`; dot files (editor and temp files) are skipped. */
  async list(sub: string, suffix: string): Promise<string[]> {
    const names = new Set<string>();
    try {
      for (const n of await fs.readdir(path.join(this.dir, sub))) names.add(n);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const [rel, text] of this.overlay) {
      if (path.dirname(rel) !== sub) continue;
      if (text === null) names.delete(path.basename(rel));
      else names.add(path.basename(rel));
    }
    return [...names].filter((n) => n.endsWith(suffix) && !n.startsWith('.')).sort();
  }
}

/** yaml's messages end in "at line N, column M:" and a code frame; we give the position ourselves. */
export function yamlMessage(e: YAMLError): string {
  if (e.code === 'DUPLICATE_KEY') return 'YAML: this key already appears above in the same mapping';
  if (e.code === 'TAB_AS_INDENT') return 'YAML: tabs cannot indent; use spaces';
  const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?\s*$/, '');
  return `YAML syntax error: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
}

/** Read every policy file into one plain object, recording where each value stands. */
async function readPolicyFiles(files: PolicyFiles): Promise<RawPolicy> {
  const dir = files.dir;
  const sources = new SourceMap();
  const problems: PolicyProblem[] = [];
  const hash = crypto.createHash('sha256');
  const raw: Record<string, unknown> = {};
  const display = (rel: string) => path.join(dir, rel);

  const readText = async (rel: string): Promise<string | null> => {
    try {
      const text = await files.read(rel);
      if (text !== null) hash.update(rel).update('\0').update(text).update('\0');
      return text;
    } catch (err) {
      problems.push({ file: display(rel), line: 0, col: 0, message: `cannot read: ${(err as Error).message}` });
      return null;
    }
  };

  const readYaml = async (rel: string, prefix: string[]): Promise<void> => {
    const file = display(rel);
    const text = await readText(rel);
    if (text === null) return;
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = lines.linePos(e.pos[0]);
        problems.push({ file, line: pos.line, col: pos.col, message: yamlMessage(e) });
      }
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ file, line: 1, col: 1, message: 'must be a mapping of keys to values (key: value lines)' });
      return;
    }
    sources.addYaml(file, doc.contents, prefix, lines);
    if (prefix.length === 0) {
      for (const [k, v] of Object.entries(value)) {
        const own = SECTION_FILES[k] ?? (k === 'lists' ? 'lists/NAME.txt' : undefined);
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
  for (const name of await files.list('checks', '.yaml')) {
    await readYaml(path.join('checks', name), [name.slice(0, -'.yaml'.length)]);
  }

  const lists: Record<string, string[]> = {};
  for (const name of await files.list('lists', '.txt')) {
    const listName = name.slice(0, -'.txt'.length);
    const rel = path.join('lists', name);
    const file = display(rel);
    const text = (await readText(rel)) ?? '';
    const kind = LIST_KINDS[listName];
    if (!kind) {
      const guess = closestKey(listName, Object.keys(LIST_KINDS));
      problems.push({
        file,
        line: 0,
        col: 0,
        message: `unknown list "${listName}"${guess ? ` (did you mean ${guess}.txt?)` : ''}; known lists: ${Object.keys(LIST_KINDS).join(', ')}`,
      });
      continue;
    }
    sources.setPrefix(file, ['lists', listName]);
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
  dropEmptySections(raw, []);
  return { raw, sources, problems, hash: hash.digest('hex').slice(0, 16) };
}

/** `admin:` with every line below it commented out means "the defaults", not "wrong type". */
function dropEmptySections(obj: Record<string, unknown>, at: readonly string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const p = [...at, k];
    if (v === null && emptyMeansDefault(p)) delete obj[k];
    else if (v && typeof v === 'object' && !Array.isArray(v)) dropEmptySections(v as Record<string, unknown>, p);
  }
}

const DEFAULTS: Policy = policySchema.parse({});

/**
 * What the text of `--set key=value` (or `policy set KEY VALUE`) means for that key:
 * comma lists where the key is a list, YAML scalars (numbers, booleans, null) elsewhere,
 * and always a string where the key is a string.
 */
export function parseOverrideValue(key: string, value: string): unknown {
  let defaultAt: unknown = DEFAULTS;
  for (const p of key.split('.')) defaultAt = defaultAt && typeof defaultAt === 'object' ? (defaultAt as Record<string, unknown>)[p] : undefined;
  if (Array.isArray(defaultAt)) return value.trim() === '' ? [] : value.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof defaultAt === 'string') return value;
  let parsed: unknown;
  try {
    parsed = parseYamlValue(value);
  } catch {
    return value;
  }
  if (parsed === null && value !== 'null' && value !== '~') return value;
  return parsed;
}

/** Apply `--set a.b.c=value` overrides to the raw policy before validation. */
export function applyOverrides(raw: Record<string, unknown>, overrides: readonly Override[], sources: SourceMap): void {
  for (const { key, value } of overrides) {
    const parts = key.split('.');
    let target = raw;
    for (const p of parts.slice(0, -1)) {
      const next = target[p];
      if (!next || typeof next !== 'object' || Array.isArray(next)) target[p] = {};
      target = target[p] as Record<string, unknown>;
    }
    target[parts[parts.length - 1] as string] = parseOverrideValue(key, value);
    sources.set(parts, { file: `--set ${key}`, line: 0, col: 0 });
  }
}

function unknownKeyMessage(parent: readonly PropertyKey[], key: string, sources: SourceMap): string {
  const pos = sources.lookupKey([...parent, key]);
  if (parent.length === 0 && pos && /(^|[/\\])checks[/\\][^/\\]+\.yaml$/.test(pos.file)) {
    return `unknown check "${key}": files in checks/ are named after a check (${Object.keys(checkSections).join(', ')})`;
  }
  const shown = displayPath(sources.relativePath([...parent, key]));
  const guess = closestKey(key, knownKeysAt(parent) ?? []);
  return `unknown key "${shown}"${guess ? ` (did you mean "${guess}"?)` : ''}`;
}

function zodProblems(error: z.ZodError, sources: SourceMap, fallback: string): PolicyProblem[] {
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
function symbolProblems(policy: Policy, sources: SourceMap, fallback: string, reportUnknown: boolean): PolicyProblem[] {
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
function symbolProblemsDespite(error: z.ZodError, raw: Record<string, unknown>, sources: SourceMap, fallback: string): PolicyProblem[] {
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

export interface LoadedPolicy {
  compiled: CompiledPolicy;
  sources: SourceMap;
}

async function checkDirectory(dir: string, files: LoadOptions['files']): Promise<void> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new PolicyError([{ file: dir, line: 0, col: 0, message: 'not a directory' }]);
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    // An overlay alone (a policy being created from nothing) needs no directory yet.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && files && files.size > 0) return;
    throw new PolicyError([{ file: dir, line: 0, col: 0, message: `cannot read the policies directory: ${(err as Error).message}` }]);
  }
}

/**
 * Load, validate and compile a policies directory. Throws PolicyError listing every
 * problem with file:line:col; never returns a half-valid policy.
 */
export async function loadPolicy(dir: string, options: LoadOptions = {}): Promise<LoadedPolicy> {
  await checkDirectory(dir, options.files);
  const { raw, sources, problems, hash } = await readPolicyFiles(new PolicyFiles(dir, options.files));
  const fallback = path.join(dir, 'server.yaml');
  if (options.overrides?.length) applyOverrides(raw, options.overrides, sources);
  const result = policySchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    problems.push(...zodProblems(result.error, sources, fallback));
    problems.push(...symbolProblemsDespite(result.error, raw, sources, fallback));
  } else problems.push(...symbolProblems(result.data, sources, fallback, true));
  if (problems.length > 0 || !result.success) throw new PolicyError(sortProblems(problems));
  const overridesHash = options.overrides?.map((o) => `${o.key}=${o.value}`).join('\n') ?? '';
  const version = crypto.createHash('sha256').update(hash).update(overridesHash).digest('hex').slice(0, 12);
  return { compiled: compilePolicy(result.data, path.resolve(dir), version), sources };
}

/** File by file in the order they are read, top to bottom: the order an admin fixes them in. */
function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
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

/** The built-in defaults alone (for unit tests and tools that run without a policies dir). */
export function defaultPolicy(overrides: Partial<Record<string, unknown>> = {}): CompiledPolicy {
  const parsed = policySchema.parse(overrides);
  return compilePolicy(parsed, '', 'defaults');
}
