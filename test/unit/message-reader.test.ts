import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readMessage, normalizeLineEnds } from '../../src/session/message-reader.js';

async function read(chunks: string[], maxSize = 1000) {
  const s = new PassThrough();
  const p = readMessage(s, { maxSize, maxLineLength: 100 });
  for (const c of chunks) s.write(Buffer.from(c, 'latin1'));
  s.end();
  return p;
}

test('CRLF everywhere is clean, even when CR and LF arrive in different chunks', async () => {
  const r = await read(['a\r', '\nb\r\n', 'c\r\n']);
  assert.equal(r.bareNewline, false);
  assert.equal(r.raw.toString(), 'a\r\nb\r\nc\r\n');
});

test('bare LF, bare CR and a CR at a chunk end followed by text are caught', async () => {
  assert.equal((await read(['a\nb\r\n'])).bareNewline, true);
  assert.equal((await read(['a\rb\r\n'])).bareNewline, true);
  assert.equal((await read(['a\r', 'b\r\n'])).bareNewline, true);
  assert.equal((await read(['a\r\n', '\n'])).bareNewline, true);
  assert.equal((await read(['ends in cr\r'])).bareNewline, true);
});

test('size past the limit is counted but not buffered; the longest line is measured', async () => {
  const r = await read(['x'.repeat(600), 'y'.repeat(600) + '\r\n'], 1000);
  assert.equal(r.oversized, true);
  assert.equal(r.size, 1202);
  assert.equal(r.raw.length, 0);
  assert.equal(r.longestLine, 1200);
});

test('normalising turns every bare line end into CRLF', () => {
  assert.equal(normalizeLineEnds(Buffer.from('a\nb\rc\r\nd')).toString(), 'a\r\nb\r\nc\r\nd');
});
