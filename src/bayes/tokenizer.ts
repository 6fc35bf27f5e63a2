import type { ParsedMessage } from '../mail/parsed-message.js';
import { hostOf } from '../mail/urls.js';
import { scanWords } from './word-scan.js';
import { KeySet, TokenSet, type TokenSink } from './token-sets.js';
import { bareAddress, charSet, hostnamesInText, isWhiteSpace, splitOutsideQuotes, trimEndWhile } from '../mail/linear-text.js';

/**
 * Message → Bayes tokens. Each token is a feature that may lean spam or ham: a word, a
 * pair of adjacent words, a URL host, a header value. Header tokens carry the header's
 * prefix ("S:" subject, "F:" from …) because "free" in a Subject says something other
 * than "free" in a body. Words are lower-cased and trimmed; numbers and very long strings
 * are reduced to their shape so that a million order numbers do not become a million tokens.
 *
 * The token set is bounded: header tokens first, then URL tokens, words, and word pairs
 * last, so a huge message costs no more than a normal one and keeps its best evidence.
 */

export interface TokenizerLimits {
  /** Unique tokens kept per message. */
  maxTokens: number;
  /** Characters of visible text (text parts, and HTML parts reduced to text) read per message. */
  maxTextChars: number;
}

export const DEFAULT_TOKENIZER_LIMITS: TokenizerLimits = { maxTokens: 2500, maxTextChars: 40_000 };

/** Longest word kept as itself; longer ones become their shape. */
const MAX_WORD = 20;
const MAX_URLS = 50;
const MAX_RECEIVED = 6;
/** Shorter words are left out of body word pairs. */
const MIN_PAIR_WORD = 4;

const TRAILING = charSet(".'’_@!*-");
const IPV4 = /\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}\b/g;

/**
 * One word as a token, or null when it carries nothing (too short). E-mail addresses,
 * long numbers and very long strings are reduced to a shape.
 */
export function normalizeWord(raw: string): string | null {
  const w = trimEndWhile(raw, TRAILING);
  if (w.length < 2) return null;
  const at = w.indexOf('@');
  if (at > 0 && at < w.length - 1) return 'E:' + w.slice(at + 1);
  const first = w.charCodeAt(0);
  if (first >= 48 && first <= 57 && /^\d+$/.test(w)) return w.length > 4 ? 'N:' + w.length : w;
  if (w.length > MAX_WORD) return 'L:' + w.slice(0, 3) + ':' + Math.min(10, Math.floor(w.length / 10));
  return w;
}

/** Normalised words of a text, in order (for pairs). */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const raw of scanWords(text.toLowerCase())) {
    const w = normalizeWord(raw);
    if (w) out.push(w);
  }
  return out;
}

function addWords(set: TokenSink, prefix: string, list: readonly string[]): void {
  for (const w of list) set.addWord(prefix, w);
}

/**
 * Each pair of adjacent words. A pair met before is known by its two words' numbers, without
 * building its string again: text repeats its phrases, and a message with a text and an
 * HTML part says everything twice.
 */
function addPairs(set: TokenSink, prefix: string, list: readonly string[]): void {
  const numbers = new Map<string, number>();
  const ids = new Array<number>(list.length);
  for (let i = 0; i < list.length; i++) {
    const w = list[i]!;
    let n = numbers.get(w);
    if (n === undefined) numbers.set(w, (n = numbers.size));
    ids[i] = n;
  }
  const seen = new Set<number>();
  for (let i = 1; i < list.length && !set.full; i++) {
    const pair = ids[i - 1]! * list.length + ids[i]!;
    if (seen.has(pair)) continue;
    seen.add(pair);
    set.addPair(prefix, list[i - 1]!, list[i]!);
  }
}

const NOT_ADDRESS = charSet('<>"\',;');
const ADDRESS_CHAR = (c: number) => !NOT_ADDRESS(c) && !isWhiteSpace(c);

