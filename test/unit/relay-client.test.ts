import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dotStuff, xtext } from '../../src/relay/smtp-client.js';
import { checkRecipient, canonicalSender } from '../../src/mail/address.js';
import { splitMessage, restampMessage } from '../../src/mail/header-block.js';

const stuffed = (s: string) => Buffer.concat([...dotStuff(Buffer.from(s))]).toString();

test('dot-stuffing doubles every leading dot and nothing else', () => {
  assert.equal(stuffed('.a\r\nb.\r\n.\r\n..c'), '..a\r\nb.\r\n..\r\n...c');
  assert.equal(stuffed('no dots\r\n'), 'no dots\r\n');
});

test('xtext encodes +, = and non-printables', () => {
  assert.equal(xtext('a+b=c d\u00e9'), 'a+2Bb+3Dc+20d+C3+A9');
});

test('recipient checks refuse routing tricks and normalise the domain', () => {
  assert.deepEqual(checkRecipient('User@Example.COM.'), { ok: true, address: 'User@example.com', local: 'User', domain: 'example.com' });
  for (const bad of ['a%b@example.com', 'a!b@example.com', '"a@b"@example.com', 'a@[127.0.0.1]']) {
    assert.deepEqual(checkRecipient(bad), { ok: false, why: 'routing' }, bad);
  }
  assert.deepEqual(checkRecipient('nodomain'), { ok: false, why: 'syntax' });
  // smtp-server hands IDN domains over as U-labels; Postfix gets A-labels.
  assert.deepEqual(checkRecipient('a@bücher.example'), checkRecipient('a@xn--bcher-kva.example'));
  assert.deepEqual(checkRecipient('a@bücher.example'), { ok: true, address: 'a@xn--bcher-kva.example', local: 'a', domain: 'xn--bcher-kva.example' });
  assert.equal(canonicalSender(''), '');
  assert.equal(canonicalSender('A@Example.ORG.'), 'A@example.org');
});

test('restamping strips inbound X-Spam-* fields, prepends ours and keeps the body bytes', () => {
  const raw = Buffer.from('X-Spam-Flag: YES\r\nSubject: hi\r\nx-spam-status: Yes,\r\n folded\r\n\r\nbody\r\n.\r\n', 'latin1');
  const out = restampMessage(raw, splitMessage(raw), ['Received: from x', 'X-Spam-Flag: NO'], null).toString('latin1');
  assert.equal(out, 'Received: from x\r\nX-Spam-Flag: NO\r\nSubject: hi\r\n\r\nbody\r\n.\r\n');
  const tagged = restampMessage(raw, splitMessage(raw), [], '***SPAM***').toString('latin1');
  assert.match(tagged, /^Subject: \*\*\*SPAM\*\*\* hi\r\n/m);
});

test('a message without a body or without headers survives restamping', () => {
  const headOnly = Buffer.from('Subject: only\r\n');
  assert.equal(restampMessage(headOnly, splitMessage(headOnly), ['A: b'], null).toString(), 'A: b\r\nSubject: only\r\n\r\n');
  const bodyOnly = Buffer.from('\r\njust body\r\n');
  assert.equal(restampMessage(bodyOnly, splitMessage(bodyOnly), ['A: b'], null).toString(), 'A: b\r\n\r\njust body\r\n');
});
