import crypto from 'node:crypto';
import { networkOf } from '../../net/ip.js';
import type { ParsedMessage } from '../../mail/parsed-message.js';
import { bodyOf } from '../../mail/header-block.js';

/**
 * What identifies a greylisted attempt. A triplet's group is the client network (a
 * sender's pool retries from a neighbouring address); its id is sender|recipient. A
 * message's group is a hash of the message, so the same message passes on any MX.
 */
export interface GreylistKey {
  group: string;
  id: string;
}

export function tripletKey(ip: string, sender: string, recipient: string, v4Bits: number, v6Bits: number): GreylistKey {
  return { group: networkOf(ip, v4Bits, v6Bits), id: `${stableSender(sender)}|${recipient.toLowerCase()}` };
}

/**
 * Bounce and list software puts changing tokens into the sender (VERP, BATV, sequence
 * numbers), so each retry would look new: drop BATV's prvs= wrapper and +tags, and turn
 * every run of digits in the local part into '#', as postgrey does.
 */
export function stableSender(sender: string): string {
  if (!sender) return '<>';
  const lower = sender.toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at < 0) return lower;
  let local = lower.slice(0, at);
  const batv = /^prvs=[^=]+=(.+)$/.exec(local);
  if (batv?.[1]) local = batv[1];
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  return `${local.replace(/\d+/g, '#')}${lower.slice(at)}`;
}

/**
 * The same message on its retry: same envelope and the same Message-ID, or (without one)
 * the same body. Headers other than Message-ID may change between attempts (a Received
 * line, a Date the client re-stamps), so they are left out.
 */
export function messageKey(sender: string, rcpts: readonly string[], message: ParsedMessage | null): GreylistKey {
  const h = crypto.createHash('sha256');
  h.update(sender.toLowerCase()).update('\0');
  const sorted = rcpts.map((r) => r.toLowerCase()).sort();
  for (const r of sorted) h.update(r).update('\0');
  const messageId = message?.header('message-id')[0]?.trim();
  if (messageId) h.update('id:').update(messageId);
  else if (message) h.update('body:').update(bodyOf(message.raw));
  const shown = sorted.length > 1 ? `${sorted[0]},+${sorted.length - 1}` : sorted[0] ?? '';
  return { group: `msg:${h.digest('hex').slice(0, 24)}`, id: `${sender || '<>'}|${shown}` };
}
