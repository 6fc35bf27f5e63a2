import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, makeTestCert, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { assertMemoryBack, assertOnlyWholeMessages, assertServes, liveMemoryMb, waitForMessage, wholeMessage } from './harness.js';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A PROXY v2 header claiming TCP over IPv4 from `src`. */
function proxyV2(src: string): Buffer {
  const addr = Buffer.alloc(12);
  src.split('.').forEach((o, i) => (addr[i] = Number(o)));
  [192, 0, 2, 1].forEach((o, i) => (addr[4 + i] = o));
  addr.writeUInt16BE(4444, 8);
  addr.writeUInt16BE(25, 10);
  return Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x00, 12]), addr]);
}

describe('TLS handshake garbage and PROXY headers from untrusted peers', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let certDir = '';
  let baseline: number;

  before(async () => {
    pf = await startPostfix();
    const cert = await makeTestCert();
    certDir = cert.dir;
    bp = await startBorderpatrol({
      relayPort: pf.port,
      set: {
        'tls.enabled': 'true',
        'tls.key': cert.key,
        'tls.cert': cert.cert,
        'limits.idle_timeout': '2',
        'proxy_protocol.enabled': 'true',
        // Only this balancer may say who the client is.
        'proxy_protocol.trusted': '127.0.0.9',
      },
    });
    await assertServes(bp.port, pf, 'warm-up');
    baseline = await liveMemoryMb();
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
    if (certDir) await fs.rm(certDir, { recursive: true, force: true });
  });

  test('random bytes after STARTTLS: the connection is dropped, others are served', async () => {
    for (let i = 0; i < 10; i++) {
      const c = await RawSmtp.connect(bp.port);
      await c.hello();
      assert.equal((await c.command('STARTTLS')).code, 220);
      c.write(crypto.randomBytes(16 * 1024));
      assert.ok(await c.waitClosed(5000), 'closed after garbage');
    }
    await assertServes(bp.port, pf, 'after-tls-garbage');
  });

  test('a TLS record header that promises more than it sends: closed after idle_timeout', async () => {
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    assert.equal((await c.command('STARTTLS')).code, 220);
    const started = Date.now();
    // Handshake record, TLS 1.0, length 0x4000, then only a few bytes of it.
    c.write(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc]));
    await assertServes(bp.port, pf, 'during-stalled-handshake');
    assert.ok(await c.waitClosed(10_000), 'stalled handshake closed');
    assert.ok(Date.now() - started < 9000, `took ${Date.now() - started} ms`);
  });

  test('a TLS ClientHello on the plaintext port before the greeting: 421 (talked too soon)', async () => {
    const c = await RawSmtp.connect(bp.port);
    c.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]), crypto.randomBytes(190)]));
    const r = await c.reply(5000);
    assert.equal(r.code, 421);
    assert.ok(await c.waitClosed());
    await assertServes(bp.port, pf, 'after-client-hello');
    await assertMemoryBack(baseline, 'after TLS garbage');
  });

  test('PROXY v1 and v2 headers from an untrusted peer: 421 before the greeting, the claimed address is never used', async () => {
    for (const header of [Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 4444 25\r\n'), proxyV2('203.0.113.7')]) {
      const c = await RawSmtp.connect(bp.port);
      c.write(header);
      const r = await c.reply(5000);
      assert.equal(r.code, 421, r.text);
      assert.match(r.text, /4\.4\.2 .*too soon/);
      assert.ok(await c.waitClosed());
    }
    // After the greeting, PROXY is just an unknown command; the mail that follows is from
    // the socket's own address.
    const c = await RawSmtp.connect(bp.port);
    await c.reply();
    const proxy = await c.command('PROXY TCP4 203.0.113.7 192.0.2.1 4444 25');
    assert.equal(proxy.code, 500);
    assert.equal((await c.command('EHLO client.origin.test')).code, 250);
    assert.equal((await c.command('MAIL FROM:<sender@origin.test>')).code, 250);
    assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
    assert.equal((await c.command('DATA')).code, 354);
    c.write(wholeMessage('proxy-late') + '.\r\n');
    assert.equal((await c.reply(20_000)).code, 250);
    c.close();
    assert.equal(await waitForMessage(pf, 'user', 'proxy-late'), 1);
    const got = (await pf.messages('user')).find((m) => m.includes('<proxy-late@origin.test>')) ?? '';
    assert.match(got, /\[127\.0\.0\.1\]/);
    assert.doesNotMatch(got, /203\.0\.113\.7/);
    assert.doesNotMatch(await pf.log(), /203\.0\.113\.7/);
  });

  test('a malformed PROXY header from the trusted balancer: dropped without a reply; a good one is honoured', async () => {
    const bad = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.9');
    bad.write('PROXY TCP4 not-an-address\r\n');
    assert.ok(await bad.waitClosed(5000));
    const good = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.9');
    good.write(proxyV2('127.0.0.77'));
    await good.hello();
    assert.equal((await good.command('MAIL FROM:<sender@origin.test>')).code, 250);
    assert.equal((await good.command('RCPT TO:<user@example.com>')).code, 250);
    assert.equal((await good.command('DATA')).code, 354);
    good.write(wholeMessage('proxy-good') + '.\r\n');
    assert.equal((await good.reply(20_000)).code, 250);
    good.close();
    assert.equal(await waitForMessage(pf, 'user', 'proxy-good'), 1);
    const got = (await pf.messages('user')).find((m) => m.includes('<proxy-good@origin.test>')) ?? '';
    assert.match(got, /\[127\.0\.0\.77\]/);
    await assertMemoryBack(baseline, 'after TLS and PROXY garbage');
    await assertOnlyWholeMessages(pf);
  });
});
