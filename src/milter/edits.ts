import { encode } from './codec.js';
import type { HeaderEdits } from './engine.js';

/**
 * The header edits of a verdict as milter end-of-body replies. Postfix applies them to the
 * queue file (cleanup_milter): CHGHEADER counts fields of one name from 1 in the message as
 * received, INSHEADER counts positions from 0 in the message with Postfix's own Received on
 * top, ADDHEADER appends.
 */
export function editPackets(edits: HeaderEdits, fields: ReadonlyArray<{ name: string; value: string }>): Buffer[] {
  const out: Buffer[] = [];
  // Client fields that pretend to be ours go: per name from the last instance to the first,
  // so the instance numbers of those still to delete do not move.
  const removed = new Map<string, { name: string; count: number }>();
  for (const f of fields) {
    if (!edits.remove(f.name)) continue;
    const key = f.name.toLowerCase();
    const entry = removed.get(key) ?? { name: f.name, count: 0 };
    entry.count++;
    removed.set(key, entry);
  }
  for (const { name, count } of removed.values()) for (let i = count; i >= 1; i--) out.push(encode.changeHeader(i, name, ''));
  if (edits.subjectTag !== null) {
    const subject = fields.find((f) => f.name.toLowerCase() === 'subject');
    if (subject) out.push(encode.changeHeader(1, subject.name, `${edits.subjectTag} ${subject.value.replace(/^[ \t]+/, '')}`));
    else out.push(encode.addHeader('Subject', edits.subjectTag));
  }
  edits.prepend.forEach((field, i) => {
    const { name, value } = splitField(field);
    out.push(encode.insertHeader(i, name, value));
  });
  for (const field of edits.append) {
    const { name, value } = splitField(field);
    out.push(encode.addHeader(name, value));
  }
  return out;
}

/** "Name: value" → its name and its value without the space after the colon. */
function splitField(field: string): { name: string; value: string } {
  const colon = field.indexOf(':');
  return { name: field.slice(0, colon).trim(), value: field.slice(colon + 1).replace(/^ /, '') };
}
