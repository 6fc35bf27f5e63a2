/**
 * Small scanners for message text that run in one pass. Each replaces a regular expression
 * that a backtracking engine runs in quadratic time on hostile input: a class repeated up to
 * an anchor (`[.,;]+$`), or a run that must be followed by something it may never reach
 * (`[a-z.]+@…`). One long header field or line could then hold the event loop for seconds.
 */

export type CharTest = (code: number) => boolean;

/** A test for membership in a fixed set of characters (each a single UTF-16 unit). */
export function charSet(chars: string): CharTest {
  const codes = new Set<number>();
  for (let i = 0; i < chars.length; i++) codes.add(chars.charCodeAt(i));
  return (c) => codes.has(c);
}

/** What `\s` matches in a JavaScript regular expression (one UTF-16 unit). */
export function isWhiteSpace(c: number): boolean {
  return (
    (c >= 9 && c <= 13) || c === 32 || c === 160 || c === 5760 || (c >= 8192 && c <= 8202) || c === 8232 || c === 8233 || c === 8239 || c === 8287 || c === 12288 || c === 65279
  );
}

/** Output room kept between calls of collapseWhiteSpace; a bigger text gets room of its own. */
const KEPT_SCRATCH_BYTES = 512 * 1024;
let scratch = Buffer.alloc(0);

function scratchOf(bytes: number): Buffer {
  if (bytes <= scratch.length) return scratch;
  const room = Buffer.allocUnsafeSlow(bytes);
  if (bytes <= KEPT_SCRATCH_BYTES) scratch = room;
  return room;
}

/**
 * `s.replace(/\s+/g, ' ').trim()`, allocating nothing but its result: V8's global replace
 * builds its answer from a list of parts and left about 14 times the text's size behind as
 * garbage, which for the HTML reading of every message was an eighth of all the server
 * allocated per message. Text with no character above U+00FF (most mail) is written one byte
 * per character and read back as Latin-1; other text is written again as UTF-16.
 */
export function collapseWhiteSpace(s: string): string {
  return collapseInto(s, false) ?? (collapseInto(s, true) as string);
}

/** The collapsed text, or null when `wide` is false and a character needs two bytes. */
function collapseInto(s: string, wide: boolean): string | null {
  const out = scratchOf(wide ? 2 * s.length : s.length);
  let o = 0;
  let space = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isWhiteSpace(c)) {
      space = o > 0;
      continue;
    }
    if (space) {
      out[o++] = 32;
      if (wide) out[o++] = 0;
      space = false;
    }
    if (wide) {
      // Little-endian by hand, whatever the machine's byte order.
      out[o++] = c & 0xff;
      out[o++] = c >>> 8;
    } else if (c > 0xff) return null;
    else out[o++] = c;
  }
  return out.toString(wide ? 'utf16le' : 'latin1', 0, o);
}

/** s without its trailing characters that pass `test`. */
export function trimEndWhile(s: string, test: CharTest): string {
  let end = s.length;
  while (end > 0 && test(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

const isLower = (c: number) => c >= 97 && c <= 122;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isLabelChar = (c: number, caseless: boolean) => isLower(c) || isDigit(c) || c === 45 || (caseless && c >= 65 && c <= 90);

/**
 * The longest domain at `start`: labels of letters, digits and '-' joined by single dots,
 * at least two labels. Returns its end, or -1 when there is no such domain.
 */
function domainEnd(text: string, start: number, caseless: boolean): number {
  let i = start;
  let labels = 0;
  let end = -1;
  for (;;) {
    const labelStart = i;
    while (i < text.length && isLabelChar(text.charCodeAt(i), caseless)) i++;
    if (i === labelStart) break;
    labels++;
    if (labels >= 2) end = i;
    if (text.charCodeAt(i) !== 46) break;
    i++;
  }
  return end;
}

const LOCAL_PART = charSet('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-');

/**
 * Addresses written in free text (a display name, a body line): what
 * `/[a-z0-9._%+-]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)/gi` finds, in one pass over the '@' signs.
 */
export function* addressesInText(text: string): Generator<{ address: string; domain: string }> {
  let from = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    if (at < from) continue;
    let start = at;
    while (start > from && LOCAL_PART(text.charCodeAt(start - 1))) start--;
    if (start === at) continue;
    const end = domainEnd(text, at + 1, true);
    if (end < 0) continue;
    yield { address: text.slice(start, end), domain: text.slice(at + 1, end) };
    from = end;
  }
}

/**
 * Host names in lower-case text (a Received field): runs of letters, digits, '.' and '-'
 * whose dot-separated labels are each 1-63 characters without a leading or trailing '-', at
 * least two labels, the last one 2-24 letters. Stray dots or hyphens around a run are dropped.
 */
export function hostnamesInText(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && !isLabelChar(text.charCodeAt(i), false) && text.charCodeAt(i) !== 46) i++;
    const start = i;
    while (i < text.length && (isLabelChar(text.charCodeAt(i), false) || text.charCodeAt(i) === 46)) i++;
    let run = text.slice(start, i);
    let a = 0;
    let b = run.length;
    while (a < b && (run.charCodeAt(a) === 46 || run.charCodeAt(a) === 45)) a++;
    while (b > a && (run.charCodeAt(b - 1) === 46 || run.charCodeAt(b - 1) === 45)) b--;
    run = run.slice(a, b);
    if (run.length < 4 || run.length > 253) continue;
    const labels = run.split('.');
    if (labels.length < 2) continue;
    const tld = labels[labels.length - 1] ?? '';
    if (tld.length < 2 || tld.length > 24 || ![...tld].every((ch) => isLower(ch.charCodeAt(0)))) continue;
    if (labels.every((l) => l.length >= 1 && l.length <= 63 && l[0] !== '-' && l[l.length - 1] !== '-')) out.push(run);
  }
  return out;
}

/**
 * The first `max` parts of value split at `sep` where it stands outside double quotes.
 */
export function splitOutsideQuotes(value: string, sep: string, max: number): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length && parts.length < max; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  if (parts.length < max) parts.push(value.slice(start));
  return parts;
}

/**
 * The first run of `allowed` characters that holds an '@' with something on both sides
 * (what `/[^\s<>"]+@[^\s<>"]+/` finds when `allowed` is that class, '@' included), or null.
 */
export function bareAddress(value: string, allowed: CharTest): string | null {
  let i = 0;
  while (i < value.length) {
    while (i < value.length && !allowed(value.charCodeAt(i))) i++;
    const start = i;
    let inner = false;
    while (i < value.length && allowed(value.charCodeAt(i))) {
      if (value.charCodeAt(i) === 64 && i > start) inner = true;
      i++;
    }
    // An '@' counts only with a character after it inside the run.
    if (inner && value.lastIndexOf('@', i - 2) > start) return value.slice(start, i);
  }
  return null;
}
