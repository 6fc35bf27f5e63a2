import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, type ParseLimits } from '../../src/mail/parse.js';
import { zipHasEncryptedEntry } from '../../src/mail/archive.js';
import { extractUrls, hostOf } from '../../src/mail/urls.js';

const LIMITS: ParseLimits = { max_mime_depth: 50, max_mime_parts: 500, max_parse_ms: 5000, max_text_size: 1_048_576, max_urls: 200 };

/**
 * Run fn while a 1 ms timer watches the event loop; returns the longest stall seen. A
 * stall is the wall time between two ticks, but no more than the CPU time the process
 * used in it: on a busy machine the process may wait for a core, which is not a stall
 * of its own making.
 */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; maxStallMs: number }> {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let maxStallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    maxStallMs = Math.max(maxStallMs, Math.min(now - last, (cpu.user + cpu.system) / 1000));
    last = now;
    lastCpu = process.cpuUsage();
  }, 1);
  const started = performance.now();
  try {
    const result = await fn();
    return { result, ms: performance.now() - started, maxStallMs };
  } finally {
    clearInterval(timer);
  }
}

const B64_LINE = Buffer.alloc(57, 0x41).toString('base64') + '\r\n';

function zipEntry(name: string, data: Buffer, encrypted: boolean): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(encrypted ? 1 : 0, 6);
  h.writeUInt32LE(data.length, 18);
  h.writeUInt32LE(data.length, 22);
  h.writeUInt16LE(Buffer.byteLength(name), 26);
  return Buffer.concat([h, Buffer.from(name), data]);
}

function wrap76(b64: string): string {
  return b64.replace(/.{1,76}/g, '$&\r\n');
}

test('headers are unfolded and RFC 2047 decoded; the raw value is kept for address parsing', async () => {
  const raw = Buffer.from(
    [
      'From: =?utf-8?B?SsO8cmdlbg==?= <j@sender.test>',
      'Subject: =?iso-8859-1?Q?Gr=FC=DFe?= and',
      '  more',
      'X-Raw: caf\u00e9',
      '',
      'body',
      '',
    ].join('\r\n'),
    'utf8',
  );
  const m = await parseMessage(raw, LIMITS);
  assert.equal(m.header('FROM')[0], 'Jürgen <j@sender.test>');
  assert.equal(m.headers.find((h) => h.name === 'from')?.raw, '=?utf-8?B?SsO8cmdlbg==?= <j@sender.test>');
  assert.equal(m.header('subject')[0], 'Grüße and  more');
  assert.equal(m.header('x-raw')[0], 'café', 'raw UTF-8 in a header is read as UTF-8');
  assert.equal(m.text.trim(), 'body');
  assert.equal(m.truncated, false);
  assert.equal(m.mimeDepth, 0);
});

test('text and HTML parts are decoded (QP, base64, charsets); URLs come from both', async () => {
  const raw = [
    'From: a@sender.test',
    'Content-Type: multipart/alternative; boundary=alt',
    '',
    '--alt',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Pr=E9sident: see http://www.example.net/a?b=1&c=2. Or www.other.test/x',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    wrap76(Buffer.from('<p>Click <a href="https://Evil.Example/login?u=1&amp;v=2">h\u00e9re</a></p>').toString('base64')),
    '--alt--',
    '',
  ].join('\r\n');
  const m = await parseMessage(Buffer.from(raw), LIMITS);
  assert.match(m.text, /^Président: see/);
  assert.match(m.html, /hére/);
  assert.deepEqual(m.urls, ['http://www.example.net/a?b=1&c=2', 'http://www.other.test/x', 'https://Evil.Example/login?u=1&v=2']);
  assert.equal(hostOf(m.urls[2] ?? ''), 'evil.example');
  assert.match(m.visibleText(), /Click hére/);
  assert.deepEqual(
    m.parts.map((p) => p.contentType),
    ['text/plain', 'text/html'],
  );
  assert.equal(m.mimeDepth, 1);
});

