import { simpleParser } from 'mailparser';
import type { ParsedMessage, MessageHeader, AttachmentInfo } from './parsed-message.js';

export interface ParseLimits {
  max_mime_depth: number;
}

/** Parse a message for the content checks; a message that fails to parse yields what was read. */
export async function parseMessage(raw: Buffer, _limits: ParseLimits): Promise<ParsedMessage> {
  const headers: MessageHeader[] = [];
  let text = '';
  let html = '';
  const attachments: AttachmentInfo[] = [];
  let truncated = false;
  try {
    const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
    for (const line of parsed.headerLines) {
      const colon = line.line.indexOf(':');
      headers.push({ name: line.key.toLowerCase(), value: colon >= 0 ? line.line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim() : '' });
    }
    text = parsed.text ?? '';
    html = typeof parsed.html === 'string' ? parsed.html : '';
    for (const a of parsed.attachments) attachments.push({ filename: a.filename ?? '', contentType: a.contentType, size: a.size, encrypted: false });
  } catch {
    truncated = true;
  }
  const urls = [...new Set((text + ' ' + html).match(/https?:\/\/[^\s"'<>]+/gi) ?? [])].slice(0, 500);
  return {
    raw,
    headers,
    header: (name: string) => headers.filter((h) => h.name === name.toLowerCase()).map((h) => h.value),
    text,
    html,
    urls,
    attachments,
    mimeDepth: 0,
    truncated,
  };
}
