import crypto from 'node:crypto';
import type { ParsedMessage } from '../mail/parsed-message.js';
import { bodyOf } from '../mail/header-block.js';

/** Headers that identify a message and that no hop on the way to the mailbox rewrites. */
const KEY_HEADERS = ['message-id', 'from', 'date', 'to'] as const;

/**
 * One message's identity for learning: a hash of its key headers and its body with line
 * ends and trailing blanks normalised. The copy a user later drags into Junk carries our
 * X-Spam-* fields, more Received fields and perhaps a tagged Subject, but the same digest,
 * so learning it again is recognised as the same message.
 */
export function messageDigest(msg: ParsedMessage): string {
  const hash = crypto.createHash('sha256');
  for (const name of KEY_HEADERS) hash.update(name).update(':').update(msg.header(name)[0]?.trim() ?? '').update('\n');
  hash.update('\n').update(normalizedBody(msg.raw));
  return hash.digest('hex').slice(0, 32);
}

function normalizedBody(raw: Buffer): string {
  return bodyOf(raw)
    .toString('latin1')
    .replace(/[ \t]*\r?\n/g, '\n')
    .replace(/\s+$/, '');
}
