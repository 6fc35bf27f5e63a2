/**
 * Which of a fixed set of literals occur in a text, found in one pass over it (an
 * Aho-Corasick automaton): the content rules of a message all want to know whether their
 * literals occur in the same body text, and one pass answers all of them at once, where a
 * search per literal would read the text once per literal. The time is linear in the text
 * whatever it holds: one table step per character, and each state's literals are noted
 * at most once per scan.
 */
/** Entries of the transition table at most (4 bytes each): past it a policy's rules search one by one. */
const MAX_TABLE = 1 << 22;

export class LiteralScanner {
  /** A scanner for these literals, or null when its table would be larger than MAX_TABLE. */
  static for(literals: readonly string[]): LiteralScanner | null {
    const distinct = new Set(literals);
    const states = 1 + [...distinct].reduce((n, l) => n + l.length, 0);
    const classes = 1 + new Set([...distinct].join('').split('')).size;
    return states * classes <= MAX_TABLE ? new LiteralScanner([...distinct]) : null;
  }

  readonly literals: readonly string[];
  /** Character class of each ASCII character; 0 is "no literal has it". */
  private readonly asciiClass = new Uint8Array(128);
  private readonly otherClass = new Map<number, number>();
  private readonly width: number;
  /** Next state for (state, class): state * width + class. */
  private readonly next: Int32Array;
  /** Literals (indices) that end at each state, its own and those of its suffixes. */
  private readonly ends: number[][];
  /** 1 for a state where some literal ends: a scan's copy of it notes each such state once. */
  private readonly ending: Uint8Array;

  constructor(literals: readonly string[]) {
    this.literals = [...new Set(literals)];
    let classes = 1;
    const classOf = (c: number): number => {
      const known = c < 128 ? this.asciiClass[c] : this.otherClass.get(c);
      if (known) return known;
      if (c < 128) this.asciiClass[c] = classes;
      else this.otherClass.set(c, classes);
      return classes++;
    };
    // The trie, with one map of children per state.
    const children: Array<Map<number, number>> = [new Map()];
    const ends: number[][] = [[]];
    this.literals.forEach((lit, index) => {
      let s = 0;
      for (let i = 0; i < lit.length; i++) {
        const k = classOf(lit.charCodeAt(i));
        let t = children[s]!.get(k);
        if (t === undefined) {
          t = children.length;
          children.push(new Map());
          ends.push([]);
          children[s]!.set(k, t);
        }
        s = t;
      }
      ends[s]!.push(index);
    });
    this.width = classes;
    const next = new Int32Array(children.length * classes);
    // Breadth first, so that a state's failure state is complete before the state itself.
    const fail = new Int32Array(children.length);
    const queue: number[] = [];
    for (const [k, t] of children[0]!) {
      next[k] = t;
      queue.push(t);
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      ends[s]!.push(...ends[fail[s]!]!);
      for (let k = 0; k < classes; k++) {
        const t = children[s]!.get(k);
        if (t === undefined) next[s * classes + k] = next[fail[s]! * classes + k]!;
        else {
          fail[t] = next[fail[s]! * classes + k]!;
          next[s * classes + k] = t;
          queue.push(t);
        }
      }
    }
    this.next = next;
    this.ends = ends;
    this.ending = Uint8Array.from(ends, (e) => (e.length > 0 ? 1 : 0));
  }

  /** The literals that occur in `text`. */
  scan(text: string): Set<string> {
    const found = new Set<string>();
    const { asciiClass, otherClass, width, next, ends, literals } = this;
    const pending = this.ending.slice();
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = next[s * width + (c < 128 ? (asciiClass[c] as number) : (otherClass.get(c) ?? 0))] as number;
      if (pending[s] === 0) continue;
      pending[s] = 0;
      for (const index of ends[s] as number[]) found.add(literals[index] as string);
      if (found.size === literals.length) break;
    }
    return found;
  }
}
