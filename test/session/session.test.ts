import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sessionBench, message } from './helpers.js';
import { legalReply } from '../../src/decision/replies.js';
import type { StepResult } from '../../src/session/types.js';
import { splitMessage } from '../../src/mail/header-block.js';
import type { Session } from '../../src/session/session.js';
import type { Deliverer } from '../../src/session/types.js';
import type { TransactionContext } from '../../src/pipeline/context.js';

/**
 * The SMTP rules of a Session, without a socket: each spec is one line of the protocol
 * as the client would see it. A stranger is 192.0.2.10; greylisting is off unless a spec
 * is about it.
 */
const STRANGER = { ip: '192.0.2.10', port: 40000, rdns: '', source: 'socket' as const };
const QUIET = { 'greylist.enabled': 'false' };
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

function refused(r: StepResult): string {
  assert.equal(r.ok, false, 'expected a refusal');
  return r.ok ? '' : `${r.reply.code} ${r.reply.enhanced}`;
}

async function upToRcpt(bench: Awaited<ReturnType<typeof sessionBench>>, from = 'alice@sender.test') {
  const s = bench.open();
  assert.deepEqual(await s.connect(STRANGER), { ok: true });
  await s.helo('mail.sender.test');
  assert.deepEqual(await s.mail(from), { ok: true });
  return s;
}

describe('Session: connect', () => {
  it('a deny-listed client → 554 5.7.1 at the greeting (never 550), and the door closes', async () => {
    const bench = await sessionBench(QUIET, { 'lists/deny_ips.txt': '192.0.2.10\n' });
    const r = await bench.open().connect(STRANGER);
    assert.equal(refused(r), '554 5.7.1');
    assert.equal(!r.ok && r.close, true);
  });

  it('only 220, 554 and 421 are legal in the greeting', () => {
    assert.equal(legalReply('connect', { code: 550, enhanced: '5.7.1', text: 'no' }).code, 554);
    assert.equal(legalReply('connect', { code: 451, enhanced: '4.7.1', text: 'later' }).code, 421);
    assert.equal(legalReply('connect', { code: 421, enhanced: '4.7.0', text: 'busy' }).code, 421);
    assert.equal(legalReply('rcpt', { code: 554, enhanced: '5.7.1', text: 'Relay access denied' }).code, 554);
  });
});

describe('Session: MAIL', () => {
  it('MAIL FROM with SIZE=50000000 → 552 5.3.4', async () => {
    const bench = await sessionBench(QUIET);
    const s = bench.open();
    await s.connect(STRANGER);
    assert.equal(refused(await s.mail('alice@sender.test', { size: 50_000_000 })), '552 5.3.4');
  });

  it('MAIL FROM with a non-ASCII address and no SMTPUTF8 → 553 5.6.7; with SMTPUTF8 → 250', async () => {
    const bench = await sessionBench(QUIET);
    const s = bench.open();
    await s.connect(STRANGER);
    assert.equal(refused(await s.mail('jörg@sender.test')), '553 5.6.7');
    assert.deepEqual(await s.mail('jörg@sender.test', { smtputf8: true }), { ok: true });
  });

  it('a deny-listed sender → 550 5.7.1 at MAIL', async () => {
    const bench = await sessionBench(QUIET, { 'lists/deny_senders.txt': 'spammer@sender.test\n' });
    const s = bench.open();
    await s.connect(STRANGER);
    assert.equal(refused(await s.mail('spammer@sender.test')), '550 5.7.1');
  });
});

