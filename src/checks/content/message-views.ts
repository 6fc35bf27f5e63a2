import { foldCase, type Folder } from '../../mail/regex-literals.js';
import type { LiteralScanner } from '../../mail/literal-scan.js';

/**
 * What the content rules of one message share: the values a rule type takes from the
 * message (the body text, its subject, its URL hosts…), and for each value its case-folded
 * form that case-insensitive prefilters search and the literals a scanner found in it.
 * Fourteen rules read the body; each piece is made once per message instead of once per
 * rule, and dropped with the message. Values are held as objects, so that nothing is looked
 * up by the text itself (hashing a long text costs as much as reading it).
 */
export class ViewedText {
  private folded: string | null = null;
  private readonly scans = new Map<LiteralScanner, ReadonlySet<string>>();

  constructor(readonly text: string) {}

  /** The case-folded text, made on first use (any other text is folded on the spot). */
  readonly fold: Folder = (text) => (text === this.text ? (this.folded ??= foldCase(text)) : foldCase(text));

  /** The literals of `scanner` that occur in the text (case-folded when `folded`), scanned on first use. */
  literalsIn(scanner: LiteralScanner, folded: boolean): ReadonlySet<string> {
    let found = this.scans.get(scanner);
    if (!found) {
      found = scanner.scan(folded ? this.fold(this.text) : this.text);
      this.scans.set(scanner, found);
    }
    return found;
  }
}

export class MessageViews {
  private readonly values = new Map<string, readonly ViewedText[]>();

  /** The values under `key` (a rule type, or "header:name"), computed on first use. */
  valuesOf(key: string, compute: () => readonly string[]): readonly ViewedText[] {
    let out = this.values.get(key);
    if (out === undefined) {
      out = compute().map((v) => new ViewedText(v));
      this.values.set(key, out);
    }
    return out;
  }
}
