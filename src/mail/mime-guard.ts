import type { SplitterChunk } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import type { AttachmentInfo, MessageHeader, MimePart, TruncationReason } from './parsed-message.js';
import { archiveIsEncrypted, mayBeArchive, zipEntryNames } from './archive.js';
import { joinText, partText, transferDecode, type TextPiece } from './part-text.js';

/**
 * The one pass over a message's MIME structure. A mailsplit Splitter splits the raw
 * message and this guard sees each chunk the moment it is split. It records the header
 * block, every leaf part and the nesting depth, and keeps bounded pieces of the bodies that
 * the checks read:
 *   - text/plain and text/html bodies up to the text budget, decoded when the part ends
 *     (part-text.ts: transfer encoding, format=flowed, charset);
 *   - the first ARCHIVE_PREFIX bytes of an attachment that may be an archive, decoded and
 *     looked into for encrypted entries;
 *   - no other body: attachments are counted here and never decoded.
 * Past max_mime_depth or max_mime_parts it stops: what came before (headers, text,
 * attachments) is kept.
 */

/** The parse bounds, named as the policy's `limits` section names them. */
export interface ParseLimits {
  max_mime_depth: number;
  max_mime_parts: number;
  max_parse_ms: number;
  max_text_size: number;
  max_urls: number;
}

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
  /** Encoded bytes kept. */
  passed: number;
  /** Nothing more of this body is kept. */
  cut: boolean;
  /** The body bytes kept (text, or an archive's first bytes), still encoded. */
  kept: Buffer[];
  /** Share of base64 body bytes that are data rather than line ends (from the first line). */
  dataRatio: number;
}

/** Types read as message text when inline; never looked into as an archive. */
const TEXT_TYPES = new Set(['text/plain', 'text/html']);

export class MimeGuard {
  readonly headers: MessageHeader[] = [];
  readonly parts: MimePart[] = [];
  readonly attachments: AttachmentInfo[] = [];
  mimeDepth = 0;
  stopped: TruncationReason | null = null;
  /** Text beyond the budget was not kept; the parse went on (attachments and parts still count). */
  textCut = false;
  /** The decoded text parts, in order. */
  private readonly pieces: TextPiece[] = [];
  /** An inline text/plain part exists (even one whose body is not read). */
  private hasText = false;
  /** Called once when the parse stops early, so the splitter can be halted mid-write. */
  onStop: (() => void) | null = null;
  private nodes = 0;
  private leaf: Leaf | null = null;
  /** Encoded text bytes still to keep: QP can triple a text's size, base64 adds a third plus line ends. */
  private textBytesLeft: number;

  constructor(private readonly limits: ParseLimits) {
    this.textBytesLeft = limits.max_text_size * 3 + 4096;
  }

  /** The message's text and HTML, from the text parts read so far. */
  text(): { text: string; html: string } {
    return joinText(this.pieces, this.hasText);
  }

  add(chunk: SplitterChunk): void {
    if (this.stopped) return;
    if (chunk.type === 'body') {
      if (this.leaf && chunk.node === this.leaf.node) this.onBody(this.leaf, chunk.value);
      return;
    }
    // A leaf's body ends at the next boundary or node; boundaries, preamble and epilogue are not read.
    this.finish();
    if (chunk.type === 'node') this.onNode(chunk);
  }

  stop(reason: TruncationReason): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.finish();
    this.onStop?.();
  }

  /** End the current leaf: settle its size, decode what was kept of it. */
  finish(): void {
    const leaf = this.leaf;
    if (!leaf) return;
    this.leaf = null;
    if (leaf.attachment) leaf.attachment.size = leaf.encoding === 'base64' ? Math.floor(leaf.bytes * leaf.dataRatio * 0.75) : leaf.bytes;
    if (leaf.kept.length === 0) return;
    const body = Buffer.concat(leaf.kept);
    if (leaf.use === 'archive' && leaf.attachment) {
      const decoded = transferDecode(body, leaf.encoding);
      leaf.attachment.encrypted = archiveIsEncrypted(decoded);
      leaf.attachment.entries = zipEntryNames(decoded);
    }
    if (leaf.use !== 'text') return;
    const { node } = leaf;
    this.pieces.push({
      type: (node.contentType || 'text/plain').toLowerCase() === 'text/html' ? 'text/html' : 'text/plain',
      text: partText(body, { encoding: leaf.encoding, charset: node.charset ? String(node.charset) : '', flowed: node.flowed, delSp: node.delSp }),
      alternative: inAlternative(node),
      root: node.root === true,
    });
  }

  private onNode(node: NodeChunk): void {
    if (++this.nodes > this.limits.max_mime_parts) return this.stop('parts');
    const depth = depthOf(node, this.limits.max_mime_depth + 1);
    this.mimeDepth = Math.max(this.mimeDepth, depth);
    if (depth > this.limits.max_mime_depth) return this.stop('depth');
    if (node.root) this.readHeaders(node.headers ? node.headers.getList() : []);
    // Containers: a multipart, or a message/rfc822 whose embedded message follows as its own nodes.
    if (node.multipart || node.messageNode) return;

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
      // An inline text/plain "x.zip" is text, not an archive.
      if (mayBeArchive(filename, contentType) && !TEXT_TYPES.has(contentType)) use = 'archive';
    }
    // Text is an inline text/plain or text/html part; a part inside a multipart that names no
    // type at all is not read as text (only the message itself defaults to text/plain).
    const inlineText = TEXT_TYPES.has(contentType) && (node.contentType !== false || node.root) && (!node.disposition || node.disposition === 'inline');
    if (inlineText && !attachment) use = 'text';
    // Plain text beside HTML, even a named part whose body is not read, moves where the
    // HTML's place in the text goes (see joinText).
    if (inlineText && contentType === 'text/plain') this.hasText = true;
    this.leaf = { node, use, attachment: info, encoding: (node.encoding || '7bit').toLowerCase(), bytes: 0, passed: 0, cut: false, kept: [], dataRatio: 0 };
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
    leaf.kept.push(piece);
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

function depthOf(node: NodeChunk, cap: number): number {
  let depth = 0;
  for (let p = node.parentNode; p && depth < cap; p = p.parentNode) {
    // An embedded message's root sits under its message/rfc822 container: one level, not two.
    if (!p.messageNode) depth++;
  }
  return depth;
}

/** mailparser's "alternative": some container above is a multipart/alternative. */
function inAlternative(node: NodeChunk): boolean {
  for (let p = node.parentNode; p; p = p.parentNode) if (p.contentType === 'multipart/alternative') return true;
  return false;
}

/** mailsplit hands header lines over as latin1 strings; raw UTF-8 headers (RFC 6532) are common. */
function utf8IfValid(latin1: string): string {
  // Pure ASCII needs no work.
  if (!/[\x80-\xff]/.test(latin1)) return latin1;
  const utf8 = Buffer.from(latin1, 'latin1').toString('utf8');
  return utf8.includes('\uFFFD') ? latin1 : utf8;
}