/** "Name" <user@host> → [display-name words, address]. */
function splitAddress(value: string): { name: string; address: string } {
  const angle = /<([^<>]*)>/.exec(value);
  if (angle) return { name: value.slice(0, angle.index).replace(/["']/g, ' ').trim(), address: (angle[1] ?? '').trim().toLowerCase() };
  const bare = bareAddress(value, ADDRESS_CHAR);
  return bare ? { name: value.replace(bare, ' ').replace(/[()"']/g, ' ').trim(), address: bare.toLowerCase() } : { name: value.trim(), address: '' };
}

function addAddressHeader(set: TokenSink, prefix: string, value: string): void {
  for (const part of splitOutsideQuotes(value, ',', 10)) {
    const { name, address } = splitAddress(part);
    if (address) {
      set.add(prefix + address);
      set.add(prefix + '@' + address.slice(address.lastIndexOf('@') + 1));
    } else set.add(prefix + 'no-address');
    if (name) addWords(set, prefix + 'n:', words(name));
    else set.add(prefix + 'no-name');
  }
}

/** s up to its first '>' (the end of an id in angle brackets). */
function beforeAngle(s: string): string {
  const end = s.indexOf('>');
  return end < 0 ? s : s.slice(0, end);
}

/** The shape of an id: runs of digits → 9, of letters → a, so a mailer's habit shows, not the id. */
function shape(s: string): string {
  return s
    .slice(0, 40)
    .replace(/[0-9]+/g, '9')
    .replace(/[a-zA-Z]+/g, 'a');
}

function addReceived(set: TokenSink, value: string): void {
  const v = value.toLowerCase();
  for (const host of hostnamesInText(v)) set.add('R:' + host);
  for (const m of v.matchAll(IPV4)) set.add(`R:ip:${m[1]}.${m[2]}.${m[3]}`);
  const w = / with (\S+)/.exec(v);
  if (w) set.add('R:with:' + w[1]);
}

function addContentType(set: TokenSink, prefix: string, value: string): void {
  const v = value.toLowerCase();
  const type = /^\s*([a-z0-9.+-]+\/[a-z0-9.+-]+)/.exec(v);
  set.add(prefix + (type ? type[1] : 'invalid'));
  const charset = /charset\s*=\s*"?([^";\s]+)/.exec(v);
  if (charset) set.add(prefix + 'charset:' + charset[1]);
  const boundary = /boundary\s*=\s*"?([^";]+)/.exec(value);
  if (boundary) set.add(prefix + 'boundary:' + shape(boundary[1] ?? ''));
}

/**
 * Only fields the sender's side writes are read, and not which fields are present: the
 * copy a user trains from carries fields added on delivery (Delivered-To, X-Keywords, our
 * own X-Spam-*) that the copy scanned at SMTP time lacks.
 */
function addHeaders(set: TokenSink, msg: ParsedMessage): void {
  let received = 0;
  for (const h of msg.headers) {
    switch (h.name) {
      case 'subject': {
        const list = words(h.value);
        addWords(set, 'S:', list);
        addPairs(set, 'S:', list);
        const letters = h.value.replace(/[^\p{L}]/gu, '');
        if (letters.length >= 6 && letters.replace(/[^\p{Lu}]/gu, '').length / letters.length > 0.6) set.add('S:shouting');
        if (!h.value.trim()) set.add('S:empty');
        break;
      }
      case 'from':
      case 'to':
      case 'cc':
      case 'reply-to':
      case 'sender':
        addAddressHeader(set, h.name === 'reply-to' ? 'RT:' : h.name === 'sender' ? 'SN:' : h.name === 'cc' ? 'T:' : h.name[0]!.toUpperCase() + ':', h.value);
        break;
      case 'received':
        if (received++ < MAX_RECEIVED) addReceived(set, h.value);
        break;
      case 'content-type':
        addContentType(set, 'CT:', h.value);
        break;
      case 'x-mailer':
      case 'user-agent':
        set.add('XM:' + h.value.toLowerCase().replace(/\s+/g, ' ').slice(0, 60));
        addWords(set, 'XM:', words(h.value));
        break;
      case 'message-id': {
        const at = h.value.lastIndexOf('@');
        set.add(at > 0 ? 'MID:' + beforeAngle(h.value.slice(at + 1)).toLowerCase() : 'MID:no-domain');
        set.add('MID:shape:' + shape(at > 0 ? h.value.slice(0, at) : h.value));
        break;
      }
      case 'list-id':
        set.add('LID:' + (/<([^>]+)>/.exec(h.value)?.[1] ?? h.value).toLowerCase());
        break;
      case 'precedence':
      case 'x-priority':
      case 'importance':
      case 'content-transfer-encoding':
      case 'mime-version':
        set.add(h.name + ':' + h.value.toLowerCase().trim().slice(0, 30));
        break;
    }
  }
}

function addUrls(set: TokenSink, urls: readonly string[]): void {
  for (const url of urls.slice(0, MAX_URLS)) {
    const host = hostOf(url);
    if (!host) continue;
    if (/^[\d.]+$/.test(host) || host.includes(':')) set.add('U:ip');
    else {
      const labels = host.split('.');
      for (let i = Math.max(0, labels.length - 4); i < labels.length - 1; i++) set.add('U:' + labels.slice(i).join('.'));
    }
    const rest = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)(\?)?/i.exec(url);
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:\d/i.test(url)) set.add('U:port');
    if (rest?.[2]) set.add('U:query');
    let segments = 0;
    for (const seg of (rest?.[1] ?? '').toLowerCase().split(/[^a-z0-9]+/)) {
      if (seg.length < 3 || seg.length > MAX_WORD || /^\d+$/.test(seg)) continue;
      set.add('UP:' + seg);
      if (++segments >= 6) break;
    }
  }
}

/** Every token of a message, bounded by `limits`; the order is stable for the same message. */
export function tokenize(msg: ParsedMessage, limits: TokenizerLimits = DEFAULT_TOKENIZER_LIMITS): string[] {
  const set = new TokenSet(limits.maxTokens);
  readTokens(set, msg, limits);
  return [...set.tokens];
}

/** The stored key of every token of a message (tokenKeys(tokenize(msg, limits)), each key once). */
export function tokenizeKeys(msg: ParsedMessage, limits: TokenizerLimits = DEFAULT_TOKENIZER_LIMITS): string[] {
  const set = KeySet.shared(limits.maxTokens);
  readTokens(set, msg, limits);
  return set.keys();
}

function readTokens(set: TokenSink, msg: ParsedMessage, limits: TokenizerLimits): void {
  addHeaders(set, msg);
  addUrls(set, msg.urls);
  for (const a of msg.attachments.slice(0, 20)) {
    set.add('A:' + a.contentType.toLowerCase());
    const ext = /\.([a-z0-9]{1,8})$/i.exec(a.filename);
    if (ext) set.add('A:.' + (ext[1] ?? '').toLowerCase());
  }
  const hasText = msg.text.trim() !== '';
  set.add(msg.html ? (hasText ? 'X:text+html' : 'X:html-only') : hasText ? 'X:text-only' : 'X:no-text');
  const list = words(msg.visibleText().slice(0, limits.maxTextChars));
  addWords(set, '', list);
  // Pairs of adjacent content words, skipping the short ones ("to", "the", "our"): "click
  // here" and "to receive" add little that "click" and "receive" have not already said, and
  // counting such phrases twice makes every newsletter look like spam.
  addPairs(set, '', list.filter((w) => w.length >= MIN_PAIR_WORD));
}