test('attachments: name, type, decoded size without decoding, encrypted zip entries', async () => {
  const plainZip = Buffer.concat([zipEntry('a.txt', Buffer.from('hello'), false), zipEntry('b.txt', Buffer.from('world'), false)]);
  const lockedZip = Buffer.concat([zipEntry('a.txt', Buffer.from('hello'), false), zipEntry('invoice.exe', Buffer.alloc(700, 1), true)]);
  const pdf = Buffer.alloc(30_000, 7);
  const raw = [
    'From: a@sender.test',
    'Content-Type: multipart/mixed; boundary=mix',
    '',
    '--mix',
    'Content-Type: text/plain',
    '',
    'see attached',
    '--mix',
    'Content-Type: application/zip; name="plain.zip"',
    'Content-Transfer-Encoding: base64',
    '',
    wrap76(plainZip.toString('base64')),
    '--mix',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename="Locked.ZIP"',
    'Content-Transfer-Encoding: base64',
    '',
    wrap76(lockedZip.toString('base64')),
    '--mix',
    'Content-Type: application/pdf; name=doc.pdf',
    'Content-Transfer-Encoding: base64',
    '',
    wrap76(pdf.toString('base64')),
    '--mix--',
    '',
  ].join('\r\n');
  const m = await parseMessage(Buffer.from(raw), LIMITS);
  assert.deepEqual(
    m.attachments.map((a) => [a.filename, a.contentType, a.encrypted]),
    [
      ['plain.zip', 'application/zip', false],
      ['locked.zip', 'application/octet-stream', true],
      ['doc.pdf', 'application/pdf', false],
    ],
  );
  const size = m.attachments[2]?.size ?? 0;
  assert.ok(Math.abs(size - pdf.length) < 100, `estimated size ${size} for ${pdf.length} bytes`);
  assert.equal(m.text.trim(), 'see attached', 'attachments are not text');
});

test('text without a charset is read as UTF-8 when it is valid UTF-8, else as Windows-1252', async () => {
  const cp1252 = Buffer.concat([Buffer.from('From: a@sender.test\r\nContent-Transfer-Encoding: 8bit\r\n\r\nIt'), Buffer.from([0x92]), Buffer.from('s D'), Buffer.from([0xfc]), Buffer.from('sseldorf\r\n')]);
  assert.equal((await parseMessage(cp1252, LIMITS)).text.trim(), 'It\u2019s D\u00fcsseldorf');
  const utf8 = Buffer.from('From: a@sender.test\r\nContent-Transfer-Encoding: 8bit\r\n\r\nIt\u2019s D\u00fcsseldorf\r\n');
  assert.equal((await parseMessage(utf8, LIMITS)).text.trim(), 'It\u2019s D\u00fcsseldorf');
  const qpAscii = Buffer.from('From: a@sender.test\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nIt=92s D=FCsseldorf\r\n');
  assert.equal((await parseMessage(qpAscii, LIMITS)).text.trim(), 'It\u2019s D\u00fcsseldorf');
  const declared = Buffer.from('From: a@sender.test\r\nContent-Type: text/plain; charset=iso-8859-2\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nKo=B3o\r\n');
  assert.equal((await parseMessage(declared, LIMITS)).text.trim(), 'Ko\u0142o', 'a declared charset is used as declared');
});

test('format=flowed text is unwrapped; an embedded message is read, its header fields kept out of the text', async () => {
  const raw = [
    'From: a@sender.test',
    'Content-Type: multipart/mixed; boundary=o',
    '',
    '--o',
    'Content-Type: text/plain; charset=utf-8; format=flowed',
    '',
    'This is a long line ',
    'that continues here.',
    '--o',
    'Content-Type: message/rfc822',
    '',
    'From: c@inner.test',
    'Subject: inner subject',
    'Content-Type: text/plain',
    '',
    'inner text',
    '--o--',
    '',
  ].join('\r\n');
  const m = await parseMessage(Buffer.from(raw), LIMITS);
  assert.match(m.text, /^This is a long line that continues here\.\n/);
  assert.match(m.text, /inner text/);
  assert.doesNotMatch(m.text, /inner subject/);
  assert.deepEqual(
    m.parts.map((p) => [p.contentType, p.depth]),
    [
      ['text/plain', 1],
      // An embedded message's own root counts one level below its container, not two.
      ['text/plain', 1],
    ],
  );
});

