import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Scanner, testPolicy, message, multipart } from './helpers.js';
import { PolicyError } from '../../src/policy/errors.js';
import { compiledRules } from '../../src/checks/content/rules.js';
import { GTUBE } from '../../src/checks/content/gtube.js';

let shipped: Scanner;
before(async () => {
  shipped = new Scanner(await testPolicy());
});

function attachment(name: string, type = 'application/octet-stream', body = 'AAAA'): { headers: string[]; body: string } {
  return { headers: [`Content-Type: ${type}; name="${name}"`, `Content-Disposition: attachment; filename="${name}"`, 'Content-Transfer-Encoding: base64'], body };
}

const TEXT_PART = { headers: ['Content-Type: text/plain'], body: 'Please see the attachment.' };
const BASE = ['From: Alice <alice@sender.test>', 'To: bob@example.com', 'Subject: Documents', 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'Message-ID: <x@sender.test>'];

test('shipped rules: executables, double extensions, executable MIME types', async () => {
  const r = await shipped.scan(multipart(BASE, [TEXT_PART, attachment('invoice.pdf.exe'), attachment('setup.bin', 'application/x-msdownload')]));
  assert.ok('EXE_ATTACHMENT' in r.symbols);
  assert.ok('DOUBLE_EXTENSION' in r.symbols);
  assert.equal(r.details.DOUBLE_EXTENSION, 'invoice.pdf.exe');
  assert.ok('EXE_MIME_TYPE' in r.symbols);
  const clean = await shipped.scan(multipart(BASE, [TEXT_PART, attachment('report.pdf', 'application/pdf')]));
  for (const s of ['EXE_ATTACHMENT', 'DOUBLE_EXTENSION', 'EXE_MIME_TYPE']) assert.ok(!(s in clean.symbols), s);
});

test('shipped rules: a password-protected zip', async () => {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(1, 6);
  h.writeUInt16LE(9, 26);
  const zip = Buffer.concat([h, Buffer.from('a.doc.js')]).toString('base64');
  const r = await shipped.scan(multipart(BASE, [TEXT_PART, attachment('scan.zip', 'application/zip', zip)]));
  assert.ok('ENCRYPTED_ARCHIVE' in r.symbols);
  assert.equal(r.details.ENCRYPTED_ARCHIVE, 'scan.zip');
});

test('shipped rules: HTML-only mail, shouting, numeric and shortened links, forms and scripts', async () => {
  const html = message({
    headers: ['Subject: FREE MONEY FOR YOU TODAY', 'Content-Type: text/html; charset=utf-8'],
    body: '<html><body><a href="http://192.0.2.7/login">LOG IN NOW</a> <a href="https://bit.ly/x1">x</a><form action="http://a.test/"></form><script>x()</script></body></html>',
  });
  const r = await shipped.scan(html);
  for (const s of ['HTML_ONLY', 'SUBJECT_ALL_CAPS', 'URL_NUMERIC_HOST', 'URL_SHORTENER', 'HTML_FORM', 'HTML_SCRIPT']) assert.ok(s in r.symbols, `${s} in ${Object.keys(r.symbols)}`);
  const alt = [
    ...BASE,
    'Content-Type: multipart/alternative; boundary=alt',
    '',
    '--alt',
    'Content-Type: text/plain',
    '',
    'Hello there',
    '--alt',
    'Content-Type: text/html',
    '',
    '<p>Hello there</p>',
    '--alt--',
    '',
  ].join('\r\n');
  const plain = await shipped.scan(alt);
  assert.ok(!('HTML_ONLY' in plain.symbols), 'an HTML part with a text alternative is fine');
  assert.ok(!('SUBJECT_ALL_CAPS' in plain.symbols));
});

test('body shouting needs enough letters and a high share of capitals', async () => {
  const loud = await shipped.scan(message({ body: 'ACT NOW AND CLAIM YOUR PRIZE. '.repeat(20) }));
  assert.ok('BODY_MOSTLY_CAPS' in loud.symbols);
  const short = await shipped.scan(message({ body: 'OK THANKS' }));
  assert.ok(!('BODY_MOSTLY_CAPS' in short.symbols));
});

