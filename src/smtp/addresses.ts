import { domainToASCII } from 'node:url';

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
  if (domain.startsWith('[')) return { ok: false, why: 'routing' };
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  const ascii = domainToASCII(domain).toLowerCase();
  if (!ascii || ascii.includes('..') || !/^[a-z0-9.-]+$/.test(ascii)) return { ok: false, why: 'syntax' };
  return { ok: true, address: `${local}@${ascii}`, local, domain: ascii };
}

/** The sender: '' is the null sender; the domain is normalised like a recipient's. */
export function normalizeSender(address: string): string {
  if (!address) return '';
  const at = address.lastIndexOf('@');
  if (at <= 0) return address;
  const domain = domainToASCII(address.slice(at + 1).replace(/\.$/, '')) || address.slice(at + 1);
  return `${address.slice(0, at)}@${domain.toLowerCase()}`;
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
