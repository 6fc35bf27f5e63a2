import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bodyOf, headerBoundary, splitMessage } from '../../src/mail/header-block.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('header block boundary (one splitter for relay, Bayes digests, greylist keys, scan)', () => {
  it('finds the empty line on the wire (CRLF) and in files (bare LF), whichever comes first', () => {
    assert.deepEqual(headerBoundary(b('A: 1\r\nB: 2\r\n\r\nbody\r\n')), { headerSize: 12, bodyOffset: 14 });
    assert.deepEqual(headerBoundary(b('A: 1\nB: 2\n\nbody\n')), { headerSize: 10, bodyOffset: 11 });
    // A bare-LF empty line before a CRLF one ends the header there.
    assert.deepEqual(headerBoundary(b('A: 1\n\nB: 2\r\n\r\nx')), { headerSize: 5, bodyOffset: 6 });
    // A CRLF empty line before a bare-LF one wins.
    assert.deepEqual(headerBoundary(b('A: 1\r\n\r\nx\n\ny')), { headerSize: 6, bodyOffset: 8 });
  });

  it('a message without an empty line is all header; one that starts with it has no fields', () => {
    assert.deepEqual(headerBoundary(b('A: 1\r\nB: 2\r\n')), { headerSize: 12, bodyOffset: 12 });
    assert.deepEqual(headerBoundary(b('\r\nbody')), { headerSize: 0, bodyOffset: 2 });
    assert.deepEqual(headerBoundary(b('\nbody')), { headerSize: 0, bodyOffset: 1 });
    assert.equal(bodyOf(b('A: 1\r\n')).length, 0);
    assert.equal(bodyOf(b('A: 1\r\n\r\nthe body')).toString(), 'the body');
  });

  it('splitMessage keeps folded fields whole and the body offset from the same boundary', () => {
    const raw = b('Subject: a\r\n b\r\nTo: x@y\r\n\r\nbody');
    const split = splitMessage(raw);
    assert.deepEqual(split.fields.map((f) => f.raw), ['Subject: a\r\n b\r\n', 'To: x@y\r\n']);
    assert.equal(raw.subarray(split.bodyOffset).toString(), 'body');
    assert.equal(split.headerSize, 25);
  });
});