test('rules written in policy: header regex, body substring, list of domains, attachment names', async () => {
  const rules = `rules:
  - symbol: TEST_MAILER
    type: header
    header: X-Mailer
    match: regex
    pattern: '^Bulk ?Mailer'
    flags: i
  - symbol: TEST_PHRASE
    type: body
    match: substring
    pattern: "wire transfer"
  - symbol: TEST_BAD_DOMAIN
    type: url_host
    match: list
    values: [evil.test]
  - symbol: TEST_SENDER
    type: envelope_from
    match: list
    values: ["@spammer.test"]
  - symbol: TEST_FROM_NAME
    type: from_name
    match: regex
    pattern: 'PayPal'
`;
  const s = new Scanner(
    await testPolicy({ files: { 'checks/content.yaml': rules }, symbols: { TEST_MAILER: 2, TEST_PHRASE: 3, TEST_BAD_DOMAIN: 4, TEST_SENDER: 1, TEST_FROM_NAME: 1 } }),
  );
  const r = await s.scan(
    message({
      headers: ['X-Mailer: bulkmailer 3.0', 'From: =?utf-8?Q?PayPal_Service?= <x@sender.test>', 'Content-Type: text/html'],
      body: '<p>Send the WIRE TRANSFER via <a href="https://login.Evil.test/x">here</a></p>',
    }),
    { from: 'list@mail.spammer.test' },
  );
  assert.deepEqual(
    Object.keys(r.symbols)
      .filter((k) => k.startsWith('TEST_'))
      .sort(),
    ['TEST_BAD_DOMAIN', 'TEST_FROM_NAME', 'TEST_MAILER', 'TEST_PHRASE', 'TEST_SENDER'],
  );
  assert.equal(r.symbols.TEST_BAD_DOMAIN, 4, 'the weight comes from symbols.yaml');
  const none = await s.scan(message({ body: 'a normal note, see https://good.test/' }), { from: 'a@sender.test' });
  assert.deepEqual(
    Object.keys(none.symbols).filter((k) => k.startsWith('TEST_')),
    [],
  );
});

test('rules compile once per policy version', async () => {
  const p = await testPolicy();
  const a = compiledRules(p.policy.content.rules);
  assert.equal(compiledRules(p.policy.content.rules), a);
  const q = await testPolicy();
  assert.notEqual(compiledRules(q.policy.content.rules), a);
});

async function loadError(files: Record<string, string>, symbols: Record<string, number> = {}): Promise<string[]> {
  try {
    await testPolicy({ files, symbols });
  } catch (err) {
    assert.ok(err instanceof PolicyError, String(err));
    return err.problems.map((p) => `${p.file.replace(/.*\/(checks\/[^/]+|symbols\.yaml)$/, '$1')}:${p.line}:${p.col}: ${p.message}`);
  }
  assert.fail('the policy loaded');
}

test('an invalid regex is a load error with file, line and column', async () => {
  const problems = await loadError({ 'checks/content.yaml': 'rules:\n  - symbol: BAD_RE\n    type: subject\n    match: regex\n    pattern: "(unclosed"\n' }, { BAD_RE: 1 });
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^checks\/content\.yaml:5:14: .*rule BAD_RE: Invalid regular expression: \/\(unclosed\/: Unterminated group$/);
});

test('a rule symbol without a score in symbols.yaml is a load error pointing at the rule', async () => {
  const problems = await loadError({ 'checks/content.yaml': 'rules:\n  - symbol: NO_SCORE\n    type: subject\n    match: substring\n    pattern: "x"\n' });
  assert.deepEqual(problems, ['checks/content.yaml:2:13: symbol "NO_SCORE" has no score in symbols.yaml']);
});

