import { decodeAttribute } from './html-text.js';
import type { ParsedMessage } from './parsed-message.js';
import { charSet, trimEndWhile } from './linear-text.js';

/**
 * URLs in message text and HTML: what URL rules and domain blocklists look at. Attribute
 * values and bare links are found by one expression (an href value is a bare link between
 * quotes), so HTML costs one pass; "www." links without a scheme count too.
 */

const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`{}|\\^[\]]{2,2048}/gi;
/** Punctuation that ends a sentence rather than a link. */
const TRAILING = charSet('.,;:!?)>]}*');
const isDot = (c: number) => c === 46;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Collect at most `max` distinct URLs from the given texts, in order of appearance. */
export function extractUrls(texts: readonly string[], max: number): string[] {
  const seen = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    URL_RE.lastIndex = 0;
    for (let m = URL_RE.exec(text); m !== null; m = URL_RE.exec(text)) {
      let url = trimEndWhile(m[0], TRAILING);
      if (url.includes('&')) url = decodeAttribute(url);
      if (/^www\./i.test(url)) url = 'http://' + url;
      if (hostOf(url) === '') continue;
      seen.add(url);
      if (seen.size >= max) return [...seen];
    }
  }
  return [...seen];
}

/** The host of a URL, lower-case, without userinfo, port or trailing dot; '' when there is none. */
export function hostOf(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url);
  if (!m || m[1] === undefined) return '';
  let host = m[1];
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1);
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end).toLowerCase() : '';
  }
  const port = trimEndWhile(host, isDigit);
  if (port.endsWith(':')) host = port.slice(0, -1);
  host = trimEndWhile(host, isDot).toLowerCase();
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host) || /[^\x00-\x7f]/.test(host) ? host : '';
}

const hostsOf = new WeakMap<ParsedMessage, string[]>();

/** The distinct hosts of a message's URLs, in order (computed once per message). */
export function urlHosts(msg: ParsedMessage): readonly string[] {
  let hosts = hostsOf.get(msg);
  if (!hosts) {
    hosts = [...new Set(msg.urls.map(hostOf).filter(Boolean))];
    hostsOf.set(msg, hosts);
  }
  return hosts;
}