describe('Session: RCPT', () => {
  it('RCPT to a foreign domain → 554 5.7.1 (relay access denied)', async () => {
    const s = await upToRcpt(await sessionBench(QUIET));
    assert.equal(refused(await s.rcpt('victim@other.test')), '554 5.7.1');
  });

  it('RCPT with a routing local part (user%other@ours) → 554 5.7.1', async () => {
    const s = await upToRcpt(await sessionBench(QUIET));
    assert.equal(refused(await s.rcpt('user%victim.test@example.com')), '554 5.7.1');
  });

  it('every relaying form an MX must refuse → 554 5.7.1 (or 553 5.1.3 for a broken address)', async () => {
    const s = await upToRcpt(await sessionBench(QUIET));
    for (const t of ['user@evil.test', 'user%evil.test@example.com', 'user!evil.test@example.com', '"user@evil.test"@example.com', 'user@[127.0.0.1]', 'user@example.com.evil.test', 'user@sub.example.com', 'user@evil.test.']) {
      assert.match(refused(await s.rcpt(t)), /^(554 5\.7\.1|553 5\.1\.3)$/, t);
    }
    assert.deepEqual(await s.rcpt('user@example.com.'), { ok: true }, 'a trailing dot on our own domain is fine');
  });

  it('the same recipient twice is one recipient: counted once, delivered once', async () => {
    const bench = await sessionBench({ ...QUIET, 'limits.max_recipients': '2' });
    const s = await upToRcpt(bench);
    for (const r of ['bob@example.com', 'Bob@Example.COM', 'bob@example.com', 'carol@example.com']) assert.deepEqual(await s.rcpt(r), { ok: true }, r);
    assert.equal(refused(await s.rcpt('dave@example.com')), '452 4.5.3');
    await s.data(message({}));
    assert.deepEqual(bench.delivered[0]?.rcpts, ['bob@example.com', 'carol@example.com']);
  });

  it('RCPT to a local domain → 250', async () => {
    const s = await upToRcpt(await sessionBench(QUIET));
    assert.deepEqual(await s.rcpt('bob@example.com'), { ok: true });
  });

  it('RCPT TO:<postmaster> is postmaster of the first local domain', async () => {
    const bench = await sessionBench(QUIET);
    const s = await upToRcpt(bench);
    assert.deepEqual(await s.rcpt('postmaster'), { ok: true });
    await s.data(message({}));
    assert.deepEqual(bench.delivered[0]?.rcpts, ['postmaster@example.com']);
  });

  it('one RCPT past limits.max_recipients → 452 4.5.3', async () => {
    const s = await upToRcpt(await sessionBench({ ...QUIET, 'limits.max_recipients': '2' }));
    assert.deepEqual(await s.rcpt('a@example.com'), { ok: true });
    assert.deepEqual(await s.rcpt('b@example.com'), { ok: true });
    assert.equal(refused(await s.rcpt('c@example.com')), '452 4.5.3');
  });

  it('an unknown user with recipient_verification: list → 550 5.1.1', async () => {
    const s = await upToRcpt(await sessionBench({ ...QUIET, 'recipient_verification.mode': 'list' }, { 'lists/valid_recipients.txt': 'bob@example.com\n' }));
    assert.deepEqual(await s.rcpt('bob@example.com'), { ok: true });
    assert.equal(refused(await s.rcpt('nosuchuser@example.com')), '550 5.1.1');
  });

  it('a new triplet → 451 4.7.1 greylisted', async () => {
    const s = await upToRcpt(await sessionBench({ 'greylist.enabled': 'true' }));
    const r = await s.rcpt('bob@example.com');
    assert.equal(refused(r), '451 4.7.1');
    assert.match(r.ok ? '' : r.reply.text, /Greylisted/);
  });

  it('RCPT before MAIL → 503 5.5.1', async () => {
    const bench = await sessionBench(QUIET);
    const s = bench.open();
    await s.connect(STRANGER);
    assert.equal(refused(await s.rcpt('bob@example.com')), '503 5.5.1');
  });
});