test('rule fields that do not fit the type are load errors', async () => {
  const problems = await loadError(
    {
      'checks/content.yaml': `rules:
  - symbol: A
    type: header
    match: regex
    pattern: x
  - symbol: B
    type: html_only
    pattern: x
  - symbol: C
    type: url
    match: list
    pattern: x
  - symbol: D
    type: uppercase
`,
    },
    { A: 1, B: 1, C: 1, D: 1 },
  );
  assert.equal(problems.length, 5, problems.join('\n'));
  assert.match(problems.join('\n'), /rule A: type header needs header/);
  assert.match(problems.join('\n'), /rule B: type html_only takes no pattern/);
  assert.match(problems.join('\n'), /rule C: match list needs values/);
  assert.match(problems.join('\n'), /checks\/content\.yaml:12:14: .*rule C: match list takes values, not pattern/);
  assert.match(problems.join('\n'), /rule D: type uppercase needs target/);
});

test('MIME structure past the limits is scored', async () => {
  const lines = [...BASE];
  for (let i = 0; i < 60; i++) lines.push(`Content-Type: multipart/mixed; boundary="b${i}"`, '', `--b${i}`);
  lines.push('Content-Type: text/plain', '', 'deep');
  const r = await shipped.scan(lines.join('\r\n'));
  assert.ok('MIME_TOO_DEEP' in r.symbols);
  const parts = Array.from({ length: 12 }, () => TEXT_PART);
  const few = new Scanner(await testPolicy({ set: { 'limits.max_mime_parts': '5' } }));
  assert.ok('MIME_TOO_MANY_PARTS' in (await few.scan(multipart(BASE, parts))).symbols);
});

test('GTUBE is refused with 554 5.7.1 whatever the score, also when base64-encoded; content.gtube: false turns it off', async () => {
  const plain = await shipped.scan(message({ body: `This is the GTUBE test:\r\n${GTUBE}\r\n` }));
  assert.equal(plain.verdict.action, 'reject');
  assert.equal(plain.verdict.reply?.code, 554);
  assert.match(`${plain.verdict.reply?.enhanced} ${plain.verdict.reply?.text}`, /^5\.7\.1 .*GTUBE/);
  const encoded = await shipped.scan(message({ headers: ['Content-Transfer-Encoding: base64'], body: Buffer.from(`test ${GTUBE} test`).toString('base64') }));
  assert.equal(encoded.verdict.action, 'reject');
  // Most of the string is not GTUBE: nothing is forced.
  const near = await shipped.scan(message({ body: GTUBE.slice(0, 40) }));
  assert.equal(near.verdict.action, 'accept');
  const off = new Scanner(await testPolicy({ set: { 'content.gtube': 'false' } }));
  assert.equal((await off.scan(message({ body: GTUBE }))).verdict.action, 'accept');
});

test('hidden HTML text scores HTML_HIDDEN_TEXT and is not what body rules read', async () => {
  const rules = `rules:
  - symbol: TEST_HIDDEN
    type: hidden_text
    min_letters: 20
  - symbol: TEST_WORD
    type: body
    match: substring
    pattern: "mortgage"
  - symbol: TEST_DECODED
    type: body
    match: substring
    pattern: "müller café"
`;
  const s = new Scanner(await testPolicy({ files: { 'checks/content.yaml': rules }, symbols: { TEST_HIDDEN: 2, TEST_WORD: 1, TEST_DECODED: 1 } }));
  const hidden = await s.scan(
    message({
      headers: ['Content-Type: text/html; charset=utf-8'],
      body: '<p>M&uuml;ller Caf&eacute; newsletter</p><div style="display:none">mortgage refinance lowest rates guaranteed</div>',
    }),
  );
  assert.ok('TEST_HIDDEN' in hidden.symbols);
  assert.match(hidden.details.TEST_HIDDEN ?? '', /^38 hidden letters: mortgage refinance/);
  assert.ok(!('TEST_WORD' in hidden.symbols), 'hidden words are not body text');
  assert.ok('TEST_DECODED' in hidden.symbols, 'entities are decoded in body text');
  const short = await s.scan(message({ headers: ['Content-Type: text/html'], body: '<p>Hi</p><span style="font-size:0">preheader</span>' }));
  assert.ok(!('TEST_HIDDEN' in short.symbols), 'fewer hidden letters than min_letters');
  const shipped = await new Scanner(await testPolicy()).scan(message({ headers: ['Content-Type: text/html'], body: '<p>Hello</p><font color="#ffffff">cheap meds online pharmacy no prescription</font>' }));
  assert.ok('HTML_HIDDEN_TEXT' in shipped.symbols);
});

