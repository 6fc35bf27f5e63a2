/**
 * The message as Postfix hands it to a milter, put back together: HEADER packets (name and
 * value, the value with its leading space under SMFIP_HDR_LEADSPC and with LF between folded
 * lines), EOH, then BODY chunks in CRLF form. Postfix's own Received field is not shown to
 * milters, so the message is the one the client sent.
 *
 * Bounded: once the bytes held pass `maxSize` (limits.max_message_size) nothing more is
 * kept and `oversized` is set; the door answers 552 at once.
 */
export class MessageBuffer {
  private parts: Buffer[] = [];
  private size = 0;
  oversized = false;
  /** The header fields in order, as sent (value latin1, with its leading space): CHGHEADER counts them. */
  readonly fields: Array<{ name: string; value: string }> = [];

  /** maxFields: fields remembered for edits (limits.max_headers; a message with more is refused anyway). */
  constructor(
    private readonly maxSize: number,
    private readonly maxFields = 1000,
  ) {}

  get bytes(): number {
    return this.size;
  }

  header(name: string, value: Buffer): void {
    if (this.oversized) return;
    if (this.fields.length < this.maxFields) this.fields.push({ name, value: value.toString('latin1') });
    const line = Buffer.concat([Buffer.from(name + ':', 'latin1'), crlf(value), CRLF]);
    this.add(line);
  }

  endOfHeaders(): void {
    this.add(CRLF);
  }

  body(chunk: Buffer): void {
    this.add(chunk);
  }

  raw(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }

  private add(b: Buffer): void {
    if (this.oversized) return;
    if (this.size + b.length > this.maxSize) {
      this.oversized = true;
      this.parts = [];
      return;
    }
    this.parts.push(b);
    this.size += b.length;
  }
}

const CRLF = Buffer.from('\r\n');

/** Folded header lines come with bare LF between them; the message on the wire has CRLF. */
function crlf(value: Buffer): Buffer {
  if (value.indexOf(0x0a) < 0) return value;
  return Buffer.from(value.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