test('an attachment is never read as text, and an archive is checked wherever it sits', async () => {
  const locked = wrap76(Buffer.concat([zipEntry('a.txt', Buffer.from('hello'), false), zipEntry('invoice.exe', Buffer.alloc(700, 1), true)]).toString('base64'));
  const single = await parseMessage(Buffer.from(`From: a@sender.test\r\nContent-Type: application/zip; name=x.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n${locked}`), LIMITS);
  assert.deepEqual(single.attachments.map((a) => [a.filename, a.encrypted]), [['x.zip', true]]);
  const raw = [
    'From: a@sender.test',
    'Content-Type: multipart/mixed; boundary=o',
    '',
    '--o',
    'Content-Type: text/plain',
    '',
    'see the notes',
    '--o',
    'Content-Type: text/plain; name=notes.txt',
    '',
    'secret notes',
    '--o',
    'Content-Type: message/rfc822',
    '',
    'Content-Type: multipart/mixed; boundary=i',
    '',
    '--i',
    'Content-Type: application/zip; name=y.zip',
    'Content-Transfer-Encoding: base64',
    '',
    locked + '--i--',
    '--o--',
    '',
  ].join('\r\n');
  const m = await parseMessage(Buffer.from(raw), LIMITS);
  assert.equal(m.text.trim(), 'see the notes');
  assert.deepEqual(
    m.attachments.map((a) => [a.filename, a.contentType, a.encrypted]),
    [
      ['notes.txt', 'text/plain', false],
      ['y.zip', 'application/zip', true],
    ],
  );
});

test('zip scanning walks entries and falls back to the central directory', () => {
  assert.equal(zipHasEncryptedEntry(Buffer.concat([zipEntry('a', Buffer.alloc(10), false), zipEntry('b', Buffer.alloc(10), true)])), true);
  assert.equal(zipHasEncryptedEntry(Buffer.concat([zipEntry('a', Buffer.alloc(10), false), zipEntry('b', Buffer.alloc(10), false)])), false);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(1, 8);
  assert.equal(zipHasEncryptedEntry(central), true);
  assert.equal(zipHasEncryptedEntry(Buffer.from('not a zip at all')), false);
});

test('URL extraction is bounded and skips things that are not links', () => {
  const text = Array.from({ length: 50 }, (_, i) => `http://host${i}.test/p`).join(' ') + ' http:// nothing';
  assert.equal(extractUrls([text], 10).length, 10);
  assert.deepEqual(extractUrls(['(see https://a.test/x).'], 5), ['https://a.test/x']);
  assert.equal(hostOf('http://user:pw@Sub.Host.TEST.:8080/x'), 'sub.host.test');
});

test('a MIME bomb 1,000 levels deep stops at max_mime_depth, fast, without stalling the event loop', async () => {
  const lines = ['From: a@sender.test', 'Subject: bomb'];
  for (let i = 0; i < 1000; i++) lines.push(`Content-Type: multipart/mixed; boundary="b${i}"`, '', `--b${i}`);
  lines.push('Content-Type: text/plain', '', 'deep inside');
  const { result: m, ms, maxStallMs } = await measured(() => parseMessage(Buffer.from(lines.join('\r\n')), LIMITS));
  assert.equal(m.truncated, true);
  assert.equal(m.truncatedReason, 'depth');
  assert.equal(m.mimeDepth, 51);
  assert.equal(m.header('subject')[0], 'bomb', 'what was read before the limit is kept');
  assert.ok(ms < 1000, `parse took ${ms} ms`);
  assert.ok(maxStallMs < 100, `event loop stalled ${maxStallMs} ms`);
});

