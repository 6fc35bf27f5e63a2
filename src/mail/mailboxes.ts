import addressparser from 'nodemailer/lib/addressparser';
import libmime from 'libmime';
import type { ParsedMessage } from './parsed-message.js';
import { domainOfAddress } from './address.js';

/** One mailbox from an address header: display name decoded, domain lower-case. */
export interface Mailbox {
  name: string;
  address: string;
  domain: string;
}

/**
 * Mailboxes of one raw (not RFC 2047-decoded) header value, groups flattened. Parsing the
 * raw value matters: an encoded display name can decode to text with "<", "," or "@" that
 * would otherwise pass for an address.
 */
export function parseMailboxes(raw: string): Mailbox[] {
  let list: Array<{ name: string; address: string }>;
  try {
    list = addressparser(raw, { flatten: true });
  } catch {
    return [];
  }
  return list.map((a) => {
    let name = a.name ?? '';
    if (name.includes('=?')) {
      try {
        name = libmime.decodeWords(name);
      } catch {
        // keep the raw name
      }
    }
    const address = (a.address ?? '').trim();
    return { name: name.trim(), address, domain: address.includes('@') ? domainOfAddress(address) : '' };
  });
}

const fromCache = new WeakMap<ParsedMessage, Mailbox[]>();

/** The mailboxes of every From field, in order (parsed once per message). */
export function fromMailboxes(msg: ParsedMessage): Mailbox[] {
  let out = fromCache.get(msg);
  if (!out) {
    out = msg.headers.filter((h) => h.name === 'from').flatMap((h) => parseMailboxes(h.raw));
    fromCache.set(msg, out);
  }
  return out;
}
