/**
 * The little CSS that decides whether HTML text can be seen: inline style declarations,
 * colours and font sizes. Hand-written scanners, no regex over attacker text, and each
 * style attribute read only up to MAX_STYLE characters.
 */

const MAX_STYLE = 4096;

/** `a: b; c: d !important` → {a: 'b', c: 'd'}, names and values lower-cased. */
export function parseStyle(style: string): Map<string, string> {
  const out = new Map<string, string>();
  const s = style.length > MAX_STYLE ? style.slice(0, MAX_STYLE) : style;
  for (const decl of s.split(';')) {
    const colon = decl.indexOf(':');
    if (colon <= 0) continue;
    const name = decl.slice(0, colon).trim().toLowerCase();
    let value = decl.slice(colon + 1).trim().toLowerCase();
    const bang = value.indexOf('!');
    if (bang >= 0) value = value.slice(0, bang).trim();
    if (name && value) out.set(name, value);
  }
  return out;
}

const NAMED: Readonly<Record<string, number>> = {
  white: 0xffffff,
  black: 0x000000,
  red: 0xff0000,
  green: 0x008000,
  lime: 0x00ff00,
  blue: 0x0000ff,
  yellow: 0xffff00,
  gray: 0x808080,
  grey: 0x808080,
  silver: 0xc0c0c0,
  navy: 0x000080,
  maroon: 0x800000,
  purple: 0x800080,
  teal: 0x008080,
  olive: 0x808000,
  aqua: 0x00ffff,
  fuchsia: 0xff00ff,
  orange: 0xffa500,
  whitesmoke: 0xf5f5f5,
  snow: 0xfffafa,
  ivory: 0xfffff0,
};

function hexDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/** A colour as 0xRRGGBB: #rgb, #rrggbb (also without #, as old bgcolor attributes write it), rgb()/rgba(), a common name; null otherwise. */
export function parseColor(value: string): number | null {
  const v = value.trim().toLowerCase();
  if (v in NAMED) return NAMED[v] as number;
  if (v.startsWith('rgb')) {
    const open = v.indexOf('(');
    const close = v.indexOf(')', open);
    if (open < 0 || close < 0) return null;
    const parts = v
      .slice(open + 1, close)
      .split(/[\s,/]+/)
      .filter(Boolean)
      .slice(0, 3)
      .map((p) => (p.endsWith('%') ? Math.round((parseFloat(p) / 100) * 255) : parseFloat(p)));
    if (parts.length < 3 || parts.some((n) => !Number.isFinite(n))) return null;
    const [r, g, b] = parts.map((n) => Math.max(0, Math.min(255, Math.round(n)))) as [number, number, number];
    return (r << 16) | (g << 8) | b;
  }
  const hex = v.startsWith('#') ? v.slice(1) : v;
  if ((hex.length !== 3 && hex.length !== 6) || !hexDigits(hex)) return null;
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
  return parseInt(full, 16);
}

/** Colours a reader cannot tell apart: every channel within a few steps. */
export function nearColor(a: number, b: number): boolean {
  for (const shift of [16, 8, 0]) {
    if (Math.abs(((a >> shift) & 0xff) - ((b >> shift) & 0xff)) > 12) return false;
  }
  return true;
}

/** font-size values too small to read: 0, up to 2px or 2pt, up to 0.2em/rem, 20%. */
export function tinyFontSize(value: string): boolean {
  const v = value.trim();
  let end = 0;
  while (end < v.length && ((v.charCodeAt(end) >= 48 && v.charCodeAt(end) <= 57) || v[end] === '.')) end++;
  if (end === 0) return false;
  const n = parseFloat(v.slice(0, end));
  if (!Number.isFinite(n)) return false;
  const unit = v.slice(end).trim();
  if (n === 0) return true;
  if (unit === 'px' || unit === 'pt') return n <= 2;
  if (unit === 'em' || unit === 'rem') return n <= 0.2;
  if (unit === '%') return n <= 20;
  return false;
}

/** A length of zero (height: 0, max-height: 0px, width: 0%). */
export function zeroLength(value: string): boolean {
  const v = value.trim();
  let i = 0;
  while (i < v.length && (v[i] === '0' || v[i] === '.')) i++;
  return i > 0 && (i === v.length || /^[a-z%]+$/.test(v.slice(i)));
}
