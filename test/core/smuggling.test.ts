import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';

/**
 * SMTP smuggling: a message whose body holds a non-standard end-of-data marker followed by
 * a second transaction. Every variant must be refused (550 5.5.2) and no smuggled message
 * may reach Postfix — proven with raw sockets against a real Postfix downstream.
 */
const VARIANTS: Record<string, string> = {
  'LF.LF': '\n.\n',
  'LF.CRLF': '\n.\r\n',
  'CR.CR': '\r.\r',
  'CRLF.LF': '\r\n.\n',
  'CR.CRLF': '\r.\r\n',
  'CRLF.CR': '\r\n.\r',
  'LF.CR': '\n.\r',
  'CR.LF': '\r.\n',
};

describe('SMTP smuggling is impossible', () => {
  let pf: PostfixInstance;
  let bp: TestServer;

  before(async () => {
    pf = await startPostfix();
    bp = await startBorderpatrol({ relayPort: pf.port });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  for (const [name, marker] of Object.entries(VARIANTS)) {
    test(`end-of-data variant ${name} is refused and nothing is smuggled`, async () => {
      const c = await RawSmtp.connect(bp.port);
      await c.hello();
      assert.equal((await c.command('MAIL FROM:<sender@origin.test>')).code, 250);
      assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      const smuggled =
        `Subject: outer ${name}\r\n\r\nfirst part${marker}` +
        'MAIL FROM:<forged@victim.test>\r\nRCPT TO:<other@example.com>\r\nDATA\r\n' +
        `Subject: smuggled ${name}\r\n\r\nsmuggled body\r\n.\r\n`;
      c.write(smuggled);
      const r = await c.reply();
      assert.equal(r.code, 550, r.text);
      assert.match(r.text, /5\.5\.2/);
      // The server is still in sync: the next command is a command, not message data.
      assert.equal((await c.command('NOOP')).code, 250);
      c.close();
    });
  }

  test('bare LF alone in a body is refused too', async () => {
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    await c.command('MAIL FROM:<sender@origin.test>');
    await c.command('RCPT TO:<user@example.com>');
    await c.command('DATA');
    c.write('Subject: bare lf\r\n\r\nline one\nline two\r\n.\r\n');
    const r = await c.reply();
    assert.equal(r.code, 550);
    assert.match(r.text, /5\.5\.2 .*bare/i);
    c.close();
  });

  test('after all that, no smuggled or refused message reached Postfix', async () => {
    // A good message afterwards proves delivery works and gives the mailbox a known state.
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    await c.command('MAIL FROM:<sender@origin.test>');
    await c.command('RCPT TO:<user@example.com>');
    await c.command('DATA');
    c.write('Subject: clean\r\n\r\nclean body\r\n.\r\n');
    assert.equal((await c.reply()).code, 250);
    c.close();
    const msgs = await pf.waitForMessages('user', 1);
    assert.equal(msgs.length, 1, 'only the clean message was delivered');
    assert.match(msgs[0] ?? '', /Subject: clean/);
    assert.deepEqual(await pf.messages('other'), []);
    assert.doesNotMatch(await pf.log(), /forged@victim\.test/);
  });
});

describe('bare newlines with smtp.bare_newline = normalize', () => {
  let pf: PostfixInstance;
  let bp: TestServer;

  before(async () => {
    pf = await startPostfix();
    bp = await startBorderpatrol({ relayPort: pf.port, set: { 'smtp.bare_newline': 'normalize' } });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('a smuggling attempt becomes one message with CRLF line ends, never two transactions', async () => {
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    await c.command('MAIL FROM:<sender@origin.test>');
    await c.command('RCPT TO:<user@example.com>');
    await c.command('DATA');
    c.write('Subject: outer\r\n\r\nfirst\n.\nMAIL FROM:<forged@victim.test>\r\nRCPT TO:<other@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n');
    const r = await c.reply();
    assert.equal(r.code, 250, r.text);
    c.close();
    const msgs = await pf.waitForMessages('user', 1);
    assert.equal(msgs.length, 1);
    // Normalised and dot-stuffed on the way out: the lone "." line is content, not an end.
    assert.match(msgs[0] ?? '', /first\n\.\nMAIL FROM:<forged@victim\.test>/);
    assert.deepEqual(await pf.messages('other'), []);
  });
});
