import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { assertMemoryBack, assertOnlyWholeMessages, assertServes, liveMemoryMb, openData, wholeMessage } from './harness.js';

/** Send `text` one byte per `everyMs` until done or the server hangs up; returns the server's words. */
async function trickle(c: RawSmtp, text: string, everyMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (const ch of text) {
    if (c.closed || Date.now() > deadline) return;
    c.write(ch);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function connectFrom(port: number, localAddress: string): Promise<RawSmtp> {
  return RawSmtp.connect(port, '127.0.0.1', localAddress);
}

describe('slow and greedy clients', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let baseline: number;

  before(async () => {
    pf = await startPostfix();
    bp = await startBorderpatrol({
      relayPort: pf.port,
      set: {
        // Short, so a byte a second is caught in seconds.
        'limits.idle_timeout': '2',
        'limits.max_clients': '30',
        'limits.max_connections_per_ip': '5',
        // Loopback is normally trusted (exempt from the per-IP cap); not here.
        'smtp.trusted_networks': '',
      },
    });
    await assertServes(bp.port, pf, 'warm-up');
    baseline = await liveMemoryMb();
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('slowloris on a command line (one byte a second): 421 4.4.2 once idle_timeout has passed, others are served meanwhile', async () => {
    const c = await connectFrom(bp.port, '127.0.0.2');
    await c.hello();
    const started = Date.now();
    const dripping = trickle(c, 'MAIL FROM:<slow@origin.test>\r\n', 1000, 20_000);
    await assertServes(bp.port, pf, 'during-slowloris');
    const r = await c.reply(15_000);
    assert.equal(r.code, 421);
    assert.match(r.text, /4\.4\.2 /);
    assert.ok(await c.waitClosed(3000), 'connection closed');
    const took = Date.now() - started;
    assert.ok(took >= 2000 && took < 6000, `cut after ${took} ms`);
    await dripping;
    await assertServes(bp.port, pf, 'after-slowloris');
  });

  test('slowloris inside DATA: 421 4.4.2 when the message falls behind min_data_rate, nothing reaches Postfix', async () => {
    const c = await openData(bp.port);
    const id = 'slow-data';
    c.write(`Subject: ${id}\r\nMessage-ID: <${id}@origin.test>\r\n\r\n`);
    const dripping = trickle(c, 'x'.repeat(100) + '\r\n.\r\n', 1000, 20_000);
    const r = await c.reply(15_000);
    assert.equal(r.code, 421);
    assert.match(r.text, /4\.4\.2 /);
    await dripping;
    const msgs = await pf.messages('user');
    assert.ok(!msgs.some((m) => m.includes(`<${id}@origin.test>`)), 'nothing of the slow message was delivered');
  });

  test('a fast start buys no credit: 100 KB at once, then a byte every half second, gets 421 4.4.2 within idle_timeout', async () => {
    const c = await openData(bp.port);
    const id = 'burst-then-drip';
    // 100 KB is 200 s at min_data_rate (500 B/s): averaged over DATA, it would carry a trickle for minutes.
    c.write(`Subject: ${id}\r\nMessage-ID: <${id}@origin.test>\r\n\r\n` + ('y'.repeat(998) + '\r\n').repeat(100));
    const started = Date.now();
    const dripping = trickle(c, 'x'.repeat(60) + '\r\n.\r\n', 500, 15_000);
    const r = await c.reply(15_000);
    const took = Date.now() - started;
    assert.equal(r.code, 421, r.text);
    assert.match(r.text, /4\.4\.2 /);
    assert.ok(took < 5000, `the trickle after the burst lasted ${took} ms`);
    await dripping;
    const msgs = await pf.messages('user');
    assert.ok(!msgs.some((m) => m.includes(`<${id}@origin.test>`)), 'nothing of the slow message was delivered');
  });

  test('twenty error replies in one connection: 421 4.7.0 and the connection is closed (smtpd_hard_error_limit)', async () => {
    const c = await connectFrom(bp.port, '127.0.0.3');
    await c.hello();
    const codes: number[] = [];
    for (let i = 0; i < 25 && !c.closed; i++) {
      c.write(`RCPT TO:<guess${i}@example.com>\r\n`);
      const r = await c.reply().catch(() => null);
      if (!r) break;
      codes.push(r.code);
      if (r.code === 421) {
        assert.match(r.text, /4\.7\.0 /);
        break;
      }
    }
    assert.deepEqual(codes, [...Array(20).fill(503), 421], codes.join(' '));
    assert.ok(await c.waitClosed(3000), 'connection closed');
  });

  test('twenty slow clients at once are all cut, and a normal client is served during and after', async () => {
    const slow = await Promise.all(Array.from({ length: 20 }, (_, i) => connectFrom(bp.port, `127.0.1.${i + 1}`)));
    await Promise.all(slow.map((c) => c.hello()));
    const drips = slow.map((c) => trickle(c, 'EHLO ' + 'a'.repeat(40) + '\r\n', 1000, 20_000));
    await assertServes(bp.port, pf, 'during-many-slow');
    const replies = await Promise.all(slow.map((c) => c.reply(15_000)));
    assert.deepEqual(new Set(replies.map((r) => r.code)), new Set([421]));
    await Promise.all(drips);
    await assertServes(bp.port, pf, 'after-many-slow');
    await assertMemoryBack(baseline, 'after slow clients');
  });

  test('DATA left unterminated, then the client disconnects: nothing reaches Postfix', async () => {
    const before = (await pf.messages('user')).length;
    for (let i = 0; i < 5; i++) {
      const c = await openData(bp.port);
      const whole = wholeMessage(`cut-${i}`, 'y'.repeat(50_000));
      c.write(whole.slice(0, whole.length - 30));
      await new Promise((r) => setTimeout(r, 50));
      c.close();
    }
    await assertServes(bp.port, pf, 'after-unterminated');
    // The only new message is the normal one.
    assert.equal((await pf.messages('user')).length, before + 1);
    await assertMemoryBack(baseline, 'after unterminated DATA');
  });

  test('a flood from one address past max_connections_per_ip gets 421 4.7.0, another address is served meanwhile', async () => {
    const flood: RawSmtp[] = [];
    try {
      for (let i = 0; i < 25; i++) flood.push(await connectFrom(bp.port, '127.0.2.1'));
      const replies = await Promise.all(flood.map((c) => c.reply(5000).catch(() => ({ code: 0, text: 'no reply', lines: [] }))));
      const greeted = replies.filter((r) => r.code === 220).length;
      const refused = replies.filter((r) => r.code === 421 && /4\.7\.0/.test(r.text)).length;
      assert.equal(greeted, 5);
      assert.equal(refused, 20);
      await assertServes(bp.port, pf, 'during-ip-flood');
    } finally {
      for (const c of flood) c.close();
    }
  });

  test('a flood past max_clients from many addresses: extra connections get 421 4.7.0 at once, service resumes after', async () => {
    const held: net.Socket[] = [];
    const answers: Promise<string>[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const s = net.connect({ host: '127.0.0.1', port: bp.port, localAddress: `127.0.3.${i + 1}` });
        s.on('error', () => undefined);
        held.push(s);
        answers.push(
          new Promise((resolve) => {
            let data = '';
            s.on('data', (d) => {
              data += d.toString();
              if (data.includes('\r\n')) resolve(data);
            });
            s.on('close', () => resolve(data));
            setTimeout(() => resolve(data), 5000).unref();
          }),
        );
      }
      const first = await Promise.all(answers);
      const greeted = first.filter((d) => d.startsWith('220 ')).length;
      const refused = first.filter((d) => /^421 4\.7\.0 /.test(d)).length;
      assert.equal(greeted + refused, 60, first.filter((d) => !/^(220|421)/.test(d)).join(' | '));
      assert.ok(greeted <= 30 && refused >= 30, `${greeted} greeted, ${refused} refused`);
      // While full, a newcomer is answered at once (421), not left hanging.
      const c = await connectFrom(bp.port, '127.0.4.1');
      const r = await c.reply(2000);
      assert.equal(r.code, 421);
      c.close();
    } finally {
      for (const s of held) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    await assertServes(bp.port, pf, 'after-max-clients');
    await assertMemoryBack(baseline, 'after the connection flood');
    await assertOnlyWholeMessages(pf);
  });
});
