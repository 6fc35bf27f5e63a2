import { decodeHTML, decodeHTMLAttribute } from 'entities';
import { nearColor, parseColor, parseStyle, tinyFontSize, zeroLength } from './css.js';
import { collapseWhiteSpace } from './linear-text.js';

/**
 * HTML reduced to the text a reader sees, for content rules and Bayes. Not a renderer, but
 * it follows what hides text from a reader: elements styled display:none, visibility:hidden,
 * opacity:0, a zero height with overflow hidden, a font too small to read, text in (nearly)
 * the colour of its background, the hidden attribute. Their text is left out and counted,
 * since spam hides words there to feed filters what the reader never sees. Scripts, styles,
 * the head and comments go; tags become spaces; every HTML entity is decoded.
 *
 * One pass with indexOf and small hand-written scanners: hostile HTML costs time in
 * proportion to its size. The element stack is capped, and a closing tag only searches it
 * when an element of that name is open, so unbalanced tags cannot make the work quadratic.
 */

export interface HtmlReading {
  /** The visible text, whitespace collapsed. */
  text: string;
  /** Letters (non-space characters) of text in hidden elements. */
  hiddenLetters: number;
  /** The start of the hidden text, whitespace collapsed: what a log line or a symbol shows. */
  hiddenSample: string;
}

const SAMPLE_CHARS = 80;

/** Decode every HTML entity in text (named, decimal, hex; the legacy forms without ';' too). */
export function decodeEntities(s: string): string {
  return s.includes('&') ? decodeHTML(s) : s;
}

/** Decode an attribute value (a URL): `&copy=1` in a query string stays as written. */
export function decodeAttribute(s: string): string {
  return s.includes('&') ? decodeHTMLAttribute(s) : s;
}

/** Deepest element nesting tracked; deeper elements inherit their parent's visibility. */
const MAX_DEPTH = 256;
/** A page's background when nothing sets one. */
const DEFAULT_BACKGROUND = 0xffffff;

const SKIPPED_ELEMENT = /<(script|style|head|template)\b/iy;
const CLOSING: Readonly<Record<string, RegExp>> = {
  script: /<\/script\s*>/gi,
  style: /<\/style\s*>/gi,
  head: /<\/head\s*>/gi,
  template: /<\/template\s*>/gi,
};

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr', 'keygen']);
/** Elements a browser closes when another of the same name opens right inside them. */
const SELF_CLOSING_SIBLINGS = new Set(['p', 'li', 'td', 'th', 'tr', 'option', 'dt', 'dd']);
/** Blocks that end an open paragraph. */
const CLOSES_P = new Set(['p', 'div', 'table', 'ul', 'ol', 'dl', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'form', 'hr', 'section', 'article', 'header', 'footer', 'center']);

interface Element {
  name: string;
  /** Gone with everything inside (display:none, opacity:0, a zero box, the hidden attribute): no child brings it back. */
  gone: boolean;
  /** visibility:hidden, which a child can undo with visibility:visible. */
  invisibleByVisibility: boolean;
  /** A font too small to read, until a child sets a readable size. */
  tinyFont: boolean;
  /** Text colour in effect (null: the reader's default, taken as readable). */
  color: number | null;
  /** Background colour in effect (null: an image, whose colours are unknown). */
  background: number | null;
  /** What follows from all of the above for the text directly in this element. */
  hidden: boolean;
}

