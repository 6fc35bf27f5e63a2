import { Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import type { Transform } from 'node:stream';
import libmime from 'libmime';
import { decode as decodeCharset } from 'libmime/lib/charset.js';
import libqp from 'libqp';
import type { Policy } from '../policy/schema.js';
import type { AttachmentInfo, MessageHeader, MimePart, ParsedMessage, TruncationReason } from './parsed-message.js';
import { htmlToText } from './html-text.js';
import { extractUrls } from './urls.js';
import { archiveIsEncrypted, mayBeArchive } from './archive.js';

/**
 * The one message parser: streams the raw bytes through mailsplit's Splitter (which yields
 * to the event loop every 16 KiB) and keeps only what the checks need. Text and HTML parts
 * are decoded up to limits.max_text_size; other parts are counted, never decoded, except
 * the first bytes of a possible archive (to see whether its entries are encrypted).
 * Depth, part count and wall-clock time are bounded: past a bound the parse stops and the
 * result is marked truncated, so a MIME bomb or a 25 MB attachment still gets a verdict.
 */

export type ParseLimits = Pick<Policy['limits'], 'max_mime_depth' | 'max_mime_parts' | 'max_parse_ms' | 'max_text_size' | 'max_urls'>;

/** Bytes handed to the splitter per write; the time budget is checked between writes. */
const WRITE_CHUNK = 64 * 1024;
/** Encoded bytes of a possible archive kept to look for encrypted entries. */
const ARCHIVE_PREFIX = 256 * 1024;

type NodeChunk = Extract<SplitterChunk, { type: 'node' }>;

interface LeafState {
  node: NodeChunk;
  kind: 'text' | 'html' | 'attachment' | 'other';
  part: MimePart;
  encoding: string;
  charset: string;
  /** Encoded bytes seen. */
  bytes: number;
  /** Encoded bytes kept (text/HTML up to the text budget, archive prefix). */
  kept: Buffer[];
  keptBytes: number;
  keepLimit: number;
  /** Share of base64 body bytes that are data rather than line ends (from the first line). */
  dataRatio: number;
}

class Collector {
  readonly headers: MessageHeader[] = [];
  readonly parts: MimePart[] = [];
  readonly attachments: AttachmentInfo[] = [];
  private readonly textParts: string[] = [];
  private readonly htmlParts: string[] = [];
  private textBudget: number;
  private nodes = 0;
  private leaf: LeafState | null = null;
  mimeDepth = 0;
  stopped: TruncationReason | null = null;
  /** Text beyond the budget was dropped; the parse went on (attachments and parts still count). */
  textCut = false;

  constructor(private readonly limits: ParseLimits) {
    this.textBudget = limits.max_text_size;
  }

  get text(): string {
    return this.textParts.join('\n');
  }

  get html(): string {
    return this.htmlParts.join('\n');
  }

  stop(reason: TruncationReason): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.finishLeaf();
    this.onStop?.();
  }

  /** Called once when the parse stops early, so the splitter can be halted mid-write. */
  onStop: (() => void) | null = null;

  add(chunk: SplitterChunk): void {
    if (this.stopped) return;
    if (chunk.type === 'node') this.onNode(chunk);
    else if (chunk.type === 'body' && this.leaf && chunk.node === this.leaf.node) this.onBody(this.leaf, chunk.value);
  }

  finish(): void {
    this.finishLeaf();
  }

  private onNode(node: NodeChunk): void {
    this.finishLeaf();
    if (++this.nodes > this.limits.max_mime_parts) return this.stop('parts');
    const depth = depthOf(node, this.limits.max_mime_depth + 1);
    this.mimeDepth = Math.max(this.mimeDepth, depth);
    if (depth > this.limits.max_mime_depth) return this.stop('depth');
    if (node.root && node.headers) this.readHeaders(node.headers.getList());
    // Containers: a multipart, or a message/rfc822 whose embedded message follows as its own nodes.
    if (node.multipart || node.messageNode) return;

    const contentType = (node.contentType || 'text/plain').toLowerCase();
    const filename = node.filename ? String(node.filename) : '';
    const attachment = node.disposition === 'attachment' || filename !== '';
    const part: MimePart = { contentType, filename: filename.toLowerCase(), attachment, depth };
    this.parts.push(part);
    const kind = attachment ? 'attachment' : contentType === 'text/html' ? 'html' : contentType.startsWith('text/plain') ? 'text' : 'other';
    // QP can triple a text's size and base64 adds a third plus line ends: keep enough encoded bytes to fill the budget.
    const keepLimit = kind === 'text' || kind === 'html' ? this.textBudget * 3 + 4096 : kind === 'attachment' && mayBeArchive(filename, contentType) ? ARCHIVE_PREFIX : 0;
    this.leaf = {
      node,
      kind,
      part,
      encoding: (node.encoding || '7bit').toLowerCase(),
      charset: node.charset ? String(node.charset) : '',
      bytes: 0,
      kept: [],
      keptBytes: 0,
      keepLimit,
      dataRatio: 0,
    };
  }

  private onBody(leaf: LeafState, value: Buffer): void {
    if (leaf.bytes === 0 && leaf.encoding === 'base64') {
      const lf = value.indexOf(10);
      leaf.dataRatio = lf > 0 ? (lf - (value[lf - 1] === 13 ? 1 : 0)) / (lf + 1) : 1;
    }
    leaf.bytes += value.length;
    const room = leaf.keepLimit - leaf.keptBytes;
    if (room > 0) {
      const piece = value.length <= room ? value : value.subarray(0, room);
      leaf.kept.push(piece);
      leaf.keptBytes += piece.length;
    }
  }

  private finishLeaf(): void {
    const leaf = this.leaf;
    if (!leaf) return;
    this.leaf = null;
    if (leaf.kind === 'text' || leaf.kind === 'html') {
      if (this.textBudget <= 0) {
        if (leaf.bytes > 0) this.textCut = true;
        return;
      }
      let decoded = decodeText(transferDecode(Buffer.concat(leaf.kept, leaf.keptBytes), leaf.encoding), leaf.charset);
      if (decoded.length > this.textBudget || leaf.keptBytes < leaf.bytes) {
        decoded = decoded.slice(0, this.textBudget);
        this.textCut = true;
      }
      this.textBudget -= decoded.length;
      (leaf.kind === 'text' ? this.textParts : this.htmlParts).push(decoded);
      return;
    }
    if (leaf.kind === 'attachment') {
      const size = leaf.encoding === 'base64' ? Math.floor(leaf.bytes * leaf.dataRatio * 0.75) : leaf.bytes;
      const encrypted = leaf.keptBytes > 0 && archiveIsEncrypted(transferDecode(Buffer.concat(leaf.kept, leaf.keptBytes), leaf.encoding));
      this.attachments.push({ filename: leaf.part.filename, contentType: leaf.part.contentType, size, encrypted });
    }
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

/** mailsplit hands header lines over as latin1 strings; raw UTF-8 headers (RFC 6532) are common. */
function utf8IfValid(latin1: string): string {
  // Pure ASCII needs no work.
  if (!/[\x80-\xff]/.test(latin1)) return latin1;
  const utf8 = Buffer.from(latin1, 'latin1').toString('utf8');
  return utf8.includes('\uFFFD') ? latin1 : utf8;
}

function transferDecode(buf: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(buf.toString('latin1'), 'base64');
  if (encoding === 'quoted-printable') return libqp.decode(buf);
  return buf;
}

function decodeText(buf: Buffer, charset: string): string {
  const cs = charset.toLowerCase();
  if (!cs || cs === 'utf-8' || cs === 'utf8' || cs === 'us-ascii') {
    const s = buf.toString('utf8');
    // Undeclared 8-bit text is most often Windows-1252.
    return s.includes('\uFFFD') && !cs.startsWith('utf') ? decodeCharset(buf, 'windows-1252') : s;
  }
  try {
    return decodeCharset(buf, charset);
  } catch {
    return buf.toString('utf8');
  }
}

function buildMessage(raw: Buffer, c: Collector, started: number, limits: ParseLimits): ParsedMessage {
  const byName = new Map<string, string[]>();
  for (const h of c.headers) {
    const list = byName.get(h.name);
    if (list) list.push(h.value);
    else byName.set(h.name, [h.value]);
  }
  const text = c.text;
  const html = c.html;
  const reason: TruncationReason | null = c.stopped ?? (c.textCut ? 'text' : null);
  let visible: string | null = null;
  return {
    raw,
    headers: c.headers,
    header: (name: string) => byName.get(name.toLowerCase()) ?? [],
    text,
    html,
    urls: extractUrls([text, html], limits.max_urls),
    attachments: c.attachments,
    parts: c.parts,
    mimeDepth: c.mimeDepth,
    truncated: reason !== null,
    truncatedReason: reason,
    parseMs: Math.round((performance.now() - started) * 100) / 100,
    visibleText: () => (visible ??= [text, htmlToText(html)].filter((s) => s.length > 0).join('\n')),
  };
}

/**
 * Parse a message for the content checks. Never throws: malformed input yields what was
 * read, marked truncated. `signal` (the connection closing) stops the parse early.
 */
export async function parseMessage(raw: Buffer, limits: ParseLimits, signal?: AbortSignal): Promise<ParsedMessage> {
  const started = performance.now();
  const deadline = started + limits.max_parse_ms;
  const collector = new Collector(limits);
  // The Splitter's own part limit sits above ours, so ours decides and the parse ends cleanly.
  const splitter = new Splitter({ maxChildNodes: limits.max_mime_parts + 10, defaultInlineEmbedded: true });
  // Splitter's typings only declare its 'data' event; the stream events come from Transform.
  const stream = splitter as unknown as Transform;
  let failed = false;
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => {
      failed = true;
      resolve();
    });
  });
  splitter.on('data', (chunk: SplitterChunk) => collector.add(chunk));
  // The Splitter finishes the write in progress even after we stop listening, and a deep
  // MIME bomb costs it O(depth) per node. Its part-count check runs before every line, so
  // lowering the limit to zero makes the very next line end the write with an error.
  collector.onStop = () => {
    (splitter as unknown as { maxChildNodes: number }).maxChildNodes = 0;
  };

  for (let offset = 0; offset < raw.length && !collector.stopped && !failed; offset += WRITE_CHUNK) {
    if (performance.now() > deadline || signal?.aborted) {
      collector.stop('time');
      break;
    }
    const ok = await new Promise<boolean>((resolve) => splitter.write(raw.subarray(offset, offset + WRITE_CHUNK), (err) => resolve(!err)));
    if (!ok) failed = true;
  }
  if (!collector.stopped && !failed) {
    splitter.end();
    await ended;
  } else splitter.destroy();
  if (failed) collector.stop('malformed');
  collector.finish();
  return buildMessage(raw, collector, started, limits);
}