describe('Session: DATA', () => {
  it('a clean message → relayed with our Received and X-Spam-* fields; the client gets the downstream 250', async () => {
    const bench = await sessionBench(QUIET);
    const s = await upToRcpt(bench);
    await s.rcpt('bob@example.com');
    const input = message({ 'X-Spam-Flag': 'NO (forged by the sender)' });
    const r = await s.data(input);
    assert.equal(r.accepted, true);
    assert.equal(`${r.reply.code} ${r.reply.text}`, '250 Ok: queued as 4XYZ');
    assert.equal(r.queueId, '4XYZ');
    const relayed = bench.delivered[0]?.message.toString('latin1') ?? '';
    assert.match(relayed, /^Received: from mail\.sender\.test \(unknown \[192\.0\.2\.10\]\)/);
    assert.match(relayed, /\r\nX-Spam-Flag: NO\r\n/);
    assert.doesNotMatch(relayed, /forged by the sender/, 'the inbound X-Spam-Flag is removed');
    // For a door that edits instead of relaying (milter): the forged field, by position.
    assert.deepEqual(r.headers.removeAt.map((i) => splitMessage(input).fields[i]?.name), ['X-Spam-Flag']);
  });

  it('while the relay waits for the next hop, the transaction no longer holds the parsed message', async () => {
    const bench = await sessionBench(QUIET);
    let held: unknown = 'not relayed';
    let s: Session | null = null;
    const deliverer: Deliverer = {
      deliver: async () => {
        // evidence() is the transaction's context while the transaction is open.
        held = (s?.evidence() as TransactionContext | undefined)?.message;
        return { accepted: true, reply: { code: 250, enhanced: '2.0.0', text: 'Ok: queued as 4XYZ' }, queueId: '4XYZ', refusedRcpts: [] };
      },
    };
    s = bench.open({ deliverer });
    await s.connect(STRANGER);
    await s.helo('mail.sender.test');
    await s.mail('alice@sender.test');
    await s.rcpt('bob@example.com');
    assert.equal((await s.data(message({}))).accepted, true);
    assert.equal(held, null);
  });

  it('GTUBE → 554 5.7.1 at end of data, nothing relayed', async () => {
    const bench = await sessionBench(QUIET);
    const s = await upToRcpt(bench);
    await s.rcpt('bob@example.com');
    const r = await s.data(message({}, `${GTUBE}\r\n`));
    assert.equal(r.action, 'reject');
    assert.equal(`${r.reply.code} ${r.reply.enhanced}`, '554 5.7.1');
    assert.equal(bench.delivered.length, 0);
  });

  it('without a deliverer (milter, scan) → 250 and the header edits to apply', async () => {
    const bench = await sessionBench({ ...QUIET, 'actions.rewrite_subject': '0.001', 'actions.add_header': '0.0005' }, { 'lists/allow_sender_domains.txt': '' });
    const s = bench.open({ deliverer: null });
    await s.connect(STRANGER);
    await s.helo('mail.sender.test');
    await s.mail('alice@sender.test');
    await s.rcpt('bob@example.com');
    const r = await s.data(message({}, 'Buy now!!! http://198.51.100.7/x\r\n'), { queueId: 'ABC123' });
    assert.equal(r.reply.code, 250);
    assert.equal(r.queueId, 'ABC123');
    assert.ok(r.headers.add.some((h) => h.startsWith('X-Spam-Score: ')));
    assert.equal(bench.delivered.length, 0);
    if (r.action === 'rewrite_subject') assert.match(r.headers.subject ?? '', /lunch$/);
    else assert.equal(r.headers.subject, null);
  });

  it('a message with a bare LF and smtp.bare_newline=reject → 550 5.5.2', async () => {
    const bench = await sessionBench({ ...QUIET, 'smtp.bare_newline': 'reject' });
    const s = await upToRcpt(bench);
    await s.rcpt('bob@example.com');
    const r = await s.data(Buffer.from('Subject: x\r\n\r\nline one\nline two\r\n'));
    assert.equal(`${r.reply.code} ${r.reply.enhanced}`, '550 5.5.2');
  });

  it('a line over limits.max_line_length → 552 5.3.4', async () => {
    const bench = await sessionBench({ ...QUIET, 'limits.max_line_length': '1000' });
    const s = await upToRcpt(bench);
    await s.rcpt('bob@example.com');
    const r = await s.data(message({}, 'x'.repeat(1200) + '\r\n'));
    assert.equal(`${r.reply.code} ${r.reply.enhanced}`, '552 5.3.4');
  });

  it('more header fields than limits.max_headers → 552 5.3.4', async () => {
    const bench = await sessionBench({ ...QUIET, 'limits.max_headers': '20' });
    const s = await upToRcpt(bench);
    await s.rcpt('bob@example.com');
    const headers = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`X-Filler-${i}`, 'v']));
    const r = await s.data(message(headers));
    assert.equal(`${r.reply.code} ${r.reply.enhanced}`, '552 5.3.4');
    assert.match(r.reply.text, /header/);
  });

  it('a client gone before the verdict → nothing relayed', async () => {
    const bench = await sessionBench(QUIET);
    const s = await upToRcpt(bench);
    await s.rcpt('bob@example.com');
    const pending = s.data(message({}));
    s.close();
    const r = await pending;
    assert.equal(r.relayed, false);
    assert.equal(bench.delivered.length, 0);
  });

  it('a score in the greylist band → 451 4.7.1 first, the retry of the same message passes', async () => {
    const band = { ...QUIET, 'actions.greylist': '0.001', 'actions.add_header': '0.0005', 'greylist.delay': '0' };
    const bench = await sessionBench(band);
    const attempt = async () => {
      const s = await upToRcpt(bench);
      await s.rcpt('bob@example.com');
      return s.data(message({}, 'Buy now!!! http://198.51.100.7/x\r\n'));
    };
    const first = await attempt();
    if (!first.verdict || first.verdict.score < 0.001) return assert.fail(`the message must score in the band: ${JSON.stringify(first.verdict?.hits)}`);
    assert.equal(first.action, 'greylist');
    assert.equal(`${first.reply.code} ${first.reply.enhanced}`, '451 4.7.1');
    const retry = await attempt();
    assert.equal(retry.accepted, true);
    assert.notEqual(retry.action, 'greylist');
  });
});

