import { Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import { MailParser, type AttachmentStream, type MessageText } from 'mailparser';
import type { Transform } from 'node:stream';
import type { AttachmentInfo, ParsedMessage, TruncationReason } from './parsed-message.js';
import { readHtml, type HtmlReading } from './html-text.js';
import { extractUrls } from './urls.js';
import { archiveIsEncrypted, zipEntryNames } from './archive.js';
import { ARCHIVE_PREFIX, MimeGuard, type ParseLimits } from './mime-guard.js';

export type { ParseLimits } from './mime-guard.js';

/**
 * The one message parser. mailparser's streaming MailParser decodes the message (transfer
 * encodings, charsets, format=flowed, embedded messages, attachment streams); a MimeGuard in
 * front of it (see mime-guard.ts) keeps depth, part count, text size and attachments bounded
 * and decides how much of each part mailparser gets to see. Wall-clock time is bounded here:
 * past max_parse_ms, or when the transaction is aborted, the rest of the message is left
 * unread and the result is marked truncated, so a MIME bomb or a 25 MB attachment still gets
 * a verdict.
 */

/** Bytes handed to the splitter per write; the time budget is checked between writes. */
const WRITE_CHUNK = 64 * 1024;

/** What mailparser decoded from the bytes the guard passed on. */
interface Decoded {
  text: string;
  html: string;
  /** 'failed': mailparser gave up on the input; 'late': it did not finish in time and was stopped. */
  outcome: 'done' | 'failed' | 'late';
}

function newMailParser(limits: ParseLimits): MailParser {
  return new MailParser({
    // visibleText() reduces HTML with html-text.ts instead: html-to-text renders for display
    // (headings in capitals, link targets in brackets, lines wrapped at 80 columns), which
    // skews content rules and Bayes, and it takes several times longer on large HTML.
    skipHtmlToText: true,
    // textAsHtml, linkified text and inlined cid: images are for display; nothing here reads them.
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    checksumAlgo: false,
    // Delivery reports are structure, not message text (the guard does not pass their bodies on).
    keepDeliveryStatus: true,
    // Must match the guard's splitter, so both number and nest the parts alike.
    defaultInlineEmbedded: true,
    // The guard stops at max_mime_parts first; this only backs it up.
    maxChildNodes: limits.max_mime_parts + 10,
  });
}

/**
 * Read mailparser's output: the text object, and every attachment stream, which must be
 * drained and released before mailparser goes on. Only the guard's archive candidates carry
 * content (their first bytes, decoded); they are checked for encrypted entries.
 */
function readDecoded(parser: MailParser, archives: ReadonlyMap<string, AttachmentInfo>): Promise<Decoded> {
  return new Promise((resolve) => {
    const out: Decoded = { text: '', html: '', outcome: 'done' };
    parser.on('data', (item: AttachmentStream | MessageText) => {
      if (item.type === 'text') {
        out.text = item.text ?? '';
        out.html = item.html ?? '';
      } else inspectAttachment(item, archives.get(item.partId ?? ''));
    });
    parser.once('end', () => resolve(out));
    // 'on', not 'once': a destroyed stream may report more than one error.
    parser.on('error', () => {
      out.outcome = 'failed';
      resolve(out);
    });
    parser.once('close', () => {
      if (!parser.readableEnded && out.outcome === 'done') out.outcome = 'late';
      resolve(out);
    });
  });
}

/**
 * Wait for mailparser to finish reading what it was given, but no later than `until`: its
 * remaining work is bounded by what the guard passed on, so this is only a safety net
 * against a parser that never ends.
 */
async function finished(parser: MailParser, decoding: Promise<Decoded>, until: number): Promise<Decoded> {
  const timer = setTimeout(() => parser.destroy(), Math.max(0, until - performance.now()));
  try {
    return await decoding;
  } finally {
    clearTimeout(timer);
  }
}

function inspectAttachment(attachment: AttachmentStream, archive: AttachmentInfo | undefined): void {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const done = (): void => {
    if (archive && keptBytes > 0) {
      const head = Buffer.concat(kept, keptBytes);
      archive.encrypted = archiveIsEncrypted(head);
      archive.entries = zipEntryNames(head);
    }
    attachment.release?.();
  };
  attachment.content.on('data', (chunk: Buffer) => {
    if (archive && keptBytes < ARCHIVE_PREFIX) {
      kept.push(chunk);
      keptBytes += chunk.length;
    }
  });
  attachment.content.once('end', done);
  attachment.content.on('error', done);
}

/** Resolves once `parser` wants more input (or has failed). */
function drained(parser: MailParser): Promise<void> {
  if (!parser.writableNeedDrain || parser.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      parser.off('drain', done);
      parser.off('close', done);
      resolve();
    };
    parser.once('drain', done);
    parser.once('close', done);
  });
}

