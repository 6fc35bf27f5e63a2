import { isDeepStrictEqual } from 'node:util';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, stringify, type Node } from 'yaml';

/**
 * Set one value in a YAML file's text without disturbing anything else: comments, blank
 * lines, key order, alignment of trailing comments. An existing scalar (or flow list) is
 * replaced where it stands; a new key is inserted as the last line of its parent mapping.
 * Where neither fits (a block list, a flow mapping) it falls back to yaml's Document API,
 * which keeps comments but may normalise spacing.
 */
export function setYamlValue(text: string, path: readonly string[], value: unknown): string {
  const spliced = trySplice(text, path, value);
  if (spliced !== null && reads(spliced, path, value)) return spliced;
  const doc = parseDocument(text);
  const node = doc.getIn(path, true);
  if (isScalar(node)) node.value = value;
  else {
    try {
      doc.setIn(path, doc.createNode(value, { flow: Array.isArray(value) }));
    } catch {
      throw new Error(`cannot set ${path.join('.')}: a parent of it is not a mapping`);
    }
  }
  return doc.toString();
}

/** The value at `path` in the text, as plain data (undefined when absent). */
export function getYamlValue(text: string, path: readonly string[]): unknown {
  const doc = parseDocument(text);
  const node = doc.getIn(path, true) as Node | undefined;
  return node === undefined ? undefined : (node as { toJSON(): unknown }).toJSON();
}

/** The edit did what it meant to: the text still parses and holds the value at the path. */
function reads(text: string, path: readonly string[], value: unknown): boolean {
  return parseDocument(text).errors.length === 0 && isDeepStrictEqual(getYamlValue(text, path), value);
}

/** A value written on one line: scalars as YAML would quote them, lists in flow style. */
function inline(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trimEnd();
}

function trySplice(text: string, path: readonly string[], value: unknown): string | null {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) return null;
  const existing = doc.getIn(path, true) as Node | undefined;
  if (existing !== undefined) {
    const range = existing.range;
    if (!range) return null;
    if (isScalar(existing) || (isSeq(existing) && existing.flow)) return text.slice(0, range[0]) + inline(value) + text.slice(range[1]);
    if (isSeq(existing) && Array.isArray(value) && value.length > 0) {
      // A block list is rewritten in place, one "- item" per line at its own indentation.
      const pad = ' '.repeat(lines.linePos(range[0]).col - 1);
      const body = value.map((v) => `- ${inline(v)}`).join('\n' + pad);
      const tail = text.slice(range[1]);
      return text.slice(0, range[0]) + body + (text.slice(0, range[1]).endsWith('\n') ? '\n' : '') + tail;
    }
    return null;
  }
  // Find the deepest mapping on the path that exists; the rest is written below it.
  let depth = path.length - 1;
  let parent: unknown = doc.contents;
  for (; depth > 0; depth--) {
    const n: unknown = doc.getIn(path.slice(0, depth), true);
    if (n !== undefined && n !== null) {
      parent = n;
      break;
    }
  }
  const rest = path.slice(depth);
  if (parent === null || parent === undefined) {
    // Empty file or one with comments only: append at the end.
    return appendLines(text, text.length, 0, rest, value);
  }
  if (!isMap(parent) || parent.flow || !parent.range) return null;
  const first = parent.items[0];
  const keyRange = first && isScalar(first.key) ? first.key.range : undefined;
  const indent = keyRange ? lines.linePos(keyRange[0]).col - 1 : 0;
  return appendLines(text, parent.range[1], indent, rest, value);
}

function appendLines(text: string, at: number, indent: number, rest: readonly string[], value: unknown): string {
  const out: string[] = [];
  rest.forEach((key, i) => {
    const pad = ' '.repeat(indent + 2 * i);
    const k = inline(key);
    out.push(i === rest.length - 1 ? `${pad}${k}: ${inline(value)}` : `${pad}${k}:`);
  });
  const before = text.slice(0, at);
  const lead = before === '' || before.endsWith('\n') ? '' : '\n';
  return before + lead + out.join('\n') + '\n' + text.slice(at);
}
