import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policySchema } from '../../src/policy/schema.js';
import { parseMessage } from '../../src/mail/parse.js';
import { tokenize, tokenizeKeys, words, normalizeWord } from '../../src/bayes/tokenizer.js';
import { tokenKey, tokenKeys } from '../../src/bayes/token-key.js';
import { messageDigest } from '../../src/bayes/digest.js';

const limits = policySchema.parse({}).limits;

async function tokens(raw: string, max?: { maxTokens: number; maxTextChars: number }): Promise<string[]> {
  return tokenize(await parseMessage(Buffer.from(raw.replace(/\r?\n/g, '\r\n')), limits), max);
}

const PLAIN = `Received: from mail.sender.example (mail.sender.example [192.0.2.25])
\tby mx.example.com with ESMTPS id ABC; Mon, 2 Mar 2026 10:00:00 +0000
From: "Big Winner" <promo@deals.example.net>
To: user@example.com
Subject: Claim your FREE prize today
Date: Mon, 2 Mar 2026 10:00:00 +0000
Message-ID: <20260302.12345@mailer.deals.example.net>
X-Mailer: BulkSender 3.1
X-Spam-Flag: YES
Content-Type: text/plain; charset=us-ascii

Dear friend, your account 1234567890 has won. Visit http://win.prizes.example.org/claim/now?id=7
Pneumonoultramicroscopicsilicovolcanoconiosis is a long word. Contact help@prizes.example.org.
`;

test('header tokens carry their field prefix; subject words and pairs are kept', async () => {
  const t = await tokens(PLAIN);
  for (const expected of ['S:claim', 'S:free', 'S:free prize', 'F:promo@deals.example.net', 'F:@deals.example.net', 'F:n:winner', 'T:@example.com', 'MID:mailer.deals.example.net', 'XM:bulksender 3.1', 'CT:text/plain', 'CT:charset:us-ascii']) {
    assert.ok(t.includes(expected), `missing ${expected} in ${t.join(' | ')}`);
  }
  // "free" in the Subject is not the body's "free": the body never said it.
  assert.ok(!t.includes('free'));
});

test('Received fields give host names, /24 networks and the protocol', async () => {
  const t = await tokens(PLAIN);
  assert.ok(t.includes('R:mail.sender.example'));
  assert.ok(t.includes('R:ip:192.0.2'));
  assert.ok(t.includes('R:with:esmtps'));
});

test('body words are normalised: case, trailing punctuation, long numbers and long words by shape, addresses by domain', async () => {
  const t = await tokens(PLAIN);
  assert.ok(t.includes('dear') && t.includes('friend') && t.includes('won'));
  assert.ok(t.includes('N:10'), 'a 10-digit number becomes its length');
  assert.ok(!t.some((x) => x.includes('1234567890')));
  assert.ok(t.includes('L:pne:4'), 'a 45-letter word becomes its shape');
  assert.ok(t.includes('E:prizes.example.org'));
  assert.ok(t.includes('dear friend'), 'adjacent words form a pair');
  assert.ok(t.includes('account has') === false && !t.includes('has won'), 'short words are left out of pairs');
  assert.ok(t.includes('account visit') === false && t.includes('visit http'), 'pairs join the content words around the short ones');
});

test('URLs give their host and parent domains, path words and a query marker', async () => {
  const t = await tokens(PLAIN);
  for (const expected of ['U:win.prizes.example.org', 'U:prizes.example.org', 'U:example.org', 'UP:claim', 'UP:now', 'U:query']) {
    assert.ok(t.includes(expected), `missing ${expected}`);
  }
});

test('our own X-Spam-* fields are never tokens', async () => {
  const without = await tokens(PLAIN.replace('X-Spam-Flag: YES\n', ''));
  const withOurs = await tokens(PLAIN.replace('X-Spam-Flag: YES\n', 'X-Spam-Flag: YES\nX-Spam-Status: Yes, score=20.00 required=6.00 tests=BAYES_SPAM\n'));
  assert.deepEqual(withOurs, without);
});

test('HTML is read as the text a reader sees; scripts and tags are not words', async () => {
  const t = await tokens(`From: a@b.example
Subject: news
Content-Type: text/html; charset=utf-8

<html><head><style>.hidden { color: white }</style><script>var tracking = 1;</script></head>
<body><p>Hello&nbsp;there <b>reader</b></p><a href="http://shop.example.com/sale">Big sale</a></body></html>
`);
  for (const expected of ['hello', 'there', 'reader', 'big', 'sale', 'U:shop.example.com', 'X:html-only']) assert.ok(t.includes(expected), `missing ${expected}`);
  for (const absent of ['tracking', 'hidden', 'color', 'body', 'href']) assert.ok(!t.includes(absent), `${absent} should not be a token`);
});

