import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { assertMemoryBack, assertOnlyWholeMessages, assertServes, liveMemoryMb, openData, waitForMessage, writeAll } from './harness.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** MAIL (with optional parameters) and RCPT on a fresh connection, as raw bytes. */
async function envelope(port: number, from: string, rcpt: string, mailParams = ''): Promise<{ c: RawSmtp; mail: number; mailText: string; rcpt: number; rcptText: string }> {
  const c = await RawSmtp.connect(port);
  await c.hello('client.origin.test');
  c.write(latin1(`MAIL FROM:<${from}>${mailParams}\r\n`));
  const m = await c.reply();
  c.write(latin1(`RCPT TO:<${rcpt}>\r\n`));
  const r = await c.reply();
  return { c, mail: m.code, mailText: m.text, rcpt: r.code, rcptText: r.text };
}

/** Lines of base64 for `bytes` of random data, produced as needed. */
function* base64Lines(bytes: number, seed: string): Generator<string> {
  const block = crypto.createHash('sha512').update(seed).digest();
  let line = Buffer.alloc(57);
  for (let done = 0; done < bytes; done += 57) {
    for (let i = 0; i < 57; i++) line[i] = block[(done + i) % block.length]! ^ ((done / 57) & 0xff);
    if (bytes - done < 57) line = line.subarray(0, bytes - done);
    yield line.toString('base64') + '\r\n';
  }
}

function* batched(lines: Iterable<string>, per = 2000): Generator<string> {
  let buf: string[] = [];
  for (const l of lines) {
    buf.push(l);
    if (buf.length >= per) {
      yield buf.join('');
      buf = [];
    }
  }
  if (buf.length) yield buf.join('');
}

