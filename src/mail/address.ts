import { domainToASCII } from 'node:url';
import { trimEndWhile } from './linear-text.js';

/**
 * The one module for mail addresses: envelope addresses checked and put in canonical form
 * (RCPT, MAIL), the domain of an address, and the folded form that counts user+tag and
 * USER as one mailbox.
 */

export type AddressCheck = { ok: true; address: string; local: string; domain: string } | { ok: false; why: 'syntax' | 'routing' };

/**
 * Normalise an envelope address as smtp-server parsed it (source routes already dropped)
 * and refuse every form that asks for relaying through us: a `%` or `!` in the local part
 * (Postfix would rewrite user%other@ours into user@other and relay it, since our
 * connections come from its mynetworks), a quoted local part, an IP literal domain.
 * The domain comes back in A-label form, with one trailing dot removed.
 */
export function checkRecipient(address: string): AddressCheck {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return { ok: false, why: 'syntax' };
  const local = address.slice(0, at);
  let domain = address.slice(at + 1);
  if (/[%!@"\\\s]/.test(local) || local.startsWith('"')) return { ok: false, why: 'routing' };
  if (CONTROL.test(local)) return { ok: false, why: 'syntax' };
  if (domain.startsWith('[')) return { ok: false, why: 'routing' };
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  const ascii = asciiDomain(domain);
  if (ascii === null) return { ok: false, why: 'syntax' };
  return { ok: true, address: `${local}@${ascii}`, local, domain: ascii };
}

const CONTROL = /[\x00-\x1f\x7f]/;
/** ASCII punctuation other than "-" and "." has no place in a domain name. */
const DOMAIN_PUNCTUATION = /[\x00-\x2c\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/;
const HOSTNAME = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;

/**
 * The A-label form of a domain, or null when it is not a host name. The characters are
 * checked before conversion: domainToASCII follows URL rules, where "\\" or "?" ends the
 * host, so "a.\\" would otherwise become "a.".
 */
function asciiDomain(domain: string): string | null {
  if (DOMAIN_PUNCTUATION.test(domain)) return null;
  const ascii = domainToASCII(domain).toLowerCase();
  return HOSTNAME.test(ascii) ? ascii : null;
}

/**
 * The sender: '' is the null sender; a host-name domain is normalised like a recipient's
 * (trailing dots dropped, A-labels, lower case), anything else is left as the client wrote it.
 */
export function canonicalSender(address: string): string {
  if (!address) return '';
  const at = address.lastIndexOf('@');
  if (at <= 0) return address;
  const domain = asciiDomain(trimEndWhile(address.slice(at + 1), (c) => c === 46));
  return domain === null ? address : `${address.slice(0, at)}@${domain}`;
}

/**
 * What is wrong with an address's characters, if anything. smtp-server decodes command
 * lines as UTF-8, so bytes that were not UTF-8 arrive as U+FFFD; an address with non-ASCII
 * characters is only allowed when the client declared SMTPUTF8 (RFC 6531), and Postfix
 * would otherwise refuse it at the relay, after the client had sent the whole message.
 */
export function addressEncodingProblem(address: string, smtputf8: boolean): 'not_utf8' | 'needs_smtputf8' | null {
  if (address.includes('\uFFFD')) return 'not_utf8';
  if (!smtputf8 && /[^\x00-\x7f]/.test(address)) return 'needs_smtputf8';
  return null;
}

/** The domain of an address, lower case, one trailing dot dropped; '' without an @. */
export function domainOfAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase().replace(/\.$/, '') : '';
}

/** user+tag@Example.COM and USER@example.com are one mailbox. */
export function foldAddress(address: string): string {
  const lower = address.toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at <= 0) return lower;
  const plus = lower.indexOf('+');
  return plus > 0 && plus < at ? lower.slice(0, plus) + lower.slice(at) : lower;
}
