import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { GTUBE } from '../../src/checks/content/gtube.js';

/**
 * The checks through the live proxy: a real SMTP client on loopback, Borderpatrol with the
 * shipped check policies, a real Postfix behind it and DNS from a loopback server.
 */

const shipped = (rel: string) => fs.readFileSync(new URL(`../../policies/${rel}`, import.meta.url), 'utf8');

describe('checks in the live proxy', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let dns: TestDnsServer;

  before(async () => {
    dns = await TestDnsServer.start({
      'forged.test': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
      '_dmarc.forged.test': { TXT: ['v=DMARC1; p=reject'] },
      'honest.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.honest.test': { TXT: ['v=DMARC1; p=none'] },
    });
    pf = await startPostfix({ users: ['user'], main: { message_size_limit: '40000000' } });
    bp = await startBorderpatrol({
      relayPort: pf.port,
      files: {
        'symbols.yaml': shipped('symbols.yaml'),
        'checks/headers.yaml': shipped('checks/headers.yaml'),
        'checks/auth.yaml': shipped('checks/auth.yaml'),
        'checks/dnsbl.yaml': shipped('checks/dnsbl.yaml'),
        'checks/content.yaml': shipped('checks/content.yaml'),
      },
      set: {
        // The loopback client stands in for the Internet here.
        'smtp.trusted_networks': '',
        'dns.servers': dns.server,
        'dns.timeout': '500',
        'auth.dmarc_reject_forces_reject': 'true',
      },
    });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
    await dns?.close();
  });

  async function send(from: string, data: string | Buffer, timeoutMs = 30_000): Promise<{ code: number; text: string }> {
    const c = await RawSmtp.connect(bp.port);
    try {
      await c.hello('mail.client.test');
      assert.equal((await c.command(`MAIL FROM:<${from}>`)).code, 250);
      assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      c.write(data);
      c.write('\r\n.\r\n');
      return await c.reply(timeoutMs);
    } finally {
      c.close();
    }
  }

  test('a DMARC p=reject failure is refused at end of DATA with 550 5.7.1', async () => {
    const r = await send('ceo@forged.test', 'From: CEO <ceo@forged.test>\r\nTo: user@example.com\r\nSubject: urgent\r\nDate: ' + new Date().toUTCString() + '\r\nMessage-ID: <1@forged.test>\r\n\r\nPay this today.');
    assert.equal(r.code, 550);
    assert.match(r.text, /5\.7\.1 .*DMARC.*forged\.test/);
  });

  test('the GTUBE test string is refused at end of DATA with 554 5.7.1 and never reaches Postfix', async () => {
    const r = await send('tester@sender.test', `From: tester@sender.test\r\nTo: user@example.com\r\nSubject: path test\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <gtube@sender.test>\r\n\r\n${GTUBE}\r\n`);
    assert.equal(r.code, 554);
    assert.match(r.text, /^554 5\.7\.1 .*GTUBE/);
    assert.equal((await pf.messages('user')).length, 0);
  });

  test('a MIME bomb gets an answer, and the delivered copy says why it scored', async () => {
    const lines = ['From: a@sender.test', 'To: user@example.com', 'Subject: nested', 'Message-ID: <bomb@sender.test>', 'Date: ' + new Date().toUTCString()];
    for (let i = 0; i < 1000; i++) lines.push(`Content-Type: multipart/mixed; boundary="b${i}"`, '', `--b${i}`);
    lines.push('Content-Type: text/plain', '', 'deep');
    const r = await send('a@sender.test', lines.join('\r\n'));
    assert.equal(r.code, 250, r.text);
    const [delivered] = await pf.waitForMessages('user', 1);
    assert.match(delivered ?? '', /X-Spam-Symbols:[^]*MIME_TOO_DEEP/);
  });

  test('a 25 MB message is scanned and relayed while other clients are still greeted promptly', async () => {
    const line = Buffer.alloc(57, 0x42).toString('base64') + '\r\n';
    const head = 'From: a@sender.test\r\nTo: user@example.com\r\nSubject: big file\r\nMessage-ID: <big@sender.test>\r\nDate: ' + new Date().toUTCString() + '\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nthe file\r\n--x\r\nContent-Type: application/octet-stream; name=big.iso\r\nContent-Transfer-Encoding: base64\r\n\r\n';
    const body = Buffer.from(head + line.repeat(Math.floor(25e6 / line.length)) + '--x--');
    const big = send('a@sender.test', body, 60_000);
    // While the big message is read, parsed and relayed, new clients keep getting greetings.
    const greetings: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 150));
      const started = Date.now();
      const c = await RawSmtp.connect(bp.port);
      const g = await c.reply(5000);
      greetings.push(Date.now() - started);
      assert.equal(g.code, 220);
      c.close();
    }
    const r = await big;
    assert.equal(r.code, 250, r.text);
    // smtp-server waits 100 ms before every greeting on purpose; a stalled event loop would add seconds.
    assert.ok(Math.max(...greetings) < 2000, `greetings took ${greetings.join(', ')} ms`);
  });

  test('relayed mail carries our Authentication-Results; an inbound one in our name is removed, a foreign one kept', async () => {
    const headers = [
      'Authentication-Results: mx.borderpatrol.test; spf=pass smtp.mailfrom=forger.test; dmarc=pass',
      'Authentication-Results: (forged) MX.Borderpatrol.Test;\r\n dkim=pass header.d=forger.test',
      'Authentication-Results: upstream.example; dkim=none',
      'From: A <a@honest.test>',
      'To: user@example.com',
      'Subject: authenticated',
      'Date: ' + new Date().toUTCString(),
      'Message-ID: <ar@honest.test>',
    ];
    const r = await send('a@honest.test', headers.join('\r\n') + '\r\n\r\nHello.');
    assert.equal(r.code, 250, r.text);
    let delivered = '';
    for (const deadline = Date.now() + 15_000; !delivered && Date.now() < deadline; await new Promise((w) => setTimeout(w, 100))) {
      delivered = (await pf.messages('user')).find((m) => m.includes('<ar@honest.test>')) ?? '';
    }
    const fields = delivered.split(/\r?\n(?![ \t])/).filter((f) => /^Authentication-Results:/i.test(f));
    assert.equal(fields.length, 2, fields.join('\n'));
    assert.match(fields[0] ?? '', /^Authentication-Results: mx\.borderpatrol\.test;\s+dkim=none[^]*spf=pass[^]*smtp\.mailfrom=a@honest\.test[^]*dmarc=pass/);
    assert.match(fields[1] ?? '', /^Authentication-Results: upstream\.example; dkim=none$/);
    assert.doesNotMatch(delivered, /forger\.test/);
  });
});
