import { isMap, isSeq, isScalar, isPair, type Node, type LineCounter } from 'yaml';

/** Where a value came from: the file and 1-based line and column. */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

/**
 * Maps an object path (as zod reports it) to where it stands in the policy files, so every
 * error names file:line:col. A path that is not recorded falls back to its nearest parent.
 */
export class SourceMap {
  private readonly positions = new Map<string, SourcePosition>();
  /** The object path each file's top level stands for (actions.yaml → ['actions']). */
  private readonly prefixes = new Map<string, readonly PropertyKey[]>();

  static key(path: readonly PropertyKey[]): string {
    return path.map(String).join('\u0000');
  }

  set(path: readonly PropertyKey[], pos: SourcePosition): void {
    this.positions.set(SourceMap.key(path), pos);
  }

  /** The position of the path, or of its nearest recorded parent. */
  lookup(path: readonly PropertyKey[]): SourcePosition | undefined {
    for (let n = path.length; n >= 0; n--) {
      const pos = this.positions.get(SourceMap.key(path.slice(0, n)));
      if (pos) return pos;
    }
    return undefined;
  }

  setPrefix(file: string, prefix: readonly PropertyKey[]): void {
    this.prefixes.set(file, prefix);
  }

  /**
   * The path as the admin sees it in the file that holds it: `reject` in actions.yaml,
   * `limits.max_recipients` in server.yaml.
   */
  relativePath(path: readonly PropertyKey[]): readonly PropertyKey[] {
    const pos = this.lookup(path);
    const prefix = pos ? this.prefixes.get(pos.file) : undefined;
    if (!prefix || prefix.length > path.length) return path;
    return prefix.every((p, i) => String(p) === String(path[i])) ? path.slice(prefix.length) : path;
  }

  /** Record every key and value of a parsed YAML document under `prefix`. */
  addYaml(file: string, node: Node | null | undefined, prefix: readonly PropertyKey[], lines: LineCounter): void {
    this.setPrefix(file, prefix);
    const at = (offset: number): SourcePosition => {
      const p = lines.linePos(offset);
      return { file, line: p.line, col: p.col };
    };
    const walk = (n: unknown, path: readonly PropertyKey[]): void => {
      if (isMap(n)) {
        for (const pair of n.items) {
          if (!isPair(pair)) continue;
          const keyNode = pair.key;
          const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
          const child = [...path, key];
          // A value points at its value (where a wrong type stands); the key's own position
          // is kept under a marker for "unknown key" errors.
          if (isScalar(keyNode) && keyNode.range) this.set([...child, KEY_MARK], at(keyNode.range[0]));
          const valueNode = pair.value as Node | null;
          const range = valueNode?.range ?? (isScalar(keyNode) ? keyNode.range : undefined);
          if (range) this.set(child, at(range[0]));
          walk(valueNode, child);
        }
      } else if (isSeq(n)) {
        n.items.forEach((item, i) => {
          const range = (item as Node | null)?.range;
          if (range) this.set([...path, i], at(range[0]));
          walk(item, [...path, i]);
        });
      }
    };
    const range = node?.range;
    if (range) this.set(prefix, at(range[0]));
    walk(node, prefix);
  }

  /** Where a key itself stands (for unknown-key errors). */
  lookupKey(path: readonly PropertyKey[]): SourcePosition | undefined {
    return this.positions.get(SourceMap.key([...path, KEY_MARK])) ?? this.lookup(path);
  }
}

const KEY_MARK = '\u0001key';
