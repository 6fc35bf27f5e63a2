/**
 * The message as Postfix hands it to a milter, put back together: HEADER packets (name and
 * value, the value with its leading space under SMFIP_HDR_LEADSPC and with LF between folded
 * lines), EOH, then BODY chunks in CRLF form. Postfix's own Received field is not shown to
 * milters, so the message is the one the client sent.
 *
 * Bounded: once the bytes held pass `maxSize` (limits.max_message_size) nothing more is
 * kept and `oversized` is set; the door answers 552 at once. The bytes held also come out
 * of the process's budget for message memory (limits.max_message_memory), shared with the
 * SMTP door: when it runs out nothing more is kept, `overBudget` is set and the door
 * answers 452 4.3.1. `release()` gives the bytes back when the transaction is over.
 */
export class MessageBuffer {
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes taken from the memory budget, given back by release(). */
  private reserved = 0;
  oversized = false;
  overBudget = false;
  /** The header fields in order, as sent (value latin1, with its leading space): CHGHEADER counts them. */
  readonly fields: Array<{ name: string; value: string }> = [];

  /** maxFields: fields remembered for edits (limits.max_headers; a message with more is refused anyway). */
  constructor(
    private readonly maxSize: number,
    private readonly maxFields = 1000,
    private readonly memory: MemoryBudget | null = null,
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

  /** The bytes still held go back to the memory budget; safe to call more than once. */
  release(): void {
    if (this.reserved > 0) this.memory?.release(this.reserved);
    this.reserved = 0;
  }

  private add(b: Buffer): void {
    if (this.oversized || this.overBudget) return;
    if (this.size + b.length > this.maxSize) {
      this.oversized = true;
      this.drop();
      return;
    }
    if (this.memory) {
      if (!this.memory.reserve(b.length)) {
        this.overBudget = true;
        this.drop();
        return;
      }
      this.reserved += b.length;
    }
    this.parts.push(b);
    this.size += b.length;
  }

  /** Nothing more of this message is kept: what it held goes back at once. */
  private drop(): void {
    this.parts = [];
    this.release();
  }
}

/** The part of pipeline/message-memory.ts's MessageMemory a buffer uses. */
export interface MemoryBudget {
  reserve(n: number): boolean;
  release(n: number): void;
}

const CRLF = Buffer.from('\r\n');

/** Folded header lines come with bare LF between them; the message on the wire has CRLF. */
function crlf(value: Buffer): Buffer {
  if (value.indexOf(0x0a) < 0) return value;
  return Buffer.from(value.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
