import type { SplitterChunk } from '@zone-eu/mailsplit';
import { isUtf8 } from 'node:buffer';
import libmime from 'libmime';
import libqp from 'libqp';
import type { Policy } from '../policy/schema.js';
import type { AttachmentInfo, MessageHeader, MimePart, TruncationReason } from './parsed-message.js';
import { mayBeArchive } from './archive.js';

/**
 * The bound-keeping pass in front of mailparser. mailparser has no depth, part-count, time
 * or text bounds of its own: its splitter's limits end the parse with an error that loses
 * everything read so far, and it buffers every text part whole. So the raw message first
 * goes through a mailsplit Splitter (the splitter mailparser itself is built on) and this
 * guard sees each chunk the moment it is split. It records the header block, every leaf part
 * and the nesting depth, and passes bytes on to mailparser, as they came (a split and
 * re-join reproduces a message exactly), but only as much as the checks need:
 *   - each part's Content-* fields and the multipart structure, always;
 *   - text/plain and text/html bodies up to the text budget;
 *   - the first ARCHIVE_PREFIX bytes of an attachment that may be an archive;
 *   - no other body: attachments are counted here and never decoded.
 * Past max_mime_depth or max_mime_parts it stops: mailparser then reads a message that ends
 * there, so what came before (headers, text, attachments) is kept.
 *
 * One decision is made here rather than left to mailparser: text that declares no charset
 * (or US-ASCII) yet is not valid UTF-8 is passed on as Windows-1252, by far the most common
 * case. mailparser would read it as UTF-8 and turn every 8-bit byte into U+FFFD, which
 * leaves content rules and Bayes nothing to tell words apart by.
 */

export type ParseLimits = Pick<Policy['limits'], 'max_mime_depth' | 'max_mime_parts' | 'max_parse_ms' | 'max_text_size' | 'max_urls'>;

/** Encoded bytes of a possible archive passed on, to look for encrypted entries once decoded. */
export const ARCHIVE_PREFIX = 256 * 1024;

type NodeChunk = Extract<SplitterChunk, { type: 'node' }>;

/** What a leaf's body is passed on for: decoding as text, a look at an archive's first entries, or nothing. */
type BodyUse = 'text' | 'archive' | 'none';

interface Leaf {
  node: NodeChunk;
  use: BodyUse;
  attachment: AttachmentInfo | null;
  encoding: string;
  /** Encoded bytes seen. */
  bytes: number;
  /** Encoded bytes passed on. */
  passed: number;
  /** Nothing more of this body is passed on. */
  cut: boolean;
  /** Header fields and body held back until the charset is known (text without a usable charset). */
  held: Buffer[] | null;
  /** Share of base64 body bytes that are data rather than line ends (from the first line). */
  dataRatio: number;
}

/** Types mailparser reads as message text when inline; never passed on as an archive. */
const TEXT_TYPES = new Set(['text/plain', 'text/html']);

export class MimeGuard {
  readonly headers: MessageHeader[] = [];
  readonly parts: MimePart[] = [];
  readonly attachments: AttachmentInfo[] = [];
  /** Attachments whose first bytes were passed on, by IMAP part number ('' for a single-part message). */
  readonly archives = new Map<string, AttachmentInfo>();
  mimeDepth = 0;
  stopped: TruncationReason | null = null;
  /** Text beyond the budget was not passed on; the parse went on (attachments and parts still count). */
  textCut = false;
  /** Called once when the parse stops early, so the splitter can be halted mid-write. */
  onStop: (() => void) | null = null;
  private nodes = 0;
  private leaf: Leaf | null = null;
  /** Encoded text bytes still to pass on: QP can triple a text's size, base64 adds a third plus line ends. */
  private textBytesLeft: number;

  constructor(
    private readonly limits: ParseLimits,
    private readonly pass: (bytes: Buffer) => void,
  ) {
    this.textBytesLeft = limits.max_text_size * 3 + 4096;
  }

  add(chunk: SplitterChunk): void {
    if (this.stopped) return;
    if (chunk.type === 'body') {
      if (this.leaf && chunk.node === this.leaf.node) this.onBody(this.leaf, chunk.value);
      return;
    }
    // A leaf's body ends at the next boundary or node.
    this.finish();
    if (chunk.type === 'node') this.onNode(chunk);
    // Boundaries, preamble and epilogue: mailparser needs the structure.
    else this.pass(chunk.value);
  }

