/**
 * The message's header block, split into fields without touching the body: the body goes
 * to Postfix byte for byte as the client sent it. The one place that finds where the header
 * block ends.
 */

/**
 * Where the header block ends: `headerSize` bytes of fields (their last line end included),
 * then the empty line, then the body from `bodyOffset`. The empty line is CRLF on the wire;
 * a file given to learn or scan may use bare LF, so whichever comes first counts. Without an
 * empty line the whole message is header; a message that starts with one has no fields.
 */
export function headerBoundary(raw: Buffer): { headerSize: number; bodyOffset: number } {
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { headerSize: 0, bodyOffset: 2 };
  if (raw[0] === 0x0a) return { headerSize: 0, bodyOffset: 1 };
  const crlf = raw.indexOf('\r\n\r\n');
  // Only the part before the CRLF boundary is searched for a bare-LF one: one pass over a big body, not two.
  const lf = (crlf >= 0 ? raw.subarray(0, crlf) : raw).indexOf('\n\n');
  if (crlf >= 0 && lf < 0) return { headerSize: crlf + 2, bodyOffset: crlf + 4 };
  if (lf >= 0) return { headerSize: lf + 1, bodyOffset: lf + 2 };
  return { headerSize: raw.length, bodyOffset: raw.length };
}

/** The body: everything after the header block's empty line ('' without one). */
export function bodyOf(raw: Buffer): Buffer {
  return raw.subarray(headerBoundary(raw).bodyOffset);
}

export interface HeaderField {
  /** The field name as written. */
  name: string;
  /** The whole field including its name, folding and the final CRLF. */
  raw: string;
}

export interface SplitMessage {
  fields: HeaderField[];
  /** Offset where the body starts (after the empty line), or raw.length when there is none. */
  bodyOffset: number;
  /** Bytes in the header block. */
  headerSize: number;
}

export function splitMessage(raw: Buffer): SplitMessage {
  const { headerSize: end, bodyOffset } = headerBoundary(raw);
  const block = raw.subarray(0, end).toString('latin1');
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  for (const line of block.split(/(?<=\r\n)/)) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && current) {
      current.raw += line;
      continue;
    }
    const colon = line.indexOf(':');
    current = { name: colon > 0 ? line.slice(0, colon).trim() : '', raw: line };
    fields.push(current);
  }
  return { fields, bodyOffset, headerSize: end };
}

/** Headers that pretend to come from us are removed before relaying. */
export function isOwnHeader(name: string): boolean {
  return /^x-spam-/i.test(name);
}

/**
 * An inbound field that claims to be ours: any X-Spam-*, and an Authentication-Results whose
 * authserv-id is our host name (RFC 8601 section 5: a forged one would vouch for the sender
 * in our name; the receiving side trusts only ours).
 */
export function isForgedField(f: HeaderField, authservId: string): boolean {
  if (isOwnHeader(f.name)) return true;
  return authservId !== '' && f.name.toLowerCase() === 'authentication-results' && authservIdOf(f.raw) === authservId.toLowerCase();
}

/** The authserv-id of an Authentication-Results field: its first token, after any (comment). One pass. */
export function authservIdOf(raw: string): string {
  let i = raw.indexOf(':') + 1;
  for (; i < raw.length; i++) {
    const c = raw[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (c !== '(') break;
    const close = raw.indexOf(')', i);
    if (close < 0) return '';
    i = close;
  }
  let end = i;
  while (end < raw.length && !/[;\s(]/.test(raw[end]!)) end++;
  return raw.slice(i, end).replace(/^"|"$/g, '').toLowerCase();
}

/**
 * Rebuild the message: our new fields first (Received on top, as each hop does), the
 * client's fields minus the ones that pretend to be ours, then the untouched body.
 */
export function restampMessage(raw: Buffer, split: SplitMessage, prepend: readonly string[], subjectTag: string | null, authservId = ''): Buffer {
  const kept = split.fields.filter((f) => !isForgedField(f, authservId));
  const rewritten = subjectTag
    ? kept.map((f) => (f.name.toLowerCase() === 'subject' ? { ...f, raw: f.raw.replace(/^Subject:[ \t]?/i, `Subject: ${subjectTag} `) } : f))
    : kept;
  const head = prepend.map((h) => h + '\r\n').join('') + rewritten.map((f) => f.raw).join('');
  const separator = split.bodyOffset > split.headerSize ? raw.subarray(split.headerSize, split.bodyOffset) : Buffer.from('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), separator, raw.subarray(split.bodyOffset)]);
}
