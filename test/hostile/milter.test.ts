import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawMilter, describeReply } from '../helpers/milter-client.js';
import { Cmd, Reply, Action, Step } from '../../src/milter/protocol.js';

/** A negotiated milter connection with a client at ip, HELO done. */
async function negotiatedSession(port: number, ip: string): Promise<RawMilter> {
  const m = await RawMilter.connect(port);
  await m.negotiate();
  m.macros(Cmd.CONNECT, { j: 'postfix.test', '{daemon_name}': 'smtpd' });
  m.connectEvent(`[${ip}]`, ip);
  assert.equal(describeReply(await m.reply()), 'c');
  m.send(Cmd.HELO, 'origin.example\0');
  assert.equal(describeReply(await m.reply()), 'c');
  return m;
}

/**
 * The milter door spoken to byte by byte, as Postfix does and as a hostile peer would:
 * what it negotiates, who may connect, the bounds on packets, time and message size, a
 * client that logged in, and several transactions on one connection.
 */
describe('milter door: protocol and hostile input', () => {
  let bp: TestServer;

  before(async () => {
    bp = await startBorderpatrol({
      relayPort: 9,
      files: { 'checks/greylist.yaml': 'enabled: true\ndelay: 60\nretry_window: 3600\n' },
      set: {
        mode: 'milter',
        'milter.peers': '127.0.0.1',
        'smtp.trusted_networks': '127.0.0.1',
        'limits.max_message_size': '20000',
        'limits.idle_timeout': '1',
      },
    });
  });

  after(async () => {
    await bp?.stop();
  });

  const session = (ip: string) => negotiatedSession(bp.port, ip);

  test('OPTNEG: version 6, header edits only, and the steps we skip, within what the MTA offers', async () => {
    const m = await RawMilter.connect(bp.port);
    try {
      const r = await m.negotiate();
      assert.equal(r.version, 6);
      assert.equal(r.actions, Action.ADDHDRS | Action.CHGHDRS);
      assert.equal(r.steps, Step.NODATA | Step.NOUNKNOWN | Step.NR_HDR | Step.HDR_LEADSPC);
    } finally {
      m.close();
    }
    // An MTA that speaks version 2 and offers only the v2 steps gets an answer within them.
    const old = await RawMilter.connect(bp.port);
    try {
      const d = Buffer.alloc(12);
      d.writeUInt32BE(2, 0);
      d.writeUInt32BE(0x3f, 4);
      d.writeUInt32BE(0x7f, 8);
      old.send(Cmd.OPTNEG, d);
      const r = await old.reply();
      assert.equal(r?.data.readUInt32BE(0), 2);
      assert.equal((r?.data.readUInt32BE(8) ?? -1) & ~0x7f, 0);
    } finally {
      old.close();
    }
  });

  test('/healthz: the milter listener alone decides (there is no relay to probe)', async () => {
    const res = await fetch(`http://127.0.0.1:${bp.adminPort}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', listening: true, relay: null });
  });

  test('a host outside milter.peers is disconnected without a word', async () => {
    const m = await RawMilter.connect(bp.port, '127.0.0.9');
    await m.closedWithin(2000);
    assert.equal(await m.reply(), null);
  });

  test('an oversize packet length closes the connection before its data is read', async () => {
    const m = await RawMilter.connect(bp.port);
    await m.negotiate();
    const head = Buffer.alloc(5);
    head.writeUInt32BE(64 * 1024 * 1024, 0);
    head[4] = Cmd.BODY;
    m.write(head);
    await m.closedWithin(2000);
  });

  test('a 100 KB header field (one HEADER packet, over a body chunk) is taken: the bound is limits.max_header_size', async () => {
    const m = await session('127.0.0.1');
    try {
      m.send(Cmd.MAIL, '<big-header@origin.test>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.HEADER, 'X-Long\0 ', 'x'.repeat(100_000), '\0');
      m.send(Cmd.EOH);
      assert.equal(describeReply(await m.reply()), 'c');
      assert.equal(m.closed, false);
    } finally {
      m.close();
    }
  });

  test('a packet that never completes is cut off after limits.idle_timeout', async () => {
    const m = await RawMilter.connect(bp.port);
    await m.negotiate();
    // Half a HELO packet, then one byte now and then: each byte alone must not keep it open.
    const half = RawMilter.packet(Cmd.HELO, 'slow.example\0');
    m.write(half.subarray(0, 6));
    const start = Date.now();
    const trickle = setInterval(() => !m.closed && m.write(half.subarray(6, 7)), 300);
    try {
      const took = await m.closedWithin(5000);
      assert.ok(took >= 800, `closed after ${took} ms, before the 1 s limit`);
      assert.ok(Date.now() - start < 3000);
    } finally {
      clearInterval(trickle);
    }
  });

  test('a message past limits.max_message_size gets 552 5.3.4 at the chunk that passes it', async () => {
    const m = await session('192.0.2.20');
    try {
      m.macros(Cmd.MAIL, { '{auth_authen}': 'big' });
      m.send(Cmd.MAIL, '<big@origin.test>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.RCPT, '<user@example.com>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.HEADER, 'Subject\0 big\0');
      m.send(Cmd.EOH);
      assert.equal(describeReply(await m.reply()), 'c');
      const chunk = Buffer.alloc(8000, 0x61);
      const replies: string[] = [];
      for (let i = 0; i < 5; i++) {
        m.send(Cmd.BODY, chunk);
        const r = describeReply(await m.reply());
        replies.push(r);
        if (r !== 'c') break;
      }
      assert.deepEqual(replies, ['c', 'c', 'y 552 5.3.4 Message size exceeds fixed limit of 20000 bytes']);
    } finally {
      m.close();
    }
  });

  test('{auth_authen}: a client that logged in to Postfix is trusted (no greylisting at RCPT)', async () => {
    const stranger = await session('192.0.2.30');
    try {
      stranger.send(Cmd.MAIL, '<a@origin.test>\0');
      assert.equal(describeReply(await stranger.reply()), 'c');
      stranger.send(Cmd.RCPT, '<user@example.com>\0');
      assert.match(describeReply(await stranger.reply()), /^y 451 4\.7\.1 Greylisted/);
    } finally {
      stranger.close();
    }
    const member = await session('192.0.2.30');
    try {
      member.macros(Cmd.MAIL, { i: 'AB12', '{auth_type}': 'PLAIN', '{auth_authen}': 'alice' });
      member.send(Cmd.MAIL, '<alice@origin.test>\0');
      assert.equal(describeReply(await member.reply()), 'c');
      member.send(Cmd.RCPT, '<user@example.com>\0');
      assert.equal(describeReply(await member.reply()), 'c');
    } finally {
      member.close();
    }
  });

  test('QUIT_NC: the next SMTP client on the same socket gets a Session of its own', async () => {
    const m = await session('192.0.2.70');
    try {
      m.macros(Cmd.MAIL, { '{auth_authen}': 'first' });
      m.send(Cmd.MAIL, '<nc-one@origin.test>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.RCPT, '<user@example.com>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.QUIT_NC);
      // A new client: not logged in, so greylisting applies to it again.
      m.connectEvent('[192.0.2.71]', '192.0.2.71');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.HELO, 'other.example\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.MAIL, '<nc-two@origin.test>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.RCPT, '<user@example.com>\0');
      assert.match(describeReply(await m.reply()), /^y 451 4\.7\.1 Greylisted/);
    } finally {
      m.close();
    }
    // Each transaction's line is written when it ends (here: when the connection closes).
    let entries: Array<{ from: string; ip: string; helo: string }> = [];
    for (let i = 0; i < 50 && !entries.some((e) => e.from === 'nc-two@origin.test'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      entries = (await bp.store.historyRead(50)).map((l) => JSON.parse(l) as { from: string; ip: string; helo: string });
    }
    const two = entries.find((e) => e.from === 'nc-two@origin.test');
    assert.equal(two?.ip, '192.0.2.71');
    assert.equal(two?.helo, 'other.example');
    assert.equal(entries.find((e) => e.from === 'nc-one@origin.test')?.ip, '192.0.2.70');
  });

  test('two transactions on one connection; inbound X-Spam-* and a forged Authentication-Results deleted, ours inserted, then accept', async () => {
    const m = await session('127.0.0.1');
    try {
      // The first is abandoned after MAIL (RSET): ABORT, no reply.
      m.send(Cmd.MAIL, '<first@origin.test>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.ABORT);
      m.send(Cmd.MAIL, '<second@origin.test>\0', 'BODY=8BITMIME\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.RCPT, '<user@example.com>\0');
      assert.equal(describeReply(await m.reply()), 'c');
      const fields = [
        ['Subject', ' two'],
        ['X-Spam-Flag', ' NO'],
        ['Authentication-Results', ' other.example; dkim=pass'],
        ['Message-Id', ' <two@origin.test>'],
        // In our name (our host name is the authserv-id): a forgery.
        ['Authentication-Results', ' mx.borderpatrol.test; spf=pass smtp.mailfrom=second@origin.test'],
        ['X-Spam-Flag', ' NO'],
      ];
      for (const [name, value] of fields) m.send(Cmd.HEADER, `${name}\0${value}\0`);
      m.send(Cmd.EOH);
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.BODY, 'hello\r\n');
      assert.equal(describeReply(await m.reply()), 'c');
      m.macros(Cmd.BODYEOB, { i: 'QID42' });
      m.send(Cmd.BODYEOB);
      const replies: string[] = [];
      for (;;) {
        const r = await m.reply();
        replies.push(describeReply(r).replace(/\0/g, '|'));
        if (!r || [Reply.ACCEPT, Reply.CONTINUE, Reply.REPLYCODE, Reply.DISCARD].includes(r.command as never)) break;
      }
      // CHGHEADER with an empty value deletes that instance of the name, last first
      // (describeReply drops the final NUL); the other host's Authentication-Results stays.
      assert.deepEqual(replies.slice(0, 3), ['m |||\u0002X-Spam-Flag|', 'm |||\u0002Authentication-Results|', 'm |||\u0001X-Spam-Flag|']);
      assert.equal(replies.filter((r) => r.startsWith('m ')).length, 3);
      // Ours go in below Postfix's Received (INSHEADER from position 1), in order.
      const inserted = replies.filter((r) => r.startsWith('i '));
      assert.equal(inserted[0], 'i |||\u0001X-Spam-Flag| NO');
      assert.ok(inserted.some((r) => /^i \|\|\|.X-Spam-Status\| No, score=0\.00/.test(r)), replies.join('\n'));
      assert.ok(!replies.some((r) => /Received/.test(r)), 'Postfix writes the Received field of this hop');
      assert.equal(replies.at(-1), 'a');
      m.send(Cmd.QUIT);
      await m.closedWithin(2000);
    } finally {
      m.close();
    }
    const entries = (await bp.store.historyRead(50)).map((l) => JSON.parse(l) as { from: string; origQueueId?: string; action: string });
    const second = entries.find((e) => e.from === 'second@origin.test');
    assert.equal(second?.action, 'accept');
    // Postfix's queue id (macro i), as in the other modes behind Postfix.
    assert.equal(second?.origQueueId, 'QID42');
  });
});

describe('milter door: a client that logged in is judged from the connect phase on as our own', () => {
  let bp: TestServer;

  before(async () => {
    bp = await startBorderpatrol({
      relayPort: 9,
      // One connection per address an hour: the second one from a stranger is refused.
      files: { 'checks/ratelimit.yaml': 'rules:\n  - name: conn\n    key: ip\n    count: connections\n    rate: 1\n    window: 3600\n' },
      set: { mode: 'milter', 'smtp.trusted_networks': '127.0.0.1' },
    });
  });

  after(async () => {
    await bp?.stop();
  });

  /** One milter connection for a client at ip up to MAIL; the answer to MAIL. */
  async function mail(ip: string, auth: Record<string, string>): Promise<string> {
    const m = await RawMilter.connect(bp.port);
    try {
      await m.negotiate();
      m.connectEvent(`[${ip}]`, ip);
      assert.equal(describeReply(await m.reply()), 'c');
      m.send(Cmd.HELO, 'laptop.example\0');
      assert.equal(describeReply(await m.reply()), 'c');
      m.macros(Cmd.MAIL, auth);
      m.send(Cmd.MAIL, '<someone@example.com>\0');
      return describeReply(await m.reply());
    } finally {
      m.close();
    }
  }

  test('connection rate limits count strangers, not a client that logged in (its connect phase waits for MAIL)', async () => {
    assert.equal(await mail('192.0.2.60', {}), 'c');
    assert.match(await mail('192.0.2.60', {}), /^y 421 4\.7\.0 Rate limit exceeded \(conn\)/);
    const alice = { '{auth_type}': 'PLAIN', '{auth_authen}': 'alice' };
    assert.equal(await mail('192.0.2.61', alice), 'c');
    assert.equal(await mail('192.0.2.61', alice), 'c');
  });
});

describe('milter door: message bytes come out of the process budget (limits.max_message_memory)', () => {
  let bp: TestServer;
  const BUDGET = 50_000;

  before(async () => {
    bp = await startBorderpatrol({
      relayPort: 9,
      set: { mode: 'milter', 'milter.peers': '127.0.0.1', 'limits.max_message_memory': String(BUDGET), 'limits.max_message_size': '1000000' },
    });
  });

  after(async () => {
    await bp?.stop();
  });

  /** A logged-in client's transaction up to its first body chunk of `bodyBytes`; returns our answer to that chunk. */
  async function holdMessage(m: RawMilter, name: string, bodyBytes: number): Promise<string> {
    m.macros(Cmd.MAIL, { '{auth_authen}': name });
    m.send(Cmd.MAIL, `<${name}@origin.test>\0`);
    assert.equal(describeReply(await m.reply()), 'c');
    m.send(Cmd.RCPT, '<user@example.com>\0');
    assert.equal(describeReply(await m.reply()), 'c');
    m.send(Cmd.HEADER, `Subject\0 ${name}\0`);
    m.send(Cmd.EOH);
    assert.equal(describeReply(await m.reply()), 'c');
    m.send(Cmd.BODY, Buffer.alloc(bodyBytes, 0x61));
    return describeReply(await m.reply());
  }

  async function finalAnswer(m: RawMilter): Promise<string> {
    m.send(Cmd.BODYEOB);
    for (let i = 0; i < 20; i++) {
      const r = await m.reply();
      if (!r || [Reply.ACCEPT, Reply.CONTINUE, Reply.REPLYCODE, Reply.DISCARD].includes(r.command as never)) return describeReply(r);
    }
    return 'no final answer';
  }

  test('a second large message while the first is held gets 452 4.3.1; the bytes come back when the first is answered', async () => {
    const first = await negotiatedSession(bp.port, '192.0.2.40');
    const second = await negotiatedSession(bp.port, '192.0.2.41');
    try {
      assert.equal(await holdMessage(first, 'first', 30_000), 'c');
      assert.ok(bp.door.memory.available < BUDGET - 30_000, `the first message is counted (${bp.door.memory.available} left)`);
      assert.equal(await holdMessage(second, 'second', 30_000), 'y 452 4.3.1 Insufficient system storage, try again later');
      assert.equal(await finalAnswer(first), 'a');
      assert.equal(bp.door.memory.available, BUDGET, 'every byte went back to the budget');
      // The refused client tries again on the same connection: now there is room.
      second.send(Cmd.BODYEOB);
      await second.reply();
      second.send(Cmd.ABORT);
      assert.equal(await holdMessage(second, 'again', 30_000), 'c');
      assert.equal(await finalAnswer(second), 'a');
      assert.equal(bp.door.memory.available, BUDGET);
    } finally {
      first.close();
      second.close();
    }
  });
});
