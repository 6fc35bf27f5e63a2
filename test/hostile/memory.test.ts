import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { openData, writeAll, repeat } from './harness.js';

/**
 * One budget for message bytes held in memory by all connections (limits.max_message_memory):
 * past it new transfers get 452 4.3.1, and the budget comes back when transfers end.
 */

const BUDGET = 3 * 1024 * 1024;
const LINE = 'z'.repeat(1022) + '\r\n';

describe('the memory budget for messages', () => {
  let sink: SmtpSink;
  let bp: TestServer;

  before(async () => {
    sink = await startSmtpSink();
    bp = await startBorderpatrol({
      relayPort: sink.port,
      set: { 'limits.max_message_memory': String(BUDGET), 'recipient_verification.mode': 'none', 'smtp.greet_delay': '0' },
    });
  });

  after(async () => {
    await bp?.stop();
    await sink?.stop();
  });

  /** A complete message of about `kb` KiB on a fresh connection; the reply to its final dot. */
  async function send(kb: number, id: string): Promise<{ code: number; text: string }> {
    const c = await openData(bp.port);
    await writeAll(c, [`Subject: ${id}\r\nMessage-ID: <${id}@origin.test>\r\n\r\n`, ...repeat(LINE, kb), '.\r\n']);
    const r = await c.reply(30_000);
    c.close();
    return r;
  }

  test('MAIL with SIZE= over what is left: 452 4.3.1 before any byte is sent', async () => {
    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    const r = await c.command(`MAIL FROM:<big@origin.test> SIZE=${BUDGET + 1}`);
    c.close();
    assert.equal(r.code, 452, r.text);
    assert.match(r.text, /^452 4\.3\.1 /);
  });

  test('while one transfer holds most of the budget, another gets 452 4.3.1 (at DATA, or after its dot); both go through once it is back', async () => {
    const holder = await openData(bp.port);
    // 2.95 MiB held, the final dot not sent yet.
    await writeAll(holder, ['Subject: holder\r\nMessage-ID: <holder@origin.test>\r\n\r\n', ...repeat(LINE, 3020)]);
    await new Promise((r) => setTimeout(r, 300));

    const c = await RawSmtp.connect(bp.port);
    await c.hello();
    assert.equal((await c.command('MAIL FROM:<second@origin.test>')).code, 250);
    assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
    const data = await c.command('DATA');
    c.close();
    assert.equal(data.code, 452, data.text);
    assert.match(data.text, /^452 4\.3\.1 /);

    holder.write('.\r\n');
    const held = await holder.reply(30_000);
    holder.close();
    assert.equal(held.code, 250, held.text);

    // Two that fit together, and one that does not fit beside the other two.
    const [a, b, d] = await Promise.all([send(1200, 'fit-a'), send(1200, 'fit-b'), send(1200, 'fit-d')]);
    const codes = [a.code, b.code, d.code].sort();
    assert.deepEqual(codes, [250, 250, 452], [a, b, d].map((r) => r.text).join(' | '));
    assert.match([a, b, d].find((r) => r.code === 452)?.text ?? '', /^452 4\.3\.1 /);
    const again = await send(1200, 'after');
    assert.equal(again.code, 250, again.text);
  });
});