test('base64 that never ends is read to the end of the message, text kept up to max_text_size', async () => {
  const head = 'From: a@sender.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const raw = Buffer.from(head + B64_LINE.repeat(Math.ceil(25e6 / B64_LINE.length)));
  const limits = { ...LIMITS, max_text_size: 100_000 };
  const { result: m, ms, maxStallMs } = await measured(() => parseMessage(raw, limits));
  assert.equal(m.truncatedReason, 'text');
  assert.equal(m.text.length, 100_000);
  assert.match(m.text, /^A+$/);
  assert.ok(ms < 4000, `parse took ${ms} ms`);
  assert.ok(maxStallMs < 150, `event loop stalled ${maxStallMs} ms`);
});

test('a 25 MB attachment is counted, not decoded; the parse is complete and keeps the event loop turning', async () => {
  const head = 'From: a@sender.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nthe file\r\n--x\r\nContent-Type: application/octet-stream; name=big.iso\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const lines = Math.ceil(25e6 / B64_LINE.length);
  const raw = Buffer.from(head + B64_LINE.repeat(lines) + '--x--\r\n');
  const rssBefore = process.memoryUsage().rss;
  const { result: m, ms, maxStallMs } = await measured(() => parseMessage(raw, LIMITS));
  assert.equal(m.truncated, false);
  assert.equal(m.text.trim(), 'the file');
  const a = m.attachments[0];
  assert.equal(a?.filename, 'big.iso');
  assert.ok(a && Math.abs(a.size - lines * 57) < 1000, `estimated ${a?.size} for ${lines * 57}`);
  assert.ok(ms < 4000, `parse took ${ms} ms`);
  assert.ok(maxStallMs < 150, `event loop stalled ${maxStallMs} ms`);
  // Decoding it would cost another 18 MB at least; the splitter's own buffers are far smaller.
  assert.ok(process.memoryUsage().rss - rssBefore < 120e6, 'the attachment was not held in memory');
});

test('the time budget stops a long parse and marks the result truncated', async () => {
  const head = 'From: a@sender.test\r\nSubject: slow\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const raw = Buffer.from(head + B64_LINE.repeat(Math.ceil(25e6 / B64_LINE.length)));
  const { result: m, ms } = await measured(() => parseMessage(raw, { ...LIMITS, max_parse_ms: 20 }));
  assert.equal(m.truncatedReason, 'time');
  assert.equal(m.header('subject')[0], 'slow');
  assert.ok(ms < 500, `a 20 ms budget took ${ms} ms`);
});

test('more parts than max_mime_parts stop the parse', async () => {
  const parts = Array.from({ length: 30 }, (_, i) => `--p\r\nContent-Type: text/plain\r\n\r\npart ${i}`).join('\r\n');
  const raw = Buffer.from(`From: a@sender.test\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n${parts}\r\n--p--\r\n`);
  const m = await parseMessage(raw, { ...LIMITS, max_mime_parts: 10 });
  assert.equal(m.truncatedReason, 'parts');
  assert.ok(m.parts.length <= 10);
  assert.match(m.text, /^part 0\npart 1\n/, 'the text read before the stop is kept');
  const whole = await parseMessage(raw, LIMITS);
  assert.equal(whole.parts.length, 30);
  assert.equal(whole.truncated, false);
});

test('a header block beyond what the splitter accepts yields a partial result, not an exception', async () => {
  const raw = Buffer.from(`From: a@sender.test\r\nX-Huge: ${'x'.repeat(2 * 1024 * 1024)}\r\n\r\nbody\r\n`);
  const m = await parseMessage(raw, LIMITS);
  assert.equal(m.truncated, true);
  assert.equal(m.truncatedReason, 'malformed');
});

test('an aborted transaction stops the parse', async () => {
  const ac = new AbortController();
  ac.abort();
  const m = await parseMessage(Buffer.from('From: a@sender.test\r\n\r\nhello\r\n'), LIMITS, ac.signal);
  assert.equal(m.truncated, true);
  assert.equal(m.truncatedReason, 'time');
});
