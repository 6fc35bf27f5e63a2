/**
 * Which of a fixed set of literals occur in a text, found in one pass over it (an
 * Aho-Corasick automaton): the content rules of a message all want to know whether their
 * literals occur in the same body text, and one pass answers all of them at once, where a
 * search per literal would read the text once per literal. The time is linear in the text
 * whatever it holds: one table step per character, and each state's literals are noted
 * at most once per scan.
 */
export class LiteralScanner {
  readonly literals: readonly string[];
  /** Character class of each ASCII character; 0 is "no literal has it". */
  private readonly asciiClass = new Uint8Array(128);
  private readonly otherClass = new Map<number, number>();
  private readonly width: number;
  /** Next state for (state, class): state * width + class. */
  private readonly next: Int32Array;
  /** Literals (indices) that end at each state, its own and those of its suffixes. */
  private readonly ends: number[][];

  constructor(literals: readonly string[]) {
    this.literals = [...new Set(literals)];
    let classes = 1;
    const classOf = (c: number): number => {
      const known = c < 128 ? this.asciiClass[c] : this.otherClass.get(c);
      if (known) return known;
      if (classes > 65_535) throw new Error('too many distinct characters in literals');
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
  }

  /** The literals that occur in `text`. */
  scan(text: string): Set<string> {
    const found = new Set<string>();
    const { asciiClass, otherClass, width, next, ends, literals } = this;
    const noted = new Uint8Array(ends.length);
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = next[s * width + (c < 128 ? asciiClass[c]! : (otherClass.get(c) ?? 0))]!;
      const here = ends[s]!;
      if (here.length > 0 && noted[s] === 0) {
        noted[s] = 1;
        for (const index of here) found.add(literals[index]!);
        if (found.size === literals.length) break;
      }
    }
    return found;
  }
}