describe('hostile content: NUL bytes, bad UTF-8, MIME bombs, endless base64, 25 MB attachments', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let baseline: number;

  before(async () => {
    // Postfix's own limits (10 MB by default) would refuse the large messages before we could test ours.
    pf = await startPostfix({ main: { message_size_limit: '60000000', virtual_mailbox_limit: '100000000' } });
    bp = await startBorderpatrol({
      relayPort: pf.port,
      // A MIME bomb weighs enough to be refused; nothing else is scored here.
      files: { 'symbols.yaml': 'MIME_TOO_DEEP:\n  score: 20\n  description: MIME nesting too deep\n' },
    });
    await assertServes(bp.port, pf, 'warm-up');
    baseline = await liveMemoryMb();
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('NUL bytes in MAIL and RCPT: 501; NUL bytes in the message are passed on unchanged', async () => {
    const a = await envelope(bp.port, 'nul\0l@origin.test', 'user@example.com');
    assert.equal(a.mail, 501);
    assert.match(a.mailText, /5\.1\.7/);
    a.c.close();
    const b = await envelope(bp.port, 'sender@origin.test', 'us\0er@example.com');
    assert.equal(b.rcpt, 501);
    assert.match(b.rcptText, /5\.1\.3/);
    b.c.close();

    const c = await openData(bp.port);
    c.write(latin1('Subject: nul\r\nMessage-ID: <nul-body@origin.test>\r\n\r\nbefore\0after\r\n\0\0\0\r\nEND-OF-MESSAGE nul-body\r\n.\r\n'));
    const r = await c.reply(20_000);
    assert.equal(r.code, 250, r.text);
    c.close();
    assert.equal(await waitForMessage(pf, 'user', 'nul-body'), 1);
    const got = (await pf.messages('user')).find((m) => m.includes('<nul-body@origin.test>')) ?? '';
    assert.ok(got.includes('before\0after\n\0\0\0\n'), 'NUL bytes kept');
  });

  test('addresses that are not UTF-8, or non-ASCII without SMTPUTF8: 553 5.6.7', async () => {
    const notUtf8 = await envelope(bp.port, '\xc3\x28bad@origin.test', 'user@example.com', ' SMTPUTF8');
    assert.equal(notUtf8.mail, 553);
    assert.match(notUtf8.mailText, /5\.6\.7 .*UTF-8/);
    notUtf8.c.close();
    const undeclared = await envelope(bp.port, 'j\xc3\xb6rg@origin.test', 'user@example.com');
    assert.equal(undeclared.mail, 553);
    assert.match(undeclared.mailText, /5\.6\.7 .*SMTPUTF8/);
    undeclared.c.close();
    const badRcpt = await envelope(bp.port, 'sender@origin.test', '\xff\xfeuser@example.com', ' SMTPUTF8');
    assert.equal(badRcpt.mail, 250);
    assert.equal(badRcpt.rcpt, 553);
    assert.match(badRcpt.rcptText, /5\.6\.7/);
    badRcpt.c.close();
    const rcptNoUtf8 = await envelope(bp.port, 'sender@origin.test', 'j\xc3\xb6rg@example.com');
    assert.equal(rcptNoUtf8.rcpt, 553);
    rcptNoUtf8.c.close();
  });

  test('an A-label (punycode) domain is plain ASCII: accepted without SMTPUTF8 and relayed as it was sent', async () => {
    const e = await envelope(bp.port, 'a@xn--exmple-cua.com', 'user@example.com');
    assert.equal(e.mail, 250, e.mailText);
    assert.equal(e.rcpt, 250, e.rcptText);
    assert.equal((await e.c.command('DATA')).code, 354);
    e.c.write(`Subject: a-label\r\nMessage-ID: <a-label@origin.test>\r\n\r\nhi\r\nEND-OF-MESSAGE a-label\r\n.\r\n`);
    const r = await e.c.reply(20_000);
    assert.equal(r.code, 250, r.text);
    e.c.close();
    assert.equal(await waitForMessage(pf, 'user', 'a-label'), 1);
    const got = (await pf.messages('user')).find((m) => m.includes('<a-label@origin.test>')) ?? '';
    assert.match(got, /^Return-Path: <a@xn--exmple-cua\.com>$/m);
  });

  test('a UTF-8 sender with SMTPUTF8 and invalid UTF-8 in the headers and body (with and without SMTPUTF8) are relayed byte for byte', async () => {
    for (const [label, from, params] of [
      ['utf8-session', 'j\xc3\xb6rg@origin.test', ' SMTPUTF8 BODY=8BITMIME'],
      ['ascii-session', 'sender@origin.test', ''],
    ] as const) {
      const e = await envelope(bp.port, from, 'user@example.com', params);
      assert.equal(e.mail, 250, `${label}: ${e.mailText}`);
      assert.equal(e.rcpt, 250, `${label}: ${e.rcptText}`);
      assert.equal((await e.c.command('DATA')).code, 354);
      e.c.write(latin1(`Subject: caf\xe9 \xff\xfe \xc3\x28\r\nMessage-ID: <${label}@origin.test>\r\n\r\nbody \xed\xa0\x80 \xf8\x88\x80\x80\x80 \xc0\xaf\r\nEND-OF-MESSAGE ${label}\r\n.\r\n`));
      const r = await e.c.reply(20_000);
      assert.equal(r.code, 250, `${label}: ${r.text}`);
      e.c.close();
      assert.equal(await waitForMessage(pf, 'user', label), 1);
      const got = (await pf.messages('user')).find((m) => m.includes(`<${label}@origin.test>`)) ?? '';
      assert.ok(got.includes('Subject: caf\xe9 \xff\xfe \xc3\x28\n'), `${label}: header bytes kept`);
      assert.ok(got.includes('body \xed\xa0\x80 \xf8\x88\x80\x80\x80 \xc0\xaf\n'), `${label}: body bytes kept`);
    }
  });

  test('MIME nested 1,000 deep: refused 550 5.7.1 (MIME_TOO_DEEP) within seconds, server answers during and after', async () => {
    const depth = 1000;
    const open: string[] = [];
    const close: string[] = [];
    for (let i = 0; i < depth; i++) {
      open.push(`Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`);
      close.unshift(`\r\n--b${i}--\r\n`);
    }
    const c = await openData(bp.port);
    const started = Date.now();
    const serving = assertServes(bp.port, pf, 'during-mime-bomb');
    await writeAll(c, ['Message-ID: <mime-bomb@origin.test>\r\nMIME-Version: 1.0\r\n', open.join(''), 'Content-Type: text/plain\r\n\r\ndeep inside\r\n', close.join(''), 'END-OF-MESSAGE mime-bomb\r\n.\r\n']);
    const r = await c.reply(30_000);
    assert.equal(r.code, 550, r.text);
    assert.match(r.text, /5\.7\.1/);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    c.close();
    await serving;
    await assertServes(bp.port, pf, 'after-mime-bomb');
    await assertMemoryBack(baseline, 'after NUL bytes, bad UTF-8 and the MIME bomb');
  });

  test('base64 that never ends (20 MB, no closing boundary): a verdict within seconds, relayed whole', async () => {
    const c = await openData(bp.port);
    const started = Date.now();
    const serving = assertServes(bp.port, pf, 'during-endless-base64');
    await writeAll(c, [
      'Message-ID: <endless@origin.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="never"\r\n\r\n--never\r\nContent-Type: application/octet-stream; name="x.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="x.bin"\r\n\r\n',
      ...batched(base64Lines(15_000_000, 'endless')),
      'END-OF-MESSAGE endless\r\n.\r\n',
    ]);
    const r = await c.reply(60_000);
    assert.equal(r.code, 250, r.text);
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    c.close();
    await serving;
    assert.equal(await waitForMessage(pf, 'user', 'endless', 30_000), 1);
    await assertMemoryBack(baseline, 'after endless base64');
  });

  test('a 25 MB attachment: over max_message_size it is refused 552 5.3.4 (SIZE at MAIL, else after DATA); an 18 MB one is relayed intact', async () => {
    const declared = await envelope(bp.port, 'sender@origin.test', 'user@example.com', ' SIZE=35000000');
    assert.equal(declared.mail, 552);
    assert.match(declared.mailText, /5\.3\.4/);
    declared.c.close();

    const head = (id: string) =>
      `Message-ID: <${id}@origin.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="att"\r\n\r\n--att\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--att\r\nContent-Type: application/pdf; name="big.pdf"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="big.pdf"\r\n\r\n`;
    const big = await openData(bp.port);
    await writeAll(big, [head('att-25mb'), ...batched(base64Lines(25_000_000, 'big')), '--att--\r\nEND-OF-MESSAGE att-25mb\r\n.\r\n']);
    const refused = await big.reply(60_000);
    assert.equal(refused.code, 552, refused.text);
    assert.match(refused.text, /5\.3\.4/);
    big.close();

    const fits = await openData(bp.port);
    await writeAll(fits, [head('att-18mb'), ...batched(base64Lines(18_000_000, 'fits')), '--att--\r\nEND-OF-MESSAGE att-18mb\r\n.\r\n']);
    const ok = await fits.reply(60_000);
    assert.equal(ok.code, 250, ok.text);
    fits.close();
    assert.equal(await waitForMessage(pf, 'user', 'att-18mb', 30_000), 1);
    // Measured before this test reads the 24 MB copy back from the mailbox.
    await assertMemoryBack(baseline, 'after 25 MB attachments', 20);
    await (async () => {
      const got = (await pf.messages('user')).find((m) => m.includes('<att-18mb@origin.test>')) ?? '';
      const expected = crypto.createHash('sha256');
      for (const line of base64Lines(18_000_000, 'fits')) expected.update(line.replace('\r\n', '\n'));
      const start = got.indexOf('filename="big.pdf"\n\n') + 'filename="big.pdf"\n\n'.length;
      const end = got.indexOf('--att--');
      assert.equal(crypto.createHash('sha256').update(got.slice(start, end)).digest('hex'), expected.digest('hex'), 'attachment bytes intact');
    })();
    const ids = await assertOnlyWholeMessages(pf);
    assert.ok(!ids.includes('att-25mb') && !ids.includes('mime-bomb'), 'refused messages were not relayed');
  });
});
