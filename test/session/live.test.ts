import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { TestDnsServer } from '../helpers/dns-server.js';

/**
 * What only a socket shows about the Session behind the smtp-server door: the greeting,
 * the client's name from DNS, a client that hangs up before the verdict, and what reaches
 * the downstream. The protocol rules themselves are specified socket-free in session.test.ts.
 */

const CLEAN = 'From: a@sender.test\r\nTo: bob@example.com\r\nSubject: hi\r\nMessage-ID: <x1@sender.test>\r\n\r\nhello\r\n';

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('the greeting', () => {
  let sink: SmtpSink;
  let bp: TestServer;
  before(async () => {
    sink = await startSmtpSink();
    bp = await startBorderpatrol({ relayPort: sink.port, files: { 'lists/deny_ips.txt': '127.0.0.66\n' } });
  });
  after(async () => {
    await bp?.stop();
    await sink?.stop();
  });

  it('a deny-listed client gets 554 5.7.1 as its greeting (RFC 5321: 220, 554 or 421 only) and is disconnected', async () => {
    const c = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.66');
    const greeting = await c.reply();
    assert.equal(greeting.code, 554);
    assert.match(greeting.text, /^554 5\.7\.1 /);
    assert.equal(await c.waitClosed(), true);
  });

  it('anyone else gets 220', async () => {
    const c = await RawSmtp.connect(bp.port);
    assert.equal((await c.reply()).code, 220);
    c.close();
  });
});

describe('reverse DNS through the DNS client of the policy', () => {
  let sink: SmtpSink;
  let dns: TestDnsServer;
  let bp: TestServer;
  before(async () => {
    sink = await startSmtpSink();
    dns = await TestDnsServer.start({ '1.0.0.127.in-addr.arpa': { PTR: ['client.loopback.test'] } });
    bp = await startBorderpatrol({ relayPort: sink.port, set: { 'dns.servers': dns.server, 'greylist.enabled': 'false' } });
  });
  after(async () => {
    await bp?.stop();
    await sink?.stop();
    await dns?.close();
  });

  it('asks dns.servers for the PTR of a loopback client and writes the name into Received', async () => {
    const r = await RawSmtp.sendMessage(bp.port, { from: 'a@sender.test', to: 'bob@example.com', data: CLEAN, helo: 'mail.client.test' });
    assert.equal(r.code, 250, r.text);
    assert.ok(dns.count('1.0.0.127.in-addr.arpa') >= 1, 'the PTR was asked from dns.servers');
    assert.ok(await waitFor(() => sink.messages().length === 1, 5000));
    assert.match(sink.messages()[0] ?? '', /Received: from mail\.client\.test \(client\.loopback\.test \[127\.0\.0\.1\]\)/);
  });

  it('offline: true asks nobody', async () => {
    const offline = await startBorderpatrol({ relayPort: sink.port, set: { 'dns.servers': dns.server, offline: 'true', 'greylist.enabled': 'false' } });
    try {
      const before = dns.queries.length;
      const c = await RawSmtp.connect(offline.port);
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.command('EHLO mail.client.test')).code, 250);
      c.close();
      assert.equal(dns.queries.length, before);
    } finally {
      await offline.stop();
    }
  });
});

describe('what reaches the downstream', () => {
  let sink: SmtpSink;
  let dns: TestDnsServer;
  let bp: TestServer;
  before(async () => {
    sink = await startSmtpSink();
    // The sender's domain never answers: SPF waits out dns.timeout, so the verdict takes a while.
    dns = await TestDnsServer.start({ 'slow.test': { drop: true }, '_dmarc.slow.test': { drop: true } });
    bp = await startBorderpatrol({
      relayPort: sink.port,
      set: { 'dns.servers': dns.server, 'dns.timeout': '1500', 'smtp.trusted_networks': '', 'greylist.enabled': 'false', 'limits.max_recipients': '2' },
    });
  });
  after(async () => {
    await bp?.stop();
    await sink?.stop();
    await dns?.close();
  });

  it('a client that hangs up before the verdict has nothing relayed (its retry would be a duplicate)', async () => {
    const before = sink.messages().length;
    const c = await RawSmtp.connect(bp.port);
    await c.hello('mail.client.test');
    assert.equal((await c.command('MAIL FROM:<a@slow.test>')).code, 250);
    assert.equal((await c.command('RCPT TO:<bob@example.com>')).code, 250);
    assert.equal((await c.command('DATA')).code, 354);
    c.write(CLEAN + '.\r\n');
    c.socket.destroy();
    // Long enough for the verdict and a relay; the control below shows the same path relays.
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(sink.messages().length, before, 'nothing reached the downstream');
    const stayed = await RawSmtp.sendMessage(bp.port, { from: 'a@slow.test', to: 'bob@example.com', data: CLEAN });
    assert.equal(stayed.code, 250, stayed.text);
    assert.ok(await waitFor(() => sink.messages().length === before + 1, 5000), 'a client that waits gets its message relayed');
  });

  it('the same recipient twice is one recipient: delivered once, counted once toward max_recipients', async () => {
    const before = sink.messages().length;
    const c = await RawSmtp.connect(bp.port, '127.0.0.1');
    await c.hello('mail.client.test');
    assert.equal((await c.command('MAIL FROM:<dup@sender.test>')).code, 250);
    for (let i = 0; i < 5; i++) assert.equal((await c.command('RCPT TO:<bob@example.com>')).code, 250);
    assert.equal((await c.command('RCPT TO:<Bob@Example.com>')).code, 250);
    assert.equal((await c.command('RCPT TO:<carol@example.com>')).code, 250, 'the duplicates counted as one');
    assert.equal((await c.command('RCPT TO:<dave@example.com>')).code, 452, 'max_recipients is 2');
    assert.equal((await c.command('DATA')).code, 354);
    c.write(CLEAN + '.\r\n');
    assert.equal((await c.reply()).code, 250);
    c.close();
    assert.ok(await waitFor(() => sink.messages().length === before + 1, 5000));
    const dumped = sink.messages().find((m) => m.includes('dup@sender.test')) ?? '';
    const rcpts = dumped.match(/^X-Rcpt-Args: .*$/gm) ?? [];
    assert.deepEqual(rcpts.length, 2, dumped.slice(0, 600));
  });
});