  stop(reason: TruncationReason): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.finish();
    this.onStop?.();
  }

  /** End the current leaf: settle its size, pass on what was held back. */
  finish(): void {
    const leaf = this.leaf;
    if (!leaf) return;
    this.leaf = null;
    if (leaf.attachment) leaf.attachment.size = leaf.encoding === 'base64' ? Math.floor(leaf.bytes * leaf.dataRatio * 0.75) : leaf.bytes;
    if (leaf.held) {
      const body = Buffer.concat(leaf.held);
      if (!isUtf8(transferDecode(body, leaf.encoding))) leaf.node.setCharset('windows-1252');
      this.pass(mimeFields(leaf.node.headers ? leaf.node.headers.getList() : []));
      this.pass(body);
    }
  }

  private passOn(leaf: Leaf, bytes: Buffer): void {
    if (leaf.held) leaf.held.push(bytes);
    else this.pass(bytes);
  }

  private onNode(node: NodeChunk): void {
    if (++this.nodes > this.limits.max_mime_parts) return this.stop('parts');
    const depth = depthOf(node, this.limits.max_mime_depth + 1);
    this.mimeDepth = Math.max(this.mimeDepth, depth);
    if (depth > this.limits.max_mime_depth) return this.stop('depth');
    const lines = node.headers ? node.headers.getList() : [];
    if (node.root) this.readHeaders(lines);
    // Containers: a multipart, or a message/rfc822 whose embedded message follows as its own nodes.
    if (node.multipart || node.messageNode) {
      this.pass(mimeFields(lines));
      return;
    }

    const contentType = (node.contentType || 'text/plain').toLowerCase();
    const filename = node.filename ? String(node.filename) : '';
    const attachment = node.disposition === 'attachment' || filename !== '';
    const part: MimePart = { contentType, filename: filename.toLowerCase(), attachment, depth };
    this.parts.push(part);
    let info: AttachmentInfo | null = null;
    let use: BodyUse = 'none';
    if (attachment) {
      info = { filename: part.filename, contentType, size: 0, encrypted: false, entries: [] };
      this.attachments.push(info);
      // mailparser would read an inline text/plain "x.zip" as text, not as an attachment.
      if (mayBeArchive(filename, contentType) && !TEXT_TYPES.has(contentType)) {
        use = 'archive';
        this.archives.set(partNumber(node), info);
      }
    } else if (TEXT_TYPES.has(contentType) && (!node.disposition || node.disposition === 'inline')) {
      use = 'text';
    }
    const charset = node.charset ? String(node.charset).toLowerCase() : '';
    const held = use === 'text' && (charset === '' || charset === 'us-ascii' || charset === 'ascii') ? [] : null;
    this.leaf = { node, use, attachment: info, encoding: (node.encoding || '7bit').toLowerCase(), bytes: 0, passed: 0, cut: false, held, dataRatio: 0 };
    if (!held) this.pass(mimeFields(lines));
  }

  private onBody(leaf: Leaf, value: Buffer): void {
    if (leaf.bytes === 0 && leaf.encoding === 'base64') {
      const lf = value.indexOf(10);
      leaf.dataRatio = lf > 0 ? (lf - (value[lf - 1] === 13 ? 1 : 0)) / (lf + 1) : 1;
    }
    leaf.bytes += value.length;
    if (leaf.use === 'none' || leaf.cut) return;
    const room = leaf.use === 'text' ? this.textBytesLeft : ARCHIVE_PREFIX - leaf.passed;
    let piece = value;
    if (value.length > room) {
      leaf.cut = true;
      if (leaf.use === 'text') this.textCut = true;
      if (room <= 0) return;
      // End on a whole line where there is one, so no cut-off line can read as a boundary.
      const lf = value.lastIndexOf(10, room - 1);
      piece = value.subarray(0, lf >= 0 ? lf + 1 : room);
    }
    this.passOn(leaf, piece);
    leaf.passed += piece.length;
    if (leaf.use === 'text') this.textBytesLeft -= piece.length;
  }

  private readHeaders(lines: ReadonlyArray<{ key: string; line: string }>): void {
    for (const { key, line } of lines) {
      const colon = line.indexOf(':');
      if (colon < 0 || !key) continue;
      let raw = utf8IfValid(line.slice(colon + 1));
      if (raw.includes('\n')) raw = raw.replace(/\r?\n/g, '');
      raw = raw.trim();
      let value = raw;
      if (raw.includes('=?')) {
        try {
          value = libmime.decodeWords(raw);
        } catch {
          value = raw;
        }
      }
      this.headers.push({ name: key.toLowerCase(), value, raw });
    }
  }
}

const BLANK_LINE = Buffer.from('\r\n');

/**
 * A part's header block as mailparser gets it: only the Content-* fields, which are all that
 * shape how a part is read. The message's own header fields are read here (raw, in order,
 * for ParsedMessage.headers), so mailparser is spared decoding addresses, dates, Received
 * chains and signatures that nothing reads from it.
 */
function mimeFields(lines: ReadonlyArray<{ key: string; line: string }>): Buffer {
  const kept: string[] = [];
  for (const { key, line } of lines) if (key.startsWith('content-')) kept.push(line);
  return kept.length === 0 ? BLANK_LINE : Buffer.from(kept.join('\r\n') + '\r\n\r\n', 'latin1');
}

/** Body bytes as they decode, only to tell whether undeclared text is UTF-8. */
function transferDecode(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1'), 'base64');
  if (encoding === 'quoted-printable') return libqp.decode(body);
  return body;
}

function depthOf(node: NodeChunk, cap: number): number {
  let depth = 0;
  for (let p = node.parentNode; p && depth < cap; p = p.parentNode) {
    // An embedded message's root sits under its message/rfc822 container: one level, not two.
    if (!p.messageNode) depth++;
  }
  return depth;
}

/** The IMAP part number mailparser gives the same part as `partId` (it numbers by the same splitter). */
function partNumber(node: NodeChunk): string {
  if (!node._parentBoundary) return '';
  return (node.partNr || []).filter((n) => typeof n === 'number').join('.');
}

/** mailsplit hands header lines over as latin1 strings; raw UTF-8 headers (RFC 6532) are common. */
function utf8IfValid(latin1: string): string {
  // Pure ASCII needs no work.
  if (!/[\x80-\xff]/.test(latin1)) return latin1;
  const utf8 = Buffer.from(latin1, 'latin1').toString('utf8');
  return utf8.includes('\uFFFD') ? latin1 : utf8;
}
