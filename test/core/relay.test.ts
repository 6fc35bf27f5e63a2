import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';

/** Send one message over a raw socket with exact bytes; returns every reply. */
async function sendRaw(port: number, opts: { from?: string; rcpts: string[]; data: string | Buffer; helo?: string; unstuffed?: boolean }) {
  const c = await RawSmtp.connect(port);
  try {
    await c.hello(opts.helo ?? 'client.test');
    const mail = await c.command(`MAIL FROM:<${opts.from ?? 'sender@origin.test'}>`);
    const rcpts = [];
    for (const r of opts.rcpts) rcpts.push(await c.command(`RCPT TO:<${r}>`));
    if (!rcpts.some((r) => r.code === 250)) return { mail, rcpts, data: null, end: null };
    const data = await c.command('DATA');
    // The client's side of the protocol: dot-stuff (unless a test sends exact bytes).
    const bytes = Buffer.isBuffer(opts.data) ? opts.data : Buffer.from(opts.data, 'latin1');
    c.write(opts.unstuffed ? bytes : Buffer.from(bytes.toString('latin1').replace(/^\./gm, '..'), 'latin1'));
    c.write('\r\n.\r\n');
    const end = await c.reply(30_000);
    await c.command('QUIT').catch(() => undefined);
    return { mail, rcpts, data, end };
  } finally {
    c.close();
  }
}

function bodyOf(message: string): string {
  const i = message.indexOf('\r\n\r\n') >= 0 ? message.indexOf('\r\n\r\n') + 4 : message.indexOf('\n\n') + 2;
  return message.slice(i);
}

function headersOf(message: string): string {
  const i = message.indexOf('\n\n');
  return message.slice(0, i);
}

describe('relay to a real Postfix', () => {
  let pf: PostfixInstance;
  let bp: TestServer;

  before(async () => {
    pf = await startPostfix();
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(`${pf.confDir}/eod`, 'rejectme@origin.test 554 5.7.1 refused by postfix policy\ndeferme@origin.test 451 4.7.1 postfix says later\n'),
    );
    // Postfix's own end-of-data verdicts, to see them passed back unchanged in class.
    await pf.postconf({ smtpd_end_of_data_restrictions: `check_sender_access texthash:${pf.confDir}/eod` });
    await pf.reload();
    bp = await startBorderpatrol({ relayPort: pf.port });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('EHLO advertises the extensions an MX needs', async () => {
    const c = await RawSmtp.connect(bp.port);
    const lines = (await c.hello()).join('\n');
    c.close();
    for (const ext of ['SIZE 26214400', 'PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES']) assert.match(lines, new RegExp(ext));
  });

  test('delivers into the mailbox with the body byte-identical', async () => {
    const body = 'Line one\r\n.starts with a dot\r\n..two dots\r\n\xe9t\xe9 in latin1 bytes\r\n   spaces kept   \r\n\r\nlast line';
    const data = `From: Sender <sender@origin.test>\r\nTo: user@example.com\r\nSubject: byte identical\r\nMessage-ID: <bi-1@origin.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nX-Spam-Flag: YES\r\nX-Spam-Score: 99\r\n\r\n${body}`;
    const r = await sendRaw(bp.port, { rcpts: ['user@example.com'], data: Buffer.from(data, 'latin1'), helo: 'origin.example' });
    assert.equal(r.end?.code, 250, r.end?.text);
    assert.match(r.end?.text ?? '', /2\.0\.0 Ok: queued as [A-Z0-9]+/);
    const msgs = await pf.waitForMessages('user', 1);
    const got = msgs.find((m) => m.includes('<bi-1@origin.test>'));
    assert.ok(got, 'message delivered');
    // Postfix writes maildir files with LF line ends.
    assert.equal(bodyOf(got), body.replace(/\r\n/g, '\n') + '\n');
    const head = headersOf(got);
    // XFORWARD: Postfix logs the real client (no reverse name → "unknown"), not us ("localhost").
    const queueId = /queued as ([A-Z0-9]+)/.exec(r.end?.text ?? '')?.[1];
    assert.match(await pf.log(), new RegExp(`${queueId}: client=localhost\\[127\\.0\\.0\\.1\\], orig_client=unknown\\[127\\.0\\.0\\.1\\]`));
    assert.match(head, /Received: from origin\.example \(unknown \[127\.0\.0\.1\]\)\s+by\s+mx\.borderpatrol\.test\s+\(Borderpatrol\)\s+with\s+ESMTP\s+id/);
    // Inbound X-Spam-* are stripped; ours are the only ones.
    assert.equal((head.match(/^X-Spam-Flag:/gm) ?? []).length, 1);
    assert.match(head, /^X-Spam-Flag: NO$/m);
    assert.doesNotMatch(head, /X-Spam-Score: 99/);
  });

  test('refuses every relaying trick with 5.7.1', async () => {
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    assert.equal((await c.command('MAIL FROM:<a@origin.test>')).code, 250);
    const tricks = [
      'user@evil.test',
      '@example.com:user@evil.test',
      'user%evil.test@example.com',
      'user!evil.test@example.com',
      '"user@evil.test"@example.com',
      'user@[127.0.0.1]',
      'user@example.com.evil.test',
      'user@sub.example.com',
      'user@evil.test.',
    ];
    for (const t of tricks) {
      const r = await c.command(`RCPT TO:<${t}>`);
      assert.ok(r.code >= 500 && r.code < 560, `${t}: ${r.text}`);
      assert.match(r.text, /5\.7\.1|5\.1\.3/, `${t}: ${r.text}`);
    }
    assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
    c.close();
  });

  test('unknown recipient is refused at RCPT by Postfix itself', async () => {
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    await c.command('MAIL FROM:<a@origin.test>');
    const r = await c.command('RCPT TO:<nosuchuser@example.com>');
    assert.equal(r.code, 550);
    assert.match(r.text, /5\.1\.1 .*User unknown/);
    c.close();
  });

  test("Postfix's end-of-data 5xx and 4xx go back unchanged in class", async () => {
    const rej = await sendRaw(bp.port, { from: 'rejectme@origin.test', rcpts: ['user@example.com'], data: 'Subject: x\r\n\r\nhi' });
    assert.equal(rej.end?.code, 554);
    assert.match(rej.end?.text ?? '', /5\.7\.1/);
    const def = await sendRaw(bp.port, { from: 'deferme@origin.test', rcpts: ['user@example.com'], data: 'Subject: x\r\n\r\nhi' });
    assert.equal(def.end?.code, 451);
    assert.match(def.end?.text ?? '', /4\.7\.1/);
  });

  test('TLS with swaks --tls is not offered without a certificate', async () => {
    const r = await swaks(['--server', `127.0.0.1:${bp.port}`, '--to', 'user@example.com', '--from', 'a@origin.test', '--tls']);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /STARTTLS/);
  });
});
