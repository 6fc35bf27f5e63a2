/**
 * The message as content checks see it: parsed once per transaction, bounded in time,
 * depth and memory (see parse.ts). Checks read from here and never parse again.
 */
export interface MessageHeader {
  /** Lower-case field name. */
  name: string;
  /** Unfolded value, RFC 2047 words decoded. */
  value: string;
  /**
   * Unfolded value as it was sent (encoded words left alone). Address parsing must use
   * this: a decoded display name may itself contain "<", "," or "@".
   */
  raw: string;
}

export interface AttachmentInfo {
  filename: string;
  contentType: string;
  /** Decoded size in bytes; for base64 estimated from the encoded length without decoding. */
  size: number;
  /** A zip/rar/7z whose entries are encrypted. */
  encrypted: boolean;
  /** File names inside a zip (lower-case, without folders); empty for anything else. */
  entries: string[];
}

/** One leaf MIME part (multipart containers are not listed). */
export interface MimePart {
  /** Lower-case type/subtype, e.g. "text/plain". */
  contentType: string;
  /** Lower-case filename from Content-Disposition or Content-Type, '' when none. */
  filename: string;
  /** True for parts with an attachment disposition or a filename. */
  attachment: boolean;
  /** Nesting depth: 0 for a single-part message, 1 for a child of the root multipart… */
  depth: number;
}

/** Why a result is partial; null when the whole message was read. */
export type TruncationReason = 'depth' | 'parts' | 'time' | 'text' | 'malformed';

export interface ParsedMessage {
  raw: Buffer;
  headers: MessageHeader[];
  /** All values of a header, in order (name is case-insensitive). */
  header(name: string): string[];
  /** Decoded text/plain parts joined. */
  text: string;
  /** Decoded text/html parts joined. */
  html: string;
  /** URLs found in text and HTML (deduplicated, at most a bounded number). */
  urls: string[];
  attachments: AttachmentInfo[];
  /** Every leaf part seen, in order (bounded by limits.max_mime_parts). */
  parts: MimePart[];
  /** Deepest MIME nesting seen. */
  mimeDepth: number;
  /** Parsing stopped early (too deep, too many parts, too slow): the result is partial. */
  truncated: boolean;
  truncatedReason: TruncationReason | null;
  /** Wall-clock milliseconds the parse took. */
  parseMs: number;
  /** What a reader sees: the text parts, plus the HTML parts reduced to text (computed once, on first use). */
  visibleText(): string;
  /** Letters of HTML text a reader cannot see (display:none, tiny or background-coloured fonts…); see html-text.ts. */
  hiddenHtml(): { letters: number; sample: string };
}
