import type { ForcedAction } from '../../decision/hits.js';
import type { ParsedMessage } from '../../mail/parsed-message.js';
import { reply } from '../../decision/replies.js';

/**
 * GTUBE, SpamAssassin's "Generic Test for Unsolicited Bulk Email": a message carrying this
 * string is refused whatever else it scores, so an admin can test the whole path (client,
 * Borderpatrol, the reply, the logs and history) with one message. rspamd does the same.
 */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** The string in the message as sent, or in its decoded text (it may be base64 or quoted-printable encoded). */
export function hasGtube(msg: ParsedMessage): boolean {
  return msg.raw.includes(GTUBE, 0, 'latin1') || msg.text.includes(GTUBE) || msg.html.includes(GTUBE);
}

export function gtubeReject(): ForcedAction {
  return { action: 'reject', reply: reply(554, '5.7.1', 'Message rejected: it carries the GTUBE spam test string'), reason: 'GTUBE test string' };
}
