import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import type { TestServer } from '../helpers/borderpatrol.js';
import { attempt, sleep, startMx } from './fixture.js';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** One session that names a sender and a recipient, then RSETs without sending anything. */
async function probe(port: number, localAddress: string, from: string, rcpt: string): Promise<string> {
  const c = await RawSmtp.connect(port, '127.0.0.1', localAddress);
  try {
    await c.reply();
    await c.command('EHLO flood.test');
    await c.command(`MAIL FROM:<${from}>`);
    const answer = (await c.command(`RCPT TO:<${rcpt}>`)).text;
    await c.command('RSET');
    await c.command('QUIT').catch(() => undefined);
    return answer;
  } finally {
    c.close();
  }
}

/**
 * Limits a stranger could spend for someone else (per recipient, per sender) are charged
 * only by accepted mail; the limit on RCPT attempts is the client's own.
 */
describe('rate limits only real mail spends', () => {
  let sink: SmtpSink;
  let mx: TestServer;
  before(async () => {
    sink = await startSmtpSink();
    const rules = `rules:
  - {name: recipients_per_ip, key: ip, count: recipients, rate: 20, window: 3600}
  - {name: recipients_per_sender, key: sender, count: recipients, rate: 5, window: 3600}
  - {name: messages_per_recipient, key: recipient, count: messages, rate: 5, window: 3600}
`;
    mx = await startMx(sink.port, {}, { 'checks/ratelimit.yaml': rules });
  });
  after(async () => {
    await mx?.stop();
    await sink?.stop();
  });

  it('a flood of RCPT without DATA starves only its own address, not a partner writing to the same mailbox', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 55; i++) answers.push(await probe(mx.port, '127.0.0.2', `x${i}@flood.test`, 'ceo@example.com'));
    assert.deepEqual(answers.slice(0, 20).map((a) => a.slice(0, 9)), Array(20).fill('250 2.1.5'), 'recipients_per_ip allows 20');
    assert.match(answers[20] ?? '', /^451 4\.7\.1 Rate limit exceeded \(recipients_per_ip\)/, 'the flooder runs out of its own allowance');
    const partner = await attempt(mx.port, { localAddress: '127.0.0.3', from: 'partner@bank.test', rcpts: ['ceo@example.com'] });
    assert.equal(partner.rcpts[0], '250 2.1.5 Accepted');
    assert.match(partner.end ?? '', /^250 /);
  });

  it('forged senders do not use up the real sender’s recipients', async () => {
    for (let i = 0; i < 10; i++) assert.match(await probe(mx.port, '127.0.0.4', 'boss@bank2.test', `u${i}@example.com`), /^250 /);
    const real = await attempt(mx.port, { localAddress: '127.0.0.5', from: 'boss@bank2.test', rcpts: ['a@example.com', 'b@example.com', 'c@example.com'] });
    assert.deepEqual(real.rcpts.map((r) => r.slice(0, 9)), ['250 2.1.5', '250 2.1.5', '250 2.1.5']);
    assert.match(real.end ?? '', /^250 /);
    // The 3 accepted count: 2 more recipients fit in this sender's 5, a third does not.
    const more = await attempt(mx.port, { localAddress: '127.0.0.5', from: 'boss@bank2.test', rcpts: ['d@example.com', 'e@example.com', 'f@example.com'] });
    assert.deepEqual(more.rcpts.map((r) => r.slice(0, 9)), ['250 2.1.5', '250 2.1.5', '451 4.7.1']);
    assert.match(more.rcpts[2] ?? '', /\(recipients_per_sender\)/);
    assert.match(more.end ?? '', /^250 /);
  });

  it('accepted messages count, once per transaction, and a refused message does not', async () => {
    const box = 'cfo@example.com';
    // Refused at DATA: nothing is charged.
    for (let i = 0; i < 3; i++) assert.match((await attempt(mx.port, { localAddress: '127.0.0.6', from: `s${i}@spam.test`, rcpts: [box], body: GTUBE })).end ?? '', /^554 5\.7\.1 /);
    for (let i = 0; i < 5; i++) assert.match((await attempt(mx.port, { localAddress: '127.0.0.6', from: `p${i}@ok.test`, rcpts: [box] })).end ?? '', /^250 /, `message ${i + 1}`);
    const sixth = await attempt(mx.port, { localAddress: '127.0.0.7', from: 'late@ok.test', rcpts: [box] });
    assert.match(sixth.rcpts[0] ?? '', /^451 4\.7\.1 Rate limit exceeded \(messages_per_recipient\), try again in \d+ seconds$/);
  });
});