function buildMessage(raw: Buffer, guard: MimeGuard, decoded: Decoded, started: number, limits: ParseLimits): ParsedMessage {
  const byName = new Map<string, string[]>();
  for (const h of guard.headers) {
    const list = byName.get(h.name);
    if (list) list.push(h.value);
    else byName.set(h.name, [h.value]);
  }
  // The guard passed on up to three bytes per character of budget; keep the budget itself.
  let { text, html } = decoded;
  let textCut = guard.textCut;
  if (text.length > limits.max_text_size) {
    text = text.slice(0, limits.max_text_size);
    textCut = true;
  }
  const htmlRoom = limits.max_text_size - text.length;
  if (html.length > htmlRoom) {
    html = html.slice(0, htmlRoom);
    textCut = true;
  }
  const reason: TruncationReason | null = guard.stopped ?? (decoded.outcome === 'failed' ? 'malformed' : decoded.outcome === 'late' ? 'time' : textCut ? 'text' : null);
  let reading: HtmlReading | null = null;
  const readingOfHtml = (): HtmlReading => (reading ??= readHtml(html));
  let visible: string | null = null;
  return {
    raw,
    headers: guard.headers,
    header: (name: string) => byName.get(name.toLowerCase()) ?? [],
    text,
    html,
    urls: extractUrls([text, html], limits.max_urls),
    attachments: guard.attachments,
    parts: guard.parts,
    mimeDepth: guard.mimeDepth,
    truncated: reason !== null,
    truncatedReason: reason,
    parseMs: Math.round((performance.now() - started) * 100) / 100,
    visibleText: () => (visible ??= withoutInvisibleCharacters([text, readingOfHtml().text].filter((s) => s.length > 0).join('\n'))),
    hiddenHtml: () => {
      const r = readingOfHtml();
      return { letters: r.hiddenLetters, sample: r.hiddenSample };
    },
  };
}

/**
 * Soft hyphens and zero-width characters show nothing: spam puts them inside words so
 * that "Vi\u00ADagra" is no token a filter knows. A reader sees the word whole.
 */
const INVISIBLE_CHARACTERS = /[\u00AD\u180E\u200B-\u200D\u2060\uFEFF]/g;

function withoutInvisibleCharacters(s: string): string {
  return s.replace(INVISIBLE_CHARACTERS, '');
}

/**
 * Parse a message for the content checks. Never throws: malformed input yields what was
 * read, marked truncated. `signal` (the connection closing) stops the parse early.
 */
export async function parseMessage(raw: Buffer, limits: ParseLimits, signal?: AbortSignal): Promise<ParsedMessage> {
  const started = performance.now();
  const deadline = started + limits.max_parse_ms;
  const parser = newMailParser(limits);
  // What the guard passes on is written to mailparser once per splitter write: each write
  // costs mailparser a copy of everything it has buffered towards its next 64 KB.
  const passed: Buffer[] = [];
  const flush = (): void => {
    if (passed.length === 0 || parser.destroyed) return;
    parser.write(Buffer.concat(passed));
    passed.length = 0;
  };
  const guard = new MimeGuard(limits, (bytes) => passed.push(bytes));
  const decoding = readDecoded(parser, guard.archives);
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
  splitter.on('data', (chunk: SplitterChunk) => guard.add(chunk));
  // The Splitter finishes the write in progress even after we stop listening, and a deep
  // MIME bomb costs it O(depth) per node. Its part-count check runs before every line, so
  // lowering the limit to zero makes the very next line end the write with an error.
  guard.onStop = () => {
    (splitter as unknown as { maxChildNodes: number }).maxChildNodes = 0;
  };

  for (let offset = 0; offset < raw.length && !guard.stopped && !failed; offset += WRITE_CHUNK) {
    if (performance.now() > deadline || signal?.aborted) {
      guard.stop('time');
      break;
    }
    const ok = await new Promise<boolean>((resolve) => splitter.write(raw.subarray(offset, offset + WRITE_CHUNK), (err) => resolve(!err)));
    if (!ok) failed = true;
    flush();
    // Keep mailparser within a few writes of the splitter, so the time budget covers its work too.
    await drained(parser);
  }
  if (!guard.stopped && !failed) {
    splitter.end();
    await ended;
  } else splitter.destroy();
  if (failed) guard.stop('malformed');
  guard.finish();
  flush();
  // mailparser reads what the guard passed on as the whole message.
  if (!parser.destroyed) parser.end();
  const decoded = await finished(parser, decoding, deadline + limits.max_parse_ms);
  return buildMessage(raw, guard, decoded, started, limits);
}
