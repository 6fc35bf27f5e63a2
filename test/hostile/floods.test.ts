import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { assertMemoryBack, assertOnlyWholeMessages, assertServes, countReplies, liveMemoryMb, openData, repeat, waitForMessage, wholeMessage, writeAll } from './harness.js';

const USERS = ['user', ...Array.from({ length: 99 }, (_, i) => `u${i + 1}`)];

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Write with back-pressure on a plain socket. */
async function send(s: net.Socket, chunks: Iterable<string | Buffer>): Promise<void> {
  for (const c of chunks) {
    if (s.destroyed) return;
    if (!s.write(c)) await new Promise((r) => s.once('drain', r));
  }
}

describe('floods: pipelined commands, recipients, huge headers and lines', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let baseline: number;
  // A listener added per message (e.g. on a pooled relay connection) is a slow leak; Node
  // reports it as a warning once a socket holds more than ten.
  const leaks: string[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'MaxListenersExceededWarning') leaks.push(w.message);
  };

  before(async () => {
    process.on('warning', onWarning);
    pf = await startPostfix({ users: USERS });
    bp = await startBorderpatrol({ relayPort: pf.port });
    await assertServes(bp.port, pf, 'warm-up');
    baseline = await liveMemoryMb();
  });

  after(async () => {
    process.off('warning', onWarning);
    await bp?.stop();
    await pf?.stop();
  });

  test('20,000 pipelined NOOPs: 100 answered 250, then 421 4.7.0 and the connection is closed', async () => {
    const s = await connect(bp.port);
    const greeting = await countReplies(s, 1, 5000);
    assert.equal(greeting.counts.get(220), 1);
    const replies = countReplies(s, 20_001, 20_000);
    await send(s, ['EHLO client.origin.test\r\n', 'NOOP\r\n'.repeat(20_000)]);
    const r = await replies;
    assert.equal(r.counts.get(250), 101, `replies ${JSON.stringify([...r.counts])}`);
    assert.equal(r.counts.get(421), 1);
    assert.deepEqual(r.order, [250, 421]);
    assert.ok(r.closed || s.destroyed || (await new Promise((res) => s.once('close', () => res(true)))));
    s.destroy();
    await assertServes(bp.port, pf, 'after-noop-flood');
  });

  test('pipelined unknown commands: 500 5.5.1 nine times, then 421 and closed', async () => {
    const s = await connect(bp.port);
    await countReplies(s, 1, 5000);
    const replies = countReplies(s, 11, 10_000);
    await send(s, ['EHLO client.origin.test\r\n', 'XYZZY plugh\r\n'.repeat(5000)]);
    const r = await replies;
    assert.deepEqual(r.order, [250, 500, 421]);
    assert.equal(r.counts.get(500), 9);
    s.destroy();
  });

  test('1,000 pipelined MAIL/RCPT/RSET rounds are all answered in order while another client is served', async () => {
    const s = await connect(bp.port);
    await countReplies(s, 1, 5000);
    const rounds = 1000;
    const replies = countReplies(s, 1 + rounds * 3, 60_000);
    const flood = send(s, ['EHLO client.origin.test\r\n', ...repeat('MAIL FROM:<a@origin.test>\r\nRCPT TO:<user@example.com>\r\nRSET\r\n', rounds)]);
    await assertServes(bp.port, pf, 'during-pipelined-rounds');
    await flood;
    const r = await replies;
    assert.equal(r.counts.get(250), 1 + rounds * 3, JSON.stringify([...r.counts]));
    s.destroy();
    await assertServes(bp.port, pf, 'after-command-floods');
    await assertMemoryBack(baseline, 'after the command floods');
  });

  test('100,000 recipients: the first 100 are taken, every other one gets 452 4.5.3, quickly; the message reaches each of the 100 once', async () => {
    const s = await connect(bp.port);
    await countReplies(s, 1, 5000);
    const opening = countReplies(s, 2, 5000);
    await send(s, ['EHLO client.origin.test\r\nMAIL FROM:<sender@origin.test>\r\n']);
    assert.deepEqual((await opening).order, [250]);
    const started = Date.now();
    const total = 100_000;
    const replies = countReplies(s, total, 90_000);
    const rcpt = (i: number) => `RCPT TO:<${i < USERS.length ? USERS[i] : `nobody${i}`}@example.com>\r\n`;
    await send(s, (function* () {
      for (let i = 0; i < total; i += 1000) yield Array.from({ length: Math.min(1000, total - i) }, (_, j) => rcpt(i + j)).join('');
    })());
    const r = await replies;
    const took = Date.now() - started;
    assert.equal(r.counts.get(250), 100, JSON.stringify([...r.counts]));
    assert.equal(r.counts.get(452), total - 100);
    assert.deepEqual(r.order, [250, 452]);
    assert.ok(took < 60_000, `100k recipients took ${took} ms`);
    const data = countReplies(s, 2, 30_000);
    await send(s, ['DATA\r\n', wholeMessage('many-rcpts') + '.\r\n']);
    const d = await data;
    assert.deepEqual(d.order, [354, 250]);
    s.destroy();
    for (const u of USERS) assert.equal(await waitForMessage(pf, u, 'many-rcpts'), 1, `mailbox ${u}`);
    // The 100 recipients were verified one after another on a pooled connection to Postfix.
    assert.deepEqual(leaks, []);
    await assertMemoryBack(baseline, 'after 100k recipients');
  });

  test('a 10 MB header block of many fields: 552 5.3.4, nothing relayed', async () => {
    const c = await openData(bp.port);
    const serving = assertServes(bp.port, pf, 'during-header-flood');
    await writeAll(c, [`Message-ID: <hdr-many@origin.test>\r\n`, ...repeat(`X-Filler: ${'h'.repeat(100)}\r\n`, 100_000), '\r\nbody\r\nEND-OF-MESSAGE hdr-many\r\n.\r\n']);
    const r = await c.reply(30_000);
    assert.equal(r.code, 552);
    assert.match(r.text, /5\.3\.4 .*header/);
    c.close();
    await serving;
  });

  test('one header field folded over 10 MB: 552 5.3.4, nothing relayed', async () => {
    const c = await openData(bp.port);
    await writeAll(c, [`Message-ID: <hdr-folded@origin.test>\r\nX-Long: start\r\n`, ...repeat(`\t${'f'.repeat(200)}\r\n`, 50_000), '\r\nbody\r\nEND-OF-MESSAGE hdr-folded\r\n.\r\n']);
    const r = await c.reply(30_000);
    assert.equal(r.code, 552);
    assert.match(r.text, /5\.3\.4 .*header/);
    c.close();
    await assertMemoryBack(baseline, 'after 10 MB header blocks');
  });

  test('a 1 MB line in the message: 552 5.3.4; a 1 MB command line: 421 4.4.2 and closed', async () => {
    const c = await openData(bp.port);
    await writeAll(c, ['Message-ID: <long-line@origin.test>\r\n\r\n', ...repeat('L'.repeat(64 * 1024), 16), '\r\nEND-OF-MESSAGE long-line\r\n.\r\n']);
    const r = await c.reply(30_000);
    assert.equal(r.code, 552);
    assert.match(r.text, /5\.3\.4 .*line/);
    c.close();

    const k = await RawSmtp.connect(bp.port);
    await k.hello();
    await writeAll(k, ['MAIL FROM:<', ...repeat('a'.repeat(64 * 1024), 16), '@origin.test>\r\n']);
    const long = await k.reply(10_000);
    assert.equal(long.code, 421);
    assert.match(long.text, /4\.4\.2 /);
    assert.ok(await k.waitClosed());
    await assertServes(bp.port, pf, 'after-long-lines');
    await assertMemoryBack(baseline, 'after 1 MB lines');
    const ids = await assertOnlyWholeMessages(pf);
    assert.ok(!ids.some((id) => id.startsWith('hdr-') || id === 'long-line'), 'no refused message was relayed');
  });
});
