import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkRecipient, canonicalSender, addressEncodingProblem } from '../../src/mail/address.js';
import { parseMessage } from '../../src/mail/parse.js';
import { policySchema } from '../../src/policy/schema.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { freePort } from '../helpers/ports.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { Scanner, testPolicy } from '../checks/helpers.js';

/**
 * Property tests with random input, bounded in runs and in time so they fit in CI: the
 * address checks, the live SMTP command path, and the message parser with the whole
 * scoring pipeline behind it.
 */

const TIME_LIMIT_MS = 15_000;
const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** Text with the characters that break parsers: controls, quotes, brackets, non-ASCII. */
const nasty = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', '@', '%', '!', '"', '\\', '<', '>', '[', ']', ':', ' ', '\t', '\0', '\x7f', 'é', '\u{1F600}', '\uFFFD', '=', '?', '+') , maxLength: 40 });
const anyText = fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 60 }));

describe('fuzz: addresses, the SMTP command path, parsing and scoring', () => {
  test('checkRecipient never throws, and what it accepts is normalised, plain and stable', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.tuple(anyText, anyText).map(([l, d]) => `${l}@${d}`)), (address) => {
        const r = checkRecipient(address);
        if (!r.ok) return;
        assert.equal(r.address, `${r.local}@${r.domain}`);
        assert.match(r.domain, /^[a-z0-9.-]+$/);
        assert.doesNotMatch(r.local, /[%!@"\\\s]/);
        assert.deepEqual(checkRecipient(r.address), r);
      }),
      { numRuns: 3000, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
  });

  test('canonicalSender never throws and is idempotent; addressEncodingProblem flags every non-ASCII address without SMTPUTF8', () => {
    fc.assert(
      fc.property(anyText, anyText, fc.boolean(), (l, d, utf8) => {
        const a = `${l}@${d}`;
        const once = canonicalSender(a);
        assert.equal(canonicalSender(once), once);
        const problem = addressEncodingProblem(a, utf8);
        if (a.includes('\uFFFD')) assert.equal(problem, 'not_utf8');
        else if (!utf8 && /[^\x00-\x7f]/.test(a)) assert.equal(problem, 'needs_smtputf8');
        else assert.equal(problem, null);
      }),
      { numRuns: 3000, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
  });

  describe('the live command path', () => {
    let bp: TestServer;
    before(async () => {
      // Nothing listens on the relay port: recipients are checked against a list, and no
      // message gets as far as DATA.
      bp = await startBorderpatrol({ relayPort: await freePort(), set: { 'recipient_verification.mode': 'none', 'smtp.greet_delay': '0' } });
    });
    after(async () => {
      await bp?.stop();
    });

    const verbs = fc.constantFrom('HELO', 'EHLO', 'MAIL FROM:', 'RCPT TO:', 'RSET', 'NOOP', 'VRFY', 'HELP', 'XFORWARD', 'XCLIENT', 'AUTH', 'BDAT', 'ETRN', 'mail from:', 'Rcpt To:', 'MAIL', 'X');
    const args = fc.oneof(
      anyText,
      fc.tuple(anyText, anyText).map(([l, d]) => `<${l}@${d}>`),
      fc.tuple(nasty, fc.constantFrom(' SIZE=', ' BODY=8BITMIME', ' SMTPUTF8', ' SIZE=99999999999999999999', ' =', ' RET=HDRS'), nasty).map(([a, p, v]) => `<${a}@example.com>${p}${v}`),
    );
    /** The line as bytes, UTF-8 or one byte per character, with no line end inside. */
    const line = fc.tuple(verbs, args, fc.boolean()).map(([v, a, utf8]) => {
      const bytes = Buffer.from(`${v}${a}`, utf8 ? 'utf8' : 'latin1');
      for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a || bytes[i] === 0x0d) bytes[i] = 0x20;
      return bytes;
    });

    test('every random command line gets exactly one reply with a 2xx-5xx code, and the server keeps serving', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 15 }), async (lines) => {
          const c = await RawSmtp.connect(bp.port);
          try {
            assert.equal((await c.reply(5000)).code, 220);
            for (const l of lines) {
              c.write(Buffer.concat([l, Buffer.from('\r\n')]));
              const r = await c.reply(5000);
              assert.ok(r.code >= 200 && r.code < 600, `${JSON.stringify(l)} → ${r.code}`);
              if (r.code === 421) return;
            }
            // Nothing is left over: one reply per line, and the session still answers.
            const noop = await c.command('NOOP', 5000);
            assert.equal(noop.code, 250);
          } finally {
            c.close();
          }
        }),
        { numRuns: 150, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
      const probe = await RawSmtp.connect(bp.port);
      await probe.hello();
      assert.equal((await probe.command('MAIL FROM:<a@origin.test>')).code, 250);
      probe.close();
    });
  });

  describe('parseMessage and the scoring pipeline', () => {
    const limits = policySchema.parse({}).limits;
    let scanner: Scanner;
    before(async () => {
      scanner = new Scanner(await testPolicy());
    });

    const headerName = fc.oneof(fc.constantFrom('From', 'To', 'Subject', 'Date', 'Message-ID', 'Content-Type', 'Content-Transfer-Encoding', 'Content-Disposition', 'Received', 'Reply-To', 'MIME-Version'), fc.stringMatching(/^[A-Za-z-]{1,20}$/));
    const headerValue = fc.oneof(
      anyText,
      fc.constantFrom('multipart/mixed; boundary="b"', 'multipart/alternative; boundary=b', 'text/html; charset=koi8-r', 'text/plain; charset="x-unknown"', 'base64', 'quoted-printable', 'attachment; filename="a.exe"', '=?utf-8?B?w6k=?=', '=?iso-8859-1?Q?caf=E9?=', '=?bogus?X?zz?=', '<a@b>'),
    );
    const body = fc.oneof(
      anyText,
      fc.constantFrom('--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n', '--b\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64===\r\n', '=E9=\r\n=ZZ\r\n', '<html><body><a href="http://x">y</a><script>', '--b\r\n--b\r\n--b--\r\n--b--'),
      fc.array(fc.constantFrom('--b\r\n', 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n', 'text\r\n', '\r\n', 'Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n'), { maxLength: 60 }).map((a) => a.join('')),
    );
    const message = fc.oneof(
      fc.tuple(fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 }), body).map(([h, b]) => latin1(h.map(([n, v]) => `${n}: ${v}`).join('\r\n') + '\r\n\r\n' + b)),
      fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a)),
    );

    test('parseMessage never throws, stays within its time budget and reports a consistent result', async () => {
      await fc.assert(
        fc.asyncProperty(message, async (raw) => {
          const started = performance.now();
          const m = await parseMessage(raw, limits);
          assert.ok(performance.now() - started < limits.max_parse_ms + 500);
          assert.equal(m.truncated, m.truncatedReason !== null);
          assert.ok(Array.isArray(m.headers) && Array.isArray(m.parts) && Array.isArray(m.urls));
          assert.ok(m.urls.length <= limits.max_urls);
          assert.equal(typeof m.visibleText(), 'string');
        }),
        { numRuns: 400, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
    });

    test('every message gets a verdict with a finite score from the whole pipeline', async () => {
      await fc.assert(
        fc.asyncProperty(message, async (raw) => {
          const { verdict } = await scanner.scan(raw);
          assert.ok(Number.isFinite(verdict.score));
          assert.ok(['accept', 'add_header', 'rewrite_subject', 'greylist', 'soft_reject', 'reject', 'tempfail'].includes(verdict.action), verdict.action);
          if (verdict.reply) assert.ok(verdict.reply.code >= 400 && verdict.reply.code < 600);
        }),
        { numRuns: 200, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
    });
  });
});
