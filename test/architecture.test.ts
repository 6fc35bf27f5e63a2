import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The shape of src/, checked: every relative import resolved to the first-level folder it
 * lands in (a file directly in src/ counts as its own unit, `main.ts`), and the folders must
 * import one way, bottom up, in the order below. A folder may import from any layer below
 * its own and from nothing beside or above it, so no cycle can form.
 */
/** Check manifests are read by policy/ (below the checks' code), so they count as a unit of their own. */
const MANIFESTS = 'checks/*/manifest';
const MANIFEST_FILE = /^checks\/(?:manifests?\.ts|[^/]+\/manifest\.ts)$/;

const LAYERS: readonly (readonly string[])[] = [
  ['observability'], // logger, metrics
  ['net'], // IP/CIDR, DNS
  ['mail'], // parsing a message: MIME, text, URLs, addresses, header block
  [MANIFESTS], // what each check declares (name, runs and phases, section schema, symbols), without its code
  ['policy'], // schema (from the check manifests), load, validate, compile, live holder, edits
  ['stores'], // per-feature store parts; sqlite/memory and redis backends
  ['decision'], // score, verdict, replies
  ['pipeline'], // the check contract, the runner, the scan cap
  ['bayes'], // the classifier the bayes check and the learn commands share
  ['checks'], // one check per folder
  ['relay', 'history'], // the Postfix client; history: record, stats, replay
  ['session'], // the SMTP transaction without a socket
  ['smtp', 'milter', 'admin', 'cli'], // doors
  ['main.ts'], // the composition root: the only place that picks implementations
  ['cluster'], // `serve`: one process, or workers each running main.ts
  ['cli.ts'], // the command line's entry: each command's module
];

/** Packages only one folder may import, by the job that folder has alone. */
const PACKAGE_OWNERS: Readonly<Record<string, readonly string[]>> = {
  'smtp-server': ['smtp'],
};

/** Choosing the store (embedded or Redis) is the composition roots' job: main.ts for the server, engine.ts for a CLI command. */
const STORE_CHOICE = 'stores/open.ts';
const STORE_CHOOSERS: readonly string[] = ['main.ts', 'cli/engine.ts'];
const STORE_CLASSES = /^stores\/(?:sqlite\/sqlite-store|redis\/redis-store)\.ts$/;

/** Files longer than this need a comment near their top that says why (mentioning "300 lines"). */
const MAX_LINES = 300;
const JUSTIFICATION = /\b300 lines\b/;
const JUSTIFICATION_WITHIN = 30;

const SRC = path.resolve(import.meta.dirname, '..', 'src');

interface Import {
  file: string;
  line: number;
  spec: string;
  from: string;
  to?: string;
  /** The imported file, relative to src/ (relative imports only). */
  target?: string;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** First-level unit of a path inside src/: its folder, or the file itself when it sits in src/. */
function unitOf(absolute: string): string {
  const rel = path.relative(SRC, absolute).split(path.sep).join('/');
  return MANIFEST_FILE.test(rel) ? MANIFESTS : rel.split('/')[0]!;
}

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  // The compiler's own pre-processor: finds static, type-only, re-export and dynamic imports
  // and ignores anything inside comments or strings.
  const info = ts.preProcessFile(text, true, true);
  const lineOf = (pos: number) => text.slice(0, pos).split('\n').length;
  return info.importedFiles.map((ref) => {
    const imp: Import = { file: path.relative(SRC, file), line: lineOf(ref.pos), spec: ref.fileName, from: unitOf(file) };
    if (ref.fileName.startsWith('.')) {
      const target = path.resolve(path.dirname(file), ref.fileName.replace(/\.js$/, '.ts'));
      assert.ok(target.startsWith(SRC + path.sep), `${imp.file}:${imp.line} imports ${ref.fileName}, outside src/`);
      imp.to = unitOf(target);
      imp.target = path.relative(SRC, target).split(path.sep).join('/');
    }
    return imp;
  });
}

/** Strongly connected groups of more than one unit (Tarjan). */
function cycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return groups;
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);
const layerOf = new Map(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));

describe('architecture: src/ imports one way', () => {
  it('finds the source and its imports (the test reads what it claims to check)', () => {
    assert.ok(files.length > 50, `only ${files.length} files under src/`);
    assert.ok(imports.filter((i) => i.to && i.to !== i.from).length > 100);
    assert.deepEqual(cycles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]])), [['a', 'b', 'c']]);
  });

  it('every first-level folder and file of src/ has a place in the declared order', () => {
    const units = new Set(files.map(unitOf));
    const undeclared = [...units].filter((u) => !layerOf.has(u));
    assert.deepEqual(undeclared, [], `declare these in LAYERS: ${undeclared.join(', ')}`);
  });

  it('no folder cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) {
      if (!i.to || i.to === i.from) continue;
      if (!edges.has(i.from)) edges.set(i.from, new Set());
      edges.get(i.from)!.add(i.to);
    }
    assert.deepEqual(cycles(edges), []);
  });

  it('every import goes down the declared order', () => {
    const upward = imports
      .filter((i) => i.to && i.to !== i.from && layerOf.has(i.from) && layerOf.has(i.to) && layerOf.get(i.to)! >= layerOf.get(i.from)!)
      .map((i) => `${i.file}:${i.line} imports ${i.spec} (${i.from} → ${i.to})`);
    assert.deepEqual(upward, []);
  });

  it('a package with one owner is imported only there', () => {
    const strays = imports
      .filter((i) => !i.to)
      .filter((i) => {
        const owners = PACKAGE_OWNERS[i.spec.split('/')[0]!];
        return owners !== undefined && !owners.includes(i.from);
      })
      .map((i) => `${i.file}:${i.line} imports ${i.spec}`);
    assert.deepEqual(strays, []);
  });

  it('only the composition roots choose the store; nothing outside stores/ names a store class', () => {
    const strays = imports
      .filter((i) => i.target && i.from !== 'stores')
      .filter((i) => (i.target === STORE_CHOICE && !STORE_CHOOSERS.includes(i.file)) || STORE_CLASSES.test(i.target!))
      .map((i) => `${i.file}:${i.line} imports ${i.spec}`);
    assert.deepEqual(strays, []);
  });

  it(`no file over ${MAX_LINES} lines without a comment near its top saying why`, () => {
    const long = files
      .map((f) => ({ f, lines: fs.readFileSync(f, 'utf8').split('\n') }))
      .filter(({ lines }) => lines.length > MAX_LINES + 1 || (lines.length === MAX_LINES + 1 && lines.at(-1) !== ''))
      .filter(({ lines }) => !JUSTIFICATION.test(lines.slice(0, JUSTIFICATION_WITHIN).join('\n')))
      .map(({ f, lines }) => `${path.relative(SRC, f)}: ${lines.length - (lines.at(-1) === '' ? 1 : 0)} lines`);
    assert.deepEqual(long, []);
  });
});