test('shipped spam-phrase rules: a typical bulk offer hits several, a personal note none', async () => {
  const offer = await shipped.scan(
    message({
      headers: ['Subject: FREE VACATION!!       $500 value', 'From: Travel Club <club20417@hotmail.com>', 'To: '],
      body: [
        'Dear Friend,',
        'You signed up with one of our partners to receive travel offers. This message is not spam.',
        'Win $25,000 in prizes!!! There is no obligation and nothing to lose.',
        'Fill out the form below: Name: ________',
        'CLICK HERE to claim.',
      ].join('\r\n'),
    }),
  );
  for (const s of ['SUBJ_PADDED', 'SUBJ_FREE', 'SUBJ_DOLLAR', 'SUBJ_SHOUTED_BANG', 'SUBJ_MULTI_BANG', 'TO_EMPTY', 'FROM_FREEMAIL_DIGITS', 'DEAR_FRIEND', 'THIRD_PARTY_LIST', 'CLAIMS_NOT_SPAM', 'BIG_DOLLARS', 'BODY_MULTI_BANG', 'NO_RISK', 'NOTHING_TO_LOSE', 'ORDER_FORM', 'CLICK_HERE_CAPS']) {
    assert.ok(s in offer.symbols, `${s} missing; got ${Object.keys(offer.symbols).join(' ')}`);
  }
  // Without Bayes these alone reject: the phrases carry real weight together.
  assert.equal(offer.verdict.action, 'reject');
  const note = await shipped.scan(message({ headers: ['Subject: Re: dinner on Friday?'], body: 'Dear Anna, friday works. Could you click here http://maps.example.org/x to see the place? It costs $40 each.\r\nBen' }));
  const phraseRules = ['SUBJ_PADDED', 'SUBJ_FREE', 'DEAR_FRIEND', 'BIG_DOLLARS', 'CLICK_HERE_CAPS', 'SUBJ_MULTI_BANG', 'NO_RISK'];
  assert.deepEqual(phraseRules.filter((s) => s in note.symbols), []);
  assert.equal(note.verdict.action, 'accept');
});

test('every shipped content rule stays linear on hostile text', async () => {
  const policy = await testPolicy();
  const rules = compiledRules(policy.policy.content.rules);
  const n = 200_000;
  const hostile: Record<string, string> = {
    capitals: 'A'.repeat(n),
    spaces: 'a' + ' '.repeat(n),
    digits: '1'.repeat(n),
    dollars: '$1,000'.repeat(n / 6),
    words: 'search engine '.repeat(n / 14),
    bangs: 'A!'.repeat(n / 2),
    tags: '<font size'.repeat(n / 10),
    // Characters that fold into the literals' letters, and text in another script.
    folding: 'se\u212Aret \u017Fearch engine'.repeat(n / 21),
    script: '\u0417\u0410\u0420\u0410\u0411\u041e\u0422\u0410\u0419 \u0434\u0435\u043d\u044c\u0433\u0438 '.repeat(n / 15),
  };
  for (const [name, text] of Object.entries(hostile)) {
    const raw = message({ headers: [`Subject: ${text}`, 'Content-Type: text/html'], body: text });
    const started = performance.now();
    await shipped.scan(raw);
    const ms = performance.now() - started;
    // A scan of 200 KB takes tens of milliseconds; one backtracking rule would take minutes.
    assert.ok(ms < 5000, `${name}: ${Math.round(ms)} ms`);
  }
  assert.ok(rules.length > 30);
});