/** The attributes that decide visibility, read from one tag. */
interface TagInfo {
  name: string;
  closing: boolean;
  style: string;
  hidden: boolean;
  bgcolor: string;
  color: string;
  /** <font size>, present or not. */
  size: boolean;
  /** A background attribute (an image). */
  backgroundImage: boolean;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 58;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

/**
 * Read the tag starting at `lt` (html[lt] is '<' followed by a name or '/'): its name and
 * the attributes that matter. Returns the index after its '>' (a '>' inside a quoted value
 * does not end it).
 */
function readTag(html: string, lt: number, tag: TagInfo): number {
  const len = html.length;
  let p = lt + 1;
  tag.closing = html.charCodeAt(p) === 47;
  if (tag.closing) p++;
  const nameStart = p;
  while (p < len && isNameChar(html.charCodeAt(p))) p++;
  tag.name = html.slice(nameStart, p).toLowerCase();
  tag.style = '';
  tag.hidden = false;
  tag.bgcolor = '';
  tag.color = '';
  tag.size = false;
  tag.backgroundImage = false;
  while (p < len) {
    let c = html.charCodeAt(p);
    if (c === 62) return p + 1;
    if (isSpace(c) || c === 47) {
      p++;
      continue;
    }
    const attrStart = p;
    while (p < len && !isSpace((c = html.charCodeAt(p))) && c !== 61 && c !== 62 && c !== 47) p++;
    const attr = html.slice(attrStart, p).toLowerCase();
    while (p < len && isSpace(html.charCodeAt(p))) p++;
    let value = '';
    if (html.charCodeAt(p) === 61) {
      p++;
      while (p < len && isSpace(html.charCodeAt(p))) p++;
      const q = html.charCodeAt(p);
      if (q === 34 || q === 39) {
        const end = html.indexOf(q === 34 ? '"' : "'", p + 1);
        const stop = end < 0 ? len : end;
        value = html.slice(p + 1, stop);
        p = stop + 1;
      } else {
        const vs = p;
        while (p < len && !isSpace((c = html.charCodeAt(p))) && c !== 62) p++;
        value = html.slice(vs, p);
      }
    }
    if (attr === 'style') tag.style = value;
    else if (attr === 'hidden') tag.hidden = true;
    else if (attr === 'bgcolor') tag.bgcolor = value;
    else if (attr === 'color') tag.color = value;
    else if (attr === 'size') tag.size = true;
    else if (attr === 'background') tag.backgroundImage = value.length > 0;
    if (p === attrStart) p++;
  }
  return len;
}

/** The element a tag opens, inside `parent`: what it inherits and what it hides. */
function openElement(tag: TagInfo, parent: Element): Element {
  let gone = parent.gone || tag.hidden;
  let invisibleByVisibility = parent.invisibleByVisibility;
  let tinyFont = parent.tinyFont;
  let color = parent.color;
  let background = parent.background;
  if (tag.bgcolor) background = parseColor(tag.bgcolor) ?? background;
  if (tag.backgroundImage) background = null;
  if (tag.name === 'font') {
    if (tag.color) color = parseColor(tag.color) ?? color;
    // <font size=N> is always readable (1 is the smallest).
    if (tag.size) tinyFont = false;
  }
  if (tag.style) {
    const style = parseStyle(tag.style);
    if (style.get('display') === 'none') gone = true;
    const opacity = style.get('opacity');
    if (opacity !== undefined && parseFloat(opacity) <= 0.05) gone = true;
    if (style.get('overflow') === 'hidden') {
      for (const dim of ['height', 'max-height', 'width', 'max-width']) {
        const v = style.get(dim);
        if (v !== undefined && zeroLength(v)) gone = true;
      }
    }
    const visibility = style.get('visibility');
    if (visibility !== undefined) invisibleByVisibility = visibility === 'hidden' || visibility === 'collapse';
    const fontSize = style.get('font-size');
    if (fontSize !== undefined) tinyFont = tinyFontSize(fontSize);
    const image = style.get('background-image') ?? '';
    const bg = style.get('background-color') ?? style.get('background');
    if (image.includes('url(') || bg?.includes('url(')) background = null;
    else if (bg !== undefined) background = parseColor(bg.split(' ')[0] ?? '') ?? background;
    const fg = style.get('color');
    if (fg !== undefined) color = parseColor(fg) ?? color;
  }
  const hidden = gone || invisibleByVisibility || tinyFont || (color !== null && background !== null && nearColor(color, background));
  return { name: tag.name, gone, invisibleByVisibility, tinyFont, color, background, hidden };
}

function countLetters(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (!isSpace(s.charCodeAt(i))) n++;
  return n;
}

/** Read HTML as a reader sees it: the visible text, and how much text is hidden. */
export function readHtml(html: string): HtmlReading {
  if (!html) return { text: '', hiddenLetters: 0, hiddenSample: '' };
  let sample = '';
  const out: string[] = [];
  let hiddenLetters = 0;
  const root: Element = { name: '', gone: false, invisibleByVisibility: false, tinyFont: false, color: null, background: DEFAULT_BACKGROUND, hidden: false };
  const stack: Element[] = [root];
  const open = new Map<string, number>();
  const tag: TagInfo = { name: '', closing: false, style: '', hidden: false, bgcolor: '', color: '', size: false, backgroundImage: false };
  const top = (): Element => stack[stack.length - 1] as Element;
  const pop = (): void => {
    const e = stack.pop() as Element;
    open.set(e.name, (open.get(e.name) ?? 1) - 1);
  };
  const closeUpTo = (name: string): void => {
    if (!open.get(name)) return;
    // Everything above the innermost open `name` is closed with it: amortised against the pushes.
    while (stack.length > 1) {
      const popped = top().name;
      pop();
      if (popped === name) return;
    }
  };
  const text = (s: string): void => {
    if (!s) return;
    if (top().hidden) {
      const letters = countLetters(s);
      hiddenLetters += letters;
      if (letters > 0 && sample.length < SAMPLE_CHARS) sample = (sample + ' ' + decodeEntities(s.slice(0, SAMPLE_CHARS * 2)).replace(/\s+/g, ' ')).trim().slice(0, SAMPLE_CHARS);
    }
    else out.push(decodeEntities(s));
  };

  const len = html.length;
  let i = 0;
  while (i < len) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      text(html.slice(i));
      break;
    }
    text(html.slice(i, lt));
    const next = html.charCodeAt(lt + 1);
    const isTag = (next >= 97 && next <= 122) || (next >= 65 && next <= 90) || next === 47;
    if (html.startsWith('<!--', lt)) {
      out.push(' ');
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? len : end + 3;
      continue;
    }
    if (next === 33 || next === 63) {
      // <!DOCTYPE …>, <![CDATA[…]]>, <?xml …?>: no text.
      out.push(' ');
      const gt = html.indexOf('>', lt + 2);
      i = gt < 0 ? len : gt + 1;
      continue;
    }
    if (!isTag) {
      // A '<' that starts no tag is text, as a browser shows it.
      text('<');
      i = lt + 1;
      continue;
    }
    out.push(' ');
    SKIPPED_ELEMENT.lastIndex = lt;
    const skipped = SKIPPED_ELEMENT.exec(html)?.[1]?.toLowerCase();
    const closing = skipped ? CLOSING[skipped] : undefined;
    if (closing) {
      closing.lastIndex = lt;
      const m = closing.exec(html);
      i = m ? m.index + m[0].length : len;
      continue;
    }
    i = readTag(html, lt, tag);
    if (!tag.name) continue;
    if (tag.closing) {
      closeUpTo(tag.name);
      continue;
    }
    if (VOID.has(tag.name)) continue;
    if (SELF_CLOSING_SIBLINGS.has(tag.name) && top().name === tag.name) pop();
    if (CLOSES_P.has(tag.name) && top().name === 'p') pop();
    if (stack.length > MAX_DEPTH) continue;
    stack.push(openElement(tag, top()));
    open.set(tag.name, (open.get(tag.name) ?? 0) + 1);
  }
  return { text: collapseWhiteSpace(out.join('')), hiddenLetters, hiddenSample: sample };
}

/** The visible text of HTML (see readHtml). */
export function htmlToText(html: string): string {
  return readHtml(html).text;
}