describe('Session: after the queue (content_filter)', () => {
  const POSTFIX = { ip: '127.0.0.1', port: 50000, source: 'socket' as const };
  const CLIENT = { ip: '192.0.2.10', port: 40000, rdns: 'mail.sender.test', helo: 'mail.sender.test', tls: false, proto: 'ESMTP', source: 'xforward' as const };
  const mode = (reject: string) => ({ ...QUIET, mode: 'content_filter', 'smtp.xforward_hosts': '127.0.0.1', 'smtp.after_queue_reject': reject });

  async function viaPostfix(bench: Awaited<ReturnType<typeof sessionBench>>, from = 'alice@sender.test') {
    const s = bench.open();
    assert.deepEqual(await s.connect(POSTFIX), { ok: true });
    assert.deepEqual(await s.mail(from, { client: CLIENT }), { ok: true });
    assert.deepEqual(await s.rcpt('bob@example.com'), { ok: true });
    return s;
  }

  it('a spam verdict with after_queue_reject=discard → 250 2.7.0, nothing relayed (a 5xx would become backscatter)', async () => {
    const bench = await sessionBench(mode('discard'));
    const r = await (await viaPostfix(bench)).data(message({}, `${GTUBE}\r\n`));
    assert.equal(r.action, 'discard');
    assert.equal(`${r.reply.code} ${r.reply.enhanced}`, '250 2.7.0');
    assert.equal(bench.delivered.length, 0);
  });

  it('a spam verdict with after_queue_reject=add_header → relayed and stamped', async () => {
    const bench = await sessionBench(mode('add_header'));
    const r = await (await viaPostfix(bench)).data(message({}, `${GTUBE}\r\n`));
    assert.equal(r.action, 'add_header');
    assert.equal(r.relayed, true);
    assert.match(bench.delivered[0]?.message.toString('latin1') ?? '', /\r\nX-Spam-Action: add_header\r\n/);
  });

  it('a deny-listed sender is not refused at MAIL: the refusal is carried to the verdict', async () => {
    const bench = await sessionBench(mode('discard'), { 'lists/deny_senders.txt': 'spammer@sender.test\n' });
    const r = await (await viaPostfix(bench, 'spammer@sender.test')).data(message({}));
    assert.equal(r.action, 'discard');
    assert.equal(bench.delivered.length, 0);
  });
});
