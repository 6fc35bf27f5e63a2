import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { SourceMap } from './source-map.js';
import { problemAt, type PolicyProblem } from './errors.js';
import { LIST_KINDS, parseListText, validateListEntry } from './lists.js';
import { closestKey, emptyMeansDefault } from './schema-walk.js';

/**
 * Reading a policies directory into one plain object (before validation): server.yaml,
 * actions.yaml, symbols.yaml, checks/NAME.yaml and lists/NAME.txt, each value's position
 * recorded for error messages, and a hash of what was read.
 */

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

export interface RawPolicy {
  raw: Record<string, unknown>;
  sources: SourceMap;
  problems: PolicyProblem[];
  hash: string;
}

/** Reads policy files from disk, with an optional in-memory overlay. */
export class PolicyFiles {
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
export async function readPolicyFiles(files: PolicyFiles): Promise<RawPolicy> {
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

