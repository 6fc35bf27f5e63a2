import fs from 'node:fs';
import path from 'node:path';

/**
 * Benchmark messages that look like mail: a multipart/alternative message with a text and
 * an HTML part, ordinary words and a few links, so the parser, the content checks and
 * Bayes do the work they do on real mail (smtp-source's own filler is one repeated
 * letter, which costs a tokenizer nothing).
 */

const HAM_WORDS =
  'meeting agenda project review schedule report budget quarter team update notes attached please thanks regards tomorrow draft proposal customer release version build test results deadline office friday monday call discuss question answer document'.split(' ');
const SPAM_WORDS =
  'free offer winner money cash prize click now limited deal discount viagra casino lottery guaranteed unsubscribe urgent claim bonus credit loan cheap pills exclusive million risk act instantly earn income'.split(' ');

/** A deterministic sequence, so every run sends the same bytes. */
function words(vocabulary: readonly string[], seed: number): () => string {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return vocabulary[(x >>> 0) % vocabulary.length] as string;
  };
}

function paragraphs(next: () => string, bytes: number, text?: readonly string[]): string[] {
  const lines: string[] = [];
  let size = 0;
  let n = 0;
  while (size < bytes) {
    let line = '';
    if (text && text.length > 0) line = text[n % text.length] as string;
    else while (line.length < 70) line += (line ? ' ' : '') + next();
    if (++n % 9 === 0 && !text) line += ` https://www.example.org/page/${n}`;
    lines.push(line);
    size += line.length + 2;
  }
  return lines;
}

/**
 * Lines of real legitimate mail to write the benchmark message with, from a labelled
 * corpus's dev/ham (never trained on), so a classifier trained on its train/ set sees the
 * benchmark message for what it is: ham. Empty when there is no corpus.
 */
export function hamLines(corpusDir: string, files = 40): string[] {
  const dir = path.join(corpusDir, 'dev', 'ham');
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort().slice(0, files)) {
    const text = fs.readFileSync(path.join(dir, name), 'latin1');
    const start = text.search(/\r?\n\r?\n/);
    if (start < 0) continue;
    for (const line of text.slice(start).split(/\r?\n/)) {
      // Plain prose only: no MIME structure, quoting or lone dots.
      if (line.length < 20 || line.length > 200 || /^(--|>|\.|content-|begin )/i.test(line) || /[^\x20-\x7e]/.test(line)) continue;
      out.push(line);
    }
  }
  return out;
}

/** One message of about `size` bytes, LF line ends (smtp-source -F adds CR and dot-stuffs). */
export function makeMessage(size: number, opts: { spam?: boolean; seed?: number; id?: string; text?: readonly string[] } = {}): string {
  const next = words(opts.spam ? SPAM_WORDS : HAM_WORDS, opts.seed ?? 7);
  const id = opts.id ?? `bench-${size}`;
  const head = [
    'From: Sender Name <sender@origin.test>',
    'To: User <user@example.com>',
    `Subject: ${next()} ${next()} ${next()}`,
    'Date: Wed, 25 Nov 2026 10:00:00 +0000',
    `Message-ID: <${id}@origin.test>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
  ];
  const half = Math.max(200, Math.floor((size - 600) / 2));
  const text = paragraphs(next, half, opts.text);
  const html = paragraphs(next, half - 60, opts.text).map((l) => `<p>${l.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/(https:\S+)/, '<a href="$1">link</a>')}</p>`);
  return [
    ...head,
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    ...text,
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><body>',
    ...html,
    '</body></html>',
    '--b1--',
    '',
  ].join('\n');
}

/** The bytes a client puts on the wire after DATA: CRLF line ends, dot-stuffed, without the final ".". */
export function wireForm(message: string): Buffer {
  const lines = message.replace(/\n$/, '').split('\n').map((l) => (l.startsWith('.') ? '.' + l : l));
  return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
}
