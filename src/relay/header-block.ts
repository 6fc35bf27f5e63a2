/**
 * The message's header block, split into fields without touching the body: the body goes
 * to Postfix byte for byte as the client sent it.
 */
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
  let end = raw.indexOf('\r\n\r\n');
  let bodyOffset: number;
  if (raw.subarray(0, 2).toString('latin1') === '\r\n') {
    end = 0;
    bodyOffset = 2;
  } else if (end < 0) {
    end = raw.length;
    bodyOffset = raw.length;
  } else {
    end += 2;
    bodyOffset = end + 2;
  }
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