test('the token set is bounded, headers first', async () => {
  const body = Array.from({ length: 5000 }, (_, i) => `word${i}`).join(' ');
  const t = await tokens(`From: a@b.example\nSubject: hello world\n\n${body}\n`, { maxTokens: 100, maxTextChars: 1_000_000 });
  assert.equal(t.length, 100);
  assert.ok(t.includes('S:hello'), 'header tokens come before body words');
  const limited = await tokens(`From: a@b.example\nSubject: x\n\n${body}\n`, { maxTokens: 10_000, maxTextChars: 200 });
  assert.ok(limited.length < 100, `only the first 200 characters are read (${limited.length} tokens)`);
});

test('words() and normalizeWord() on their own', () => {
  assert.deepEqual(words("It's FREE!!! Call 555-0100, now."), ["it's", 'free', 'call', '555-0100', 'now']);
  assert.equal(normalizeWord('a'), null);
  assert.equal(normalizeWord('1234'), '1234');
  assert.equal(normalizeWord('123456'), 'N:6');
  assert.equal(normalizeWord('p*rn'), 'p*rn');
});

test('token keys are short, stable and distinct', () => {
  const k = tokenKey('S:free prize');
  assert.equal(k.length, 9);
  assert.match(k, /^[A-Za-z0-9_-]{9}$/);
  assert.equal(tokenKey('S:free prize'), k);
  const many = tokenKeys(Array.from({ length: 50_000 }, (_, i) => `token${i}`));
  assert.equal(new Set(many).size, many.length, 'no collisions among 50,000 tokens');
});

test('tokenizeKeys gives the keys of tokenize, in its order, for any message and bound', async () => {
  // Words from a small vocabulary so that words and pairs repeat, with accents, CJK,
  // surrogate pairs and look-alike separators; some messages far over the token bound.
  const vocabulary = ['free', 'prize', 'Claim', 'meeting', 'tomorrow', 'café', 'naïve', '東京', 'データ', '😀ok', 'x', 'a.b', 'user@host.example', '1234567', 'Ünïcödé', 'pneumonoultramicroscopic'];
  let seed = 7;
  const next = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  for (let m = 0; m < 40; m++) {
    const body = Array.from({ length: 20 + next(1500) }, () => vocabulary[next(vocabulary.length)]!).join(next(3) === 0 ? '\n' : ' ');
    const subject = Array.from({ length: 1 + next(8) }, () => vocabulary[next(vocabulary.length)]!).join(' ');
    const html = next(2) === 0 ? `\nContent-Type: text/html; charset=utf-8\n\n<p>${body}</p>` : `\nContent-Type: text/plain; charset=utf-8\n\n${body}`;
    const msg = await parseMessage(Buffer.from(`From: "Some One" <a${m}@b.example>\r\nTo: c@d.example\r\nSubject: ${subject}\r\nMIME-Version: 1.0${html.replace(/\n/g, '\r\n')}\r\n`), limits);
    for (const bound of [{ maxTokens: 2500, maxTextChars: 40_000 }, { maxTokens: 1 + next(300), maxTextChars: 1 + next(5000) }]) {
      const expected = tokenKeys(tokenize(msg, bound));
      const keys = tokenizeKeys(msg, bound);
      assert.ok(expected.length > 0);
      assert.deepEqual(keys, expected, `message ${m}, at most ${bound.maxTokens} tokens`);
    }
  }
});

test('the digest ignores what delivery adds (Received, X-Spam-*, a tagged Subject) but not the body', async () => {
  const parse = (raw: string) => parseMessage(Buffer.from(raw.replace(/\r?\n/g, '\r\n')), limits);
  const original = messageDigest(await parse(PLAIN));
  const delivered = messageDigest(
    await parse(
      `Return-Path: <promo@deals.example.net>\nDelivered-To: user@example.com\nReceived: from mx by store; Mon, 2 Mar 2026 10:00:01 +0000\nX-Spam-Status: Yes, score=12\n` +
        PLAIN.replace('Subject: Claim', 'Subject: ***SPAM*** Claim').replace('id=7\n', 'id=7  \t\n').replace(/\n$/, '\n\n\n'),
    ),
  );
  assert.equal(delivered, original);
  const edited = messageDigest(await parse(PLAIN.replace('Dear friend', 'Dear friends')));
  assert.notEqual(edited, original);
});