/** A greylist triplet passes only when its retried message is accepted; unknown users are refused before greylisting. */
describe('greylisting charged on outcome', () => {
  let sink: SmtpSink;
  let mx: TestServer;
  const admin = (p: string) => `http://127.0.0.1:${mx.adminPort}${p}`;
  before(async () => {
    sink = await startSmtpSink();
    mx = await startMx(
      sink.port,
      { 'greylist.enabled': 'true', 'greylist.delay': '1', 'greylist.auto_allow_after': '5', 'recipient_verification.mode': 'list', 'admin.password': 'sekrit' },
      { 'lists/valid_recipients.txt': 'user@example.com\n' },
    );
  });
  after(async () => {
    await mx?.stop();
    await sink?.stop();
  });

  it('spam retries refused at DATA neither pass nor earn their network auto-allow', async () => {
    // Digits in a sender fold to '#' in its triplet: these five are five triplets.
    const senders = ['alpha', 'bravo', 'charlie', 'delta', 'echo'].map((n) => `${n}@spam.test`);
    for (const [i, from] of senders.entries()) assert.match((await attempt(mx.port, { localAddress: `127.0.0.${10 + i}`, from })).rcpts[0] ?? '', /^451 4\.7\.1 Greylisted/);
    await sleep(1100);
    for (const [i, from] of senders.entries()) {
      const retry = await attempt(mx.port, { localAddress: `127.0.0.${10 + i}`, from, body: GTUBE });
      assert.equal(retry.rcpts[0], '250 2.1.5 Accepted');
      assert.match(retry.end ?? '', /^554 5\.7\.1 /);
    }
    const sixth = await attempt(mx.port, { localAddress: '127.0.0.20', from: 'foxtrot@spam.test' });
    assert.match(sixth.rcpts[0] ?? '', /^451 4\.7\.1 Greylisted/, 'five refused retries do not auto-allow the network');
    const listed = await fetch(admin('/greylist?match=alpha@'), { headers: { Password: 'sekrit' } });
    const { entries } = (await listed.json()) as { entries: Array<{ passed: boolean }> };
    assert.equal(entries[0]?.passed, false, 'a refused retry is not a pass');
    // The same retries with mail that is accepted pass, and five of them allow the network.
    for (const [i, from] of senders.entries()) assert.match((await attempt(mx.port, { localAddress: `127.0.0.${10 + i}`, from })).end ?? '', /^250 /);
    const seventh = await attempt(mx.port, { localAddress: '127.0.0.21', from: 'fresh@spam.test' });
    assert.equal(seventh.rcpts[0], '250 2.1.5 Accepted', 'five accepted retries auto-allow the network');
  });

  it('refuses an unknown user at once and keeps no triplet for it', async () => {
    const r = await attempt(mx.port, { localAddress: '127.0.1.1', from: 'someone@origin.test', rcpts: ['nosuchuser@example.com'] });
    assert.equal(r.rcpts[0], '550 5.1.1 <nosuchuser@example.com>: Recipient address rejected: User unknown');
    const listed = await fetch(admin('/greylist?match=nosuchuser'), { headers: { Password: 'sekrit' } });
    assert.deepEqual(((await listed.json()) as { entries: unknown[] }).entries, []);
  });
});
