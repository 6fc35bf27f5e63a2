import { encode } from './codec.js';
import type { HeaderEdits } from '../session/types.js';

/**
 * A Session's header edits as milter end-of-body replies. Postfix applies them to the
 * queue file (cleanup_milter): CHGHEADER counts the fields of one name from 1 in the
 * message as received, INSHEADER counts positions from 0 in the message with Postfix's own
 * Received on top, ADDHEADER appends.
 */
export function editPackets(edits: HeaderEdits, fields: ReadonlyArray<{ name: string; value: string }>): Buffer[] {
  const out: Buffer[] = [];
  // Inbound fields that claim to be ours go, named by their instance of that name; from the
  // last to the first, so the instance numbers of those still to delete do not move.
  for (const at of [...edits.removeAt].sort((a, b) => b - a)) {
    const field = fields[at];
    if (!field) continue;
    const name = field.name.toLowerCase();
    let instance = 0;
    for (let i = 0; i <= at; i++) if ((fields[i] as { name: string }).name.toLowerCase() === name) instance++;
    out.push(encode.changeHeader(instance, field.name, ''));
  }
  if (edits.subject !== null) {
    const subject = fields.find((f) => f.name.toLowerCase() === 'subject');
    out.push(subject ? encode.changeHeader(1, subject.name, edits.subject) : encode.addHeader('Subject', edits.subject));
  }
  // Our fields go right below Postfix's Received (position 1), in order. Postfix writes the
  // Received field of this hop itself, so ours would only repeat it.
  let at = 1;
  for (const field of edits.add) {
    const { name, value } = splitField(field);
    if (name.toLowerCase() === 'received') continue;
    out.push(encode.insertHeader(at++, name, value));
  }
  return out;
}

/** "Name: value" → its name and its value without the space after the colon. */
function splitField(field: string): { name: string; value: string } {
  const colon = field.indexOf(':');
  return { name: field.slice(0, colon).trim(), value: field.slice(colon + 1).replace(/^ /, '') };
}
