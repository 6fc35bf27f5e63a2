/**
 * HTML reduced to the text a reader would see, for content rules and Bayes. Not a
 * renderer: scripts, styles and comments go, tags become spaces, the common entities are
 * decoded. Every expression is linear, so hostile HTML costs time in proportion to its size.
 */

const NAMED: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  euro: '€',
  pound: '£',
  hellip: '…',
  mdash: '—',
  ndash: '–',
};

/** Decode &name; &#NN; &#xNN; (unknown names stay as written). */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, ent: string) => {
    if (ent[0] === '#') {
      const code = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ent.toLowerCase()] ?? whole;
  });
}

const SKIPPED_ELEMENT = /<(script|style|head)\b/iy;
const CLOSING: Readonly<Record<string, RegExp>> = { script: /<\/script\s*>/gi, style: /<\/style\s*>/gi, head: /<\/head\s*>/gi };

/** One pass with indexOf: tags become spaces; comments, scripts, styles and the head vanish. */
export function htmlToText(html: string): string {
  if (!html) return '';
  const out: string[] = [];
  const len = html.length;
  let i = 0;
  while (i < len) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out.push(html.slice(i));
      break;
    }
    if (lt > i) out.push(html.slice(i, lt));
    out.push(' ');
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? len : end + 3;
      continue;
    }
    SKIPPED_ELEMENT.lastIndex = lt;
    const skipped = SKIPPED_ELEMENT.exec(html)?.[1]?.toLowerCase();
    const closing = skipped ? CLOSING[skipped] : undefined;
    if (closing) {
      closing.lastIndex = lt;
      const m = closing.exec(html);
      i = m ? m.index + m[0].length : len;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    i = gt < 0 ? len : gt + 1;
  }
  return decodeEntities(out.join('')).replace(/\s+/g, ' ').trim();
}
