import crypto from 'node:crypto';
import type { ParsedMessage } from '../../mail/parsed-message.js';

/** Characters of In-Reply-To / References read: a thread of hundreds of ids stays cheap. */
const MAX_FIELD = 16_384;
/** One `<id>`; the class excludes `<`, `>` and space, so the scan is linear. Only for matchAll (which copies it): an exec'd global regex keeps a lastIndex that would skip ids. */
const ANGLE_ID = /<([^<>\s]{1,998})>/g;
const FIRST_ANGLE_ID = /<([^<>\s]{1,998})>/;

/**
 * The store key of a Message-ID: a digest, so a stranger's kilobyte-long id costs the same
 * as any other and no id can break the key layout.
 */
export function replyKey(id: string): string {
  return crypto.createHash('sha256').update(id).digest('hex').slice(0, 32);
}

/** The message's own Message-ID, without angle brackets; '' when it has none. */
export function ownMessageId(msg: ParsedMessage): string {
  const value = (msg.header('message-id')[0] ?? '').slice(0, 1000);
  return FIRST_ANGLE_ID.exec(value)?.[1] ?? '';
}

/** The ids a reply names: In-Reply-To first, then References from the newest; at most `max`, no repeats. */
export function referencedIds(msg: ParsedMessage, max: number): string[] {
  const found: string[] = [];
  const take = (value: string, newestFirst: boolean) => {
    const ids = [...value.slice(-MAX_FIELD).matchAll(ANGLE_ID)].map((m) => m[1]!);
    for (const id of newestFirst ? ids.reverse() : ids) if (found.length < max && !found.includes(id)) found.push(id);
  };
  for (const v of msg.header('in-reply-to')) take(v, false);
  for (const v of msg.header('references')) take(v, true);
  return found;
}
