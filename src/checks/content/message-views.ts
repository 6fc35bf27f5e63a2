import { foldCase, type Folder } from '../../mail/regex-literals.js';
import type { LiteralScanner } from '../../mail/literal-scan.js';

/**
 * What the content rules of one message share: the values a rule type takes from the
 * message (the body text, its subject, its URL hosts…), the case-folded form of a text
 * that case-insensitive prefilters search, and the literals a scanner found in a text.
 * Fourteen rules read the body; each piece is made once per message instead of once per
 * rule, and dropped with the message.
 */
export class MessageViews {
  private readonly values = new Map<string, readonly string[]>();
  private readonly folded = new Map<string, string>();
  private readonly scans = new Map<LiteralScanner, Map<string, ReadonlySet<string>>>();

  /** The values under `key` (a rule type, or "header:name"), computed on first use. */
  valuesOf(key: string, compute: () => readonly string[]): readonly string[] {
    let out = this.values.get(key);
    if (out === undefined) {
      out = compute();
      this.values.set(key, out);
    }
    return out;
  }

  readonly fold: Folder = (text) => {
    let out = this.folded.get(text);
    if (out === undefined) {
      out = foldCase(text);
      this.folded.set(text, out);
    }
    return out;
  };

  /** The literals of `scanner` that occur in `text`, scanned on first use. */
  literalsIn(scanner: LiteralScanner, text: string): ReadonlySet<string> {
    let byText = this.scans.get(scanner);
    if (!byText) {
      byText = new Map();
      this.scans.set(scanner, byText);
    }
    let found = byText.get(text);
    if (!found) {
      found = scanner.scan(text);
      byText.set(text, found);
    }
    return found;
  }
}
