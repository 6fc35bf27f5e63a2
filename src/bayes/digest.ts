import crypto from 'node:crypto';
import type { ParsedMessage } from '../mail/parsed-message.js';
import { charSet, isWhiteSpace, trimEndWhile } from '../mail/linear-text.js';
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
  return trimEndWhile(withoutLineEndBlanks(bodyOf(raw).toString('latin1')), isWhiteSpace);
}

const isSpaceOrTab = charSet(' \t');

/** Lines ending in "\n", without the blanks and the "\r" before each line end. */
function withoutLineEndBlanks(text: string): string {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    let line = lines[i] as string;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    lines[i] = trimEndWhile(line, isSpaceOrTab);
  }
  return lines.join('\n');
}
