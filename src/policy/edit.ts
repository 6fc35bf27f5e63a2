import fs from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { LineCounter, parseDocument } from 'yaml';
import { loadPolicy } from './load.js';
import { parseOverrideValue } from './overrides.js';
import { yamlMessage } from './files.js';
import { PolicyError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { writeFileAtomic } from './atomic-write.js';
import { getYamlValue, setYamlValue } from './yaml-edit.js';
import { LIST_KINDS, parseListText, validateListEntry, type ListKind } from './lists.js';
import { closestKey, kindAt, knownKeysAt, schemaAt } from './schema-walk.js';
import { checkSections } from '../checks/manifests.js';

/**
 * Edits of the policy files from the command line (`policy set`, `list add|remove`). Every
 * edit runs under one lock per policies directory, re-reads the file under it, validates the
 * whole policy as it would be after the edit, and only then replaces the file atomically.
 * The running server's watcher picks the change up like any other edit.
 */

/** One lock per directory: an edit validates the whole policy, so edits must not interleave. */
export const EDIT_LOCK_FILE = '.borderpatrol-edit.lock';

/** The edit cannot be made as asked (unknown key, value not on the list): exit code 1. */
export class EditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EditError';
  }
}

export interface EditResult<I> {
  /** False when the file already said what was asked. */
  changed: boolean;
  /** The file edited, as dir/rel. */
  file: string;
  info: I;
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function requireDirectory(dir: string): Promise<void> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new PolicyError([{ file: dir, line: 0, col: 0, message: 'no such policies directory' }]);
}

/**
 * Change one file of the policy: `change` gets the current text (null when the file does not
 * exist) and returns the new text, or null for "nothing to do". Throws PolicyError, with the
 * positions in the edited text, when the policy would not be valid afterwards.
 */
export async function editPolicyFile<I>(
  dir: string,
  rel: string,
  change: (current: string | null) => { text: string | null; info: I },
): Promise<EditResult<I>> {
  await requireDirectory(dir);
  const file = path.join(dir, rel);
  return withFileLock(path.join(dir, EDIT_LOCK_FILE), async () => {
    const current = await readOrNull(file);
    const { text, info } = change(current);
    if (text === null || text === current) return { changed: false, file, info };
    await loadPolicy(dir, { files: new Map([[rel, text]]) });
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, text);
    return { changed: true, file, info };
  });
}

// ---- policy set ------------------------------------------------------------------------

export interface KeyLocation {
  /** File relative to the policies directory. */
  rel: string;
  /** Path of the key inside that file. */
  docPath: string[];
}

/** Which file holds a key: actions.yaml, symbols.yaml, checks/NAME.yaml, or server.yaml. */
export function locateKey(parts: readonly string[], serverYaml: string | null): KeyLocation {
  const [head, ...rest] = parts as [string, ...string[]];
  if (head === 'actions') return { rel: 'actions.yaml', docPath: rest };
  if (head === 'symbols') return { rel: 'symbols.yaml', docPath: rest };
  if (Object.hasOwn(checkSections, head)) {
    // A check's section may live in server.yaml; otherwise it has a file of its own.
    const inServer = serverYaml !== null && getYamlValue(serverYaml, [head]) !== undefined;
    return inServer ? { rel: 'server.yaml', docPath: [...parts] } : { rel: path.join('checks', `${head}.yaml`), docPath: rest };
  }
  return { rel: 'server.yaml', docPath: [...parts] };
}

/** Refuse keys that do not exist or are whole sections, with a suggestion where one fits. */
export function checkSettableKey(key: string): string[] {
  const parts = key.split('.');
  if (parts.some((p) => p === '')) throw new EditError(`"${key}" is not a key: use dotted names such as actions.reject or limits.max_recipients`);
  if (parts[0] === 'lists') throw new EditError('lists are edited with "list add|remove LIST VALUE"');
  if (!schemaAt(parts)) {
    let known: readonly string[] = [];
    let i = parts.length - 1;
    for (; i >= 0; i--) {
      const keys = knownKeysAt(parts.slice(0, i));
      if (keys) {
        known = keys;
        break;
      }
    }
    const bad = parts[Math.max(i, 0)] as string;
    const guess = closestKey(bad, known);
    const where = i > 0 ? ` in ${parts.slice(0, i).join('.')}` : '';
    throw new EditError(`unknown key "${key}"${guess ? ` (did you mean "${[...parts.slice(0, i), guess].join('.')}"?)` : `: "${bad}" is not a key${where}`}`);
  }
  const kind = kindAt(parts);
  if (kind === 'object' || kind === 'record') {
    const keys = knownKeysAt(parts);
    throw new EditError(`${key} is a section; set one of its keys${keys ? ` (${keys.join(', ')})` : ''}`);
  }
  return parts;
}

