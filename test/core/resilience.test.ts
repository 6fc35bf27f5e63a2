import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, makeTestCert, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';

type Pausable = PostfixInstance & { pause: () => Promise<void> };

describe('Postfix down, TLS, PROXY protocol, graceful shutdown', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  test('Postfix stopped: 451 4.4.1, nothing lost, delivered once it is back', async () => {
    const pf = (await startPostfix()) as Pausable;
    cleanup.push(() => pf.stop());
    const bp = await startBorderpatrol({ relayPort: pf.port, set: { 'relay.connect_timeout': '2' } });
    cleanup.push(() => bp.stop());

    // The recipient check needs Postfix too: with it down, RCPT is deferred, not refused.
    await pf.pause();
    let c = await RawSmtp.connect(bp.port);
    await c.hello();
    await c.command('MAIL FROM:<sender@origin.test>');
    let r = await c.command('RCPT TO:<user@example.com>');
    assert.equal(r.code, 451);
    assert.match(r.text, /4\.4\.1/);
    c.close();

    // Recipient verified (and cached) while Postfix is up; Postfix goes down before DATA ends.
    await pf.start();
    c = await RawSmtp.connect(bp.port);
    await c.hello();
    await c.command('MAIL FROM:<sender@origin.test>');
    assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
    assert.equal((await c.command('DATA')).code, 354);
    await pf.pause();
    c.write('Subject: while down\r\nMessage-ID: <down-1@origin.test>\r\n\r\nbody\r\n.\r\n');
    r = await c.reply(20_000);
    assert.equal(r.code, 451, r.text);
    assert.match(r.text, /4\.4\.1/);
    c.close();

    // The client retries once Postfix is back: delivered exactly once.
    await pf.start();
    const retry = await swaks(['--server', `127.0.0.1:${bp.port}`, '--to', 'user@example.com', '--from', 'sender@origin.test', '--header', 'Message-ID: <down-1@origin.test>']);
    assert.equal(retry.code, 0, retry.out);
    const msgs = await pf.waitForMessages('user', 1);
    assert.equal(msgs.filter((m) => m.includes('<down-1@origin.test>')).length, 1);
  });

  test('STARTTLS with swaks --tls delivers and Received says ESMTPS', async () => {
    const pf = await startPostfix();
    cleanup.push(() => pf.stop());
    const cert = await makeTestCert();
    cleanup.push(() => fs.rm(cert.dir, { recursive: true, force: true }));
    const bp = await startBorderpatrol({ relayPort: pf.port, set: { 'tls.enabled': 'true', 'tls.key': cert.key, 'tls.cert': cert.cert } });
    cleanup.push(() => bp.stop());
    const r = await swaks(['--server', `127.0.0.1:${bp.port}`, '--to', 'user@example.com', '--from', 'sender@origin.test', '--tls', '--header', 'Subject: over tls']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /220 2\.0\.0 Ready to start TLS/);
    assert.match(r.out, /^<~  250 /m);
    const [msg] = await pf.waitForMessages('user', 1);
    assert.match(msg ?? '', /with ESMTPS\s+id/);
    assert.match(msg ?? '', /Subject: over tls/);
  });

  test('PROXY v1 and v2 headers from a trusted balancer set the client address; others are not honoured', async () => {
    const pf = await startPostfix();
    cleanup.push(() => pf.stop());
    const bp = await startBorderpatrol({ relayPort: pf.port, set: { 'proxy_protocol.enabled': 'true', 'proxy_protocol.trusted': '127.0.0.1' } });
    cleanup.push(() => bp.stop());

    const deliver = async (header: Buffer, id: string, localAddress?: string) => {
      const c = await RawSmtp.connect(bp.port, '127.0.0.1', localAddress);
      c.write(header);
      await c.hello();
      await c.command('MAIL FROM:<sender@origin.test>');
      await c.command('RCPT TO:<user@example.com>');
      await c.command('DATA');
      c.write(`Message-ID: <${id}@origin.test>\r\n\r\nbody\r\n.\r\n`);
      const r = await c.reply();
      c.close();
      return r;
    };
    assert.equal((await deliver(Buffer.from('PROXY TCP4 127.0.0.55 127.0.0.1 40001 25\r\n'), 'pv1')).code, 250);
    const v2 = Buffer.concat([
      Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c]),
      Buffer.from([127, 0, 0, 66, 127, 0, 0, 1]),
      Buffer.from([0x9c, 0x42, 0x00, 0x19]),
    ]);
    assert.equal((await deliver(v2, 'pv2')).code, 250);
    const msgs = await pf.waitForMessages('user', 2);
    assert.match(msgs.find((m) => m.includes('<pv1@')) ?? '', /\[127\.0\.0\.55\]/);
    assert.match(msgs.find((m) => m.includes('<pv2@')) ?? '', /\[127\.0\.0\.66\]/);
    // An untrusted peer's PROXY line is just an unknown command; its address stays its own.
    const c = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.9');
    await c.reply();
    const r = await c.command('PROXY TCP4 127.0.0.77 127.0.0.1 40001 25');
    assert.ok(r.code >= 500, r.text);
    c.close();
    // A trusted peer that sends garbage instead of a header is disconnected.
    const g = await RawSmtp.connect(bp.port);
    g.write('GARBAGE\r\n');
    assert.ok(await g.waitClosed());
  });

  test('SIGTERM-style stop finishes the transaction in flight, then refuses new clients', async () => {
    const pf = await startPostfix();
    cleanup.push(() => pf.stop());
    const bp = await startBorderpatrol({ relayPort: pf.port });
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    await c.command('MAIL FROM:<sender@origin.test>');
    await c.command('RCPT TO:<user@example.com>');
    await c.command('DATA');
    c.write('Subject: in flight\r\nMessage-ID: <inflight@origin.test>\r\n\r\nfirst half\r\n');
    const stopping = bp.stop();
    await new Promise((r) => setTimeout(r, 200));
    // The listener is closed at once…
    await assert.rejects(RawSmtp.connect(bp.port));
    // …but the message in flight is finished and answered.
    c.write('second half\r\n.\r\n');
    const r = await c.reply();
    assert.equal(r.code, 250, r.text);
    await stopping;
    const msgs = await pf.waitForMessages('user', 1);
    assert.match(msgs[0] ?? '', /second half/);
  });
});
