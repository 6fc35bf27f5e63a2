import { isUtf8 } from 'node:buffer';
import libmime from 'libmime';
import libqp from 'libqp';
import { decode as decodeCharset } from 'libmime/lib/charset.js';

/**
 * A part's body as text: transfer decoding, format=flowed, charset — the steps mailparser
 * takes for a text part, in its order, done on the bytes the MIME guard kept, in one call.
 * Also how the message's text and HTML are put together from its parts, as mailparser does,
 * so the content rules and Bayes read what they always read.
 */

/** Body bytes as they decode: base64 and quoted-printable; anything else is taken as is. */
export function transferDecode(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return decodeBase64(body);
  if (encoding === 'quoted-printable') return libqp.decode(body);
  return body;
}

/**
 * Base64 as mail clients write it: line ends and stray bytes skipped, and padding in the
 * middle (parts glued together) starting a new run rather than ending the body.
 */
function decodeBase64(body: Buffer): Buffer {
  let text = body.toString('latin1');
  if (/[^A-Za-z0-9+/=]/.test(text)) text = text.replace(/[^A-Za-z0-9+/=]+/g, '');
  const pad = text.indexOf('=');
  if (pad < 0 || /^=*$/.test(text.slice(pad))) return Buffer.from(text, 'base64');
  return Buffer.concat(
    text
      .split(/=+/)
      .filter((run) => run.length > 0)
      .map((run) => Buffer.from(run, 'base64')),
  );
}

/** Charsets mailparser reads as UTF-8 without converting. */
const AS_UTF8 = new Set(['ascii', 'usascii', 'utf8']);

export interface TextPartInfo {
  encoding: string;
  /** As declared ('' when none). */
  charset: string;
  flowed: boolean;
  delSp: boolean;
}

/**
 * The text of one part. Text that declares no charset (or US-ASCII) yet is not valid UTF-8
 * is read as Windows-1252, by far the most common case: read as UTF-8, every 8-bit byte
 * would become U+FFFD, which leaves content rules and Bayes nothing to tell words apart by.
 */
export function partText(body: Buffer, p: TextPartInfo): string {
  let bytes = transferDecode(body, p.encoding);
  let charset = p.charset.toLowerCase();
  if ((charset === '' || charset === 'us-ascii' || charset === 'ascii') && !isUtf8(bytes)) charset = 'windows-1252';
  if (p.flowed) bytes = Buffer.from(libmime.decodeFlowed(bytes.toString('latin1'), p.delSp), 'latin1');
  const text = charset === '' || AS_UTF8.has(charset.replace(/[^a-z0-9]+/g, '')) ? bytes.toString('utf8') : decodeCharset(bytes, charset);
  return text.includes('\r') ? text.replace(/\r\n/g, '\n') : text;
}

export interface TextPiece {
  type: 'text/plain' | 'text/html';
  text: string;
  /** Inside a multipart/alternative. */
  alternative: boolean;
  /** The message itself is this part (not multipart). */
  root: boolean;
}

/**
 * The message's text and HTML from its text parts in order: plain parts joined by line
 * ends, HTML parts by `<br/>` lines; an HTML part outside an alternative, beside plain
 * text, leaves an empty line in the text (mailparser's place for its rendering).
 */
export function joinText(pieces: readonly TextPiece[], hasText: boolean): { text: string; html: string } {
  const text: string[] = [];
  const html: string[] = [];
  for (const p of pieces) {
    if (p.text === '') continue;
    if (p.type === 'text/plain') text.push(p.text);
    else {
      if ((!p.alternative && hasText) || (p.root && !hasText)) text.push('');
      html.push(p.text);
    }
  }
  return { text: text.join('\n'), html: html.join('<br/>\n') };
}
