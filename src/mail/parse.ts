import { Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import type { Transform } from 'node:stream';
import type { ParsedMessage, TruncationReason } from './parsed-message.js';
import { readHtml, type HtmlReading } from './html-text.js';
import { extractUrls } from './urls.js';
import { MimeGuard, type ParseLimits } from './mime-guard.js';

export type { ParseLimits } from './mime-guard.js';

/**
 * The one message parser, one pass: a mailsplit Splitter splits the message and a
 * MimeGuard (see mime-guard.ts) reads the structure as it goes, keeps depth, part count,
 * text size and attachments bounded, and decodes the text parts. Wall-clock time is
 * bounded here: past max_parse_ms, or when the transaction is aborted, the rest of the
 * message is left unread and the result is marked truncated, so a MIME bomb or a 25 MB
 * attachment still gets a verdict.
 */

/** Bytes handed to the splitter per write; the time budget is checked between writes. */
const WRITE_CHUNK = 64 * 1024;

function buildMessage(raw: Buffer, guard: MimeGuard, started: number, limits: ParseLimits): ParsedMessage {
  const byName = new Map<string, string[]>();
  for (const h of guard.headers) {
    const list = byName.get(h.name);
    if (list) list.push(h.value);
    else byName.set(h.name, [h.value]);
  }
  // The guard kept up to three bytes per character of budget; keep the budget itself.
  let { text, html } = guard.text();
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
  const reason: TruncationReason | null = guard.stopped ?? (textCut ? 'text' : null);
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
  const guard = new MimeGuard(limits);
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
  }
  if (!guard.stopped && !failed) {
    splitter.end();
    await ended;
  } else splitter.destroy();
  if (failed) guard.stop('malformed');
  guard.finish();
  return buildMessage(raw, guard, started, limits);
}
