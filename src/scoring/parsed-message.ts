/**
 * The message as content checks see it: parsed once per transaction, bounded in time,
 * depth and memory (see scoring/parse.ts). Checks read from here and never parse again.
 */
export interface MessageHeader {
  /** Lower-case field name. */
  name: string;
  /** Unfolded value, RFC 2047 words decoded. */
  value: string;
}

export interface AttachmentInfo {
  filename: string;
  contentType: string;
  size: number;
  /** A zip/rar/7z whose entries are encrypted. */
  encrypted: boolean;
}

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
  /** Deepest MIME nesting seen. */
  mimeDepth: number;
  /** Parsing stopped early (too deep, too many parts, too slow): the result is partial. */
  truncated: boolean;
}