export interface SetInfo {
  previous: unknown;
  value: unknown;
  rel: string;
}

/** Editing text that does not parse could only make it worse: say where it is broken. */
function refuseBrokenYaml(file: string, text: string): void {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length === 0) return;
  throw new PolicyError(
    doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { file, line: pos.line, col: pos.col, message: `${yamlMessage(e)} (fix this before editing the file with policy set)` };
    }),
  );
}

/** `policy set KEY VALUE`: write one scalar (or comma list) where the policy keeps it. */
export async function setPolicyKey(dir: string, key: string, valueText: string): Promise<EditResult<SetInfo>> {
  const parts = checkSettableKey(key);
  const value = parseOverrideValue(key, valueText);
  const serverYaml = await readOrNull(path.join(dir, 'server.yaml'));
  const { rel, docPath } = locateKey(parts, serverYaml);
  return editPolicyFile(dir, rel, (current) => {
    if (current !== null) refuseBrokenYaml(path.join(dir, rel), current);
    const previous = current === null ? undefined : getYamlValue(current, docPath);
    if (isDeepStrictEqual(previous, value)) return { text: null, info: { previous, value, rel } };
    return { text: setYamlValue(current ?? '', docPath, value), info: { previous, value, rel } };
  });
}

// ---- lists ---------------------------------------------------------------------------------

export function listKind(name: string): ListKind {
  const kind = LIST_KINDS[name];
  if (!kind) {
    const guess = closestKey(name, Object.keys(LIST_KINDS));
    throw new EditError(`unknown list "${name}"${guess ? ` (did you mean ${guess}?)` : ''}; known lists: ${Object.keys(LIST_KINDS).join(', ')}`);
  }
  return kind;
}

export function listFile(name: string): string {
  return path.join('lists', `${name}.txt`);
}

/** Entries compare without case: domains, addresses and IPv6 text are case-insensitive. */
function sameEntry(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function checkEntryText(value: string, comment: string | undefined): void {
  if (!value || /[\s#]/.test(value)) throw new EditError(`"${value}": a list entry is one word without spaces or "#"`);
  if (comment !== undefined && /[\r\n]/.test(comment)) throw new EditError('--comment must be one line');
}

export interface ListAddInfo {
  /** Line the entry stands on (the existing one when it was already there). */
  line: number;
  already: boolean;
}

/** Append `VALUE  # COMMENT` unless the value is already on the list. Comments and layout stay. */
export function addListEntryText(text: string | null, value: string, comment?: string): { text: string | null; info: ListAddInfo } {
  const current = text ?? '';
  const existing = parseListText(current).find((e) => sameEntry(e.value, value));
  if (existing) return { text: null, info: { line: existing.line, already: true } };
  const eol = current.includes('\r\n') ? '\r\n' : '\n';
  const base = current === '' || current.endsWith('\n') ? current : current + eol;
  const line = comment ? `${value}  # ${comment.trim()}` : value;
  const lineNumber = base === '' ? 1 : base.split(/\r?\n/).length;
  return { text: base + line + eol, info: { line: lineNumber, already: false } };
}

/** Drop every line whose entry is `value`; comment lines and other entries stay as they are. */
export function removeListEntryText(text: string | null, value: string): { text: string | null; info: { removed: number } } {
  if (text === null) return { text: null, info: { removed: 0 } };
  const drop = new Set(parseListText(text).filter((e) => sameEntry(e.value, value)).map((e) => e.line));
  if (drop.size === 0) return { text: null, info: { removed: 0 } };
  const kept = text.split(/(?<=\n)/).filter((_, i) => !drop.has(i + 1));
  return { text: kept.join(''), info: { removed: drop.size } };
}

export async function addListEntry(dir: string, list: string, value: string, comment?: string): Promise<EditResult<ListAddInfo>> {
  const kind = listKind(list);
  checkEntryText(value, comment);
  const wrong = validateListEntry(kind, value);
  if (wrong) throw new PolicyError([{ file: path.join(dir, listFile(list)), line: 0, col: 0, message: `${wrong}; nothing written` }]);
  return editPolicyFile(dir, listFile(list), (current) => addListEntryText(current, value, comment));
}

export async function removeListEntry(dir: string, list: string, value: string): Promise<EditResult<{ removed: number }>> {
  listKind(list);
  checkEntryText(value, undefined);
  return editPolicyFile(dir, listFile(list), (current) => removeListEntryText(current, value));
}
