import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { replyKey } from '../../src/checks/replies/message-ids.js';
import { Scanner, testPolicy, message } from './helpers.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startBorderpatrol, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { waitForHistory } from '../deploy/helpers.js';

/**
 * Replies: Message-IDs our users send are remembered; an inbound answer naming one scores
 * REPLY. Through the store, over SMTP, and shared by two servers on one Redis.
 */

describe('the check', () => {
  let scanner: Scanner;
  before(async () => {
    scanner = new Scanner(await testPolicy());
  });
  after(async () => scanner.store.close());

  test('an answer naming a remembered id in In-Reply-To or References scores REPLY; others do not', async () => {
    await scanner.store.replyRemember([replyKey('sent-1@example.com')], 3600);
    const reply = await scanner.scan(message({ headers: ['In-Reply-To: <sent-1@example.com>'] }));
    assert.equal(reply.symbols.REPLY, -4);
    assert.equal(reply.details.REPLY, '<sent-1@example.com>');
    const thread = await scanner.scan(message({ headers: ['References: <a@x.test> <sent-1@example.com>\r\n <b@x.test>'] }));
    assert.equal(thread.symbols.REPLY, -4);
    const stranger = await scanner.scan(message({ headers: ['In-Reply-To: <never-sent@example.com>', 'References: <sent-1@example.com.evil>'] }));
    assert.equal('REPLY' in stranger.symbols, false);
  });

  test('a scan of mail from a trusted client remembers nothing (scans never write)', async () => {
    const trusting = new Scanner(await testPolicy({ set: { 'smtp.trusted_networks': '127.0.0.2' } }));
    await trusting.scan(message({ headers: ['Message-ID: <scan-only@example.com>'] }));
    assert.deepEqual(await trusting.store.replyKnown([replyKey('scan-only@example.com')]), [false]);
    await trusting.store.close();
  });

  test('a hostile References field: thousands of ids and a huge id cost a bounded lookup', async () => {
    await scanner.store.replyRemember([replyKey('old@example.com')], 3600);
    const asked: number[] = [];
    const known = scanner.store.replyKnown.bind(scanner.store);
    scanner.store.replyKnown = (ids) => {
      asked.push(ids.length);
      return known(ids);
    };
    try {
      // The remembered id is the oldest of 3,000: past replies.max_ids (10), so not read.
      const refs = ['<old@example.com>', ...Array.from({ length: 3000 }, (_, i) => `<r${i}@spam.test>`)].join('\r\n ');
      const started = performance.now();
      const r = await scanner.scan(message({ headers: [`References: ${refs}`, `In-Reply-To: <${'x'.repeat(990)}@spam.test>`] }));
      assert.ok(performance.now() - started < 2000);
      assert.equal('REPLY' in r.symbols, false);
      assert.deepEqual(asked, [10], 'at most replies.max_ids ids looked up');
    } finally {
      scanner.store.replyKnown = known;
    }
    assert.match(replyKey('x'.repeat(5000)), /^[0-9a-f]{32}$/, 'a stored key is a fixed-size digest');
  });
});

describe('two servers on one Redis, over SMTP', () => {
  let redis: RunningRedis;
  let sink: SmtpSink;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    redis = await startRedis();
    sink = await startSmtpSink();
    // 127.0.0.1 is our users' network; 127.0.0.55 plays the Internet.
    const set = { 'store.redis': redis.url, 'smtp.trusted_networks': '127.0.0.1' };
    a = await startBorderpatrol({ relayPort: sink.port, set });
    b = await startBorderpatrol({ relayPort: sink.port, set });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await sink?.stop();
    await redis?.stop();
  });

  test('a Message-ID our user sent through one server makes the answer arriving at the other a REPLY', async () => {
    const out = await swaks(['--server', `127.0.0.1:${a.port}`, '--from', 'user@example.com', '--to', 'colleague@example.com', '--header', 'Message-Id: <thread-start@example.com>', '--local-interface', '127.0.0.1']);
    assert.equal(out.code, 0, out.out);
    await waitForHistory(a.store, (e) => e.from === 'user@example.com');
    const answer = await swaks([
      '--server', `127.0.0.1:${b.port}`, '--from', 'friend@origin.test', '--to', 'user@example.com', '--helo', 'origin.example',
      '--header', 'Message-Id: <answer-1@origin.test>', '--header', 'In-Reply-To: <thread-start@example.com>', '--local-interface', '127.0.0.55',
    ]);
    assert.equal(answer.code, 0, answer.out);
    const entry = await waitForHistory(b.store, (e) => e.from === 'friend@origin.test');
    assert.ok(entry.hits.some(([name]) => name === 'REPLY'), JSON.stringify(entry.hits));
    // The same answer to an id nobody sent is no REPLY.
    const cold = await swaks([
      '--server', `127.0.0.1:${b.port}`, '--from', 'cold@origin.test', '--to', 'user@example.com', '--helo', 'origin.example',
      '--header', 'Message-Id: <answer-2@origin.test>', '--header', 'In-Reply-To: <not-ours@example.com>', '--local-interface', '127.0.0.55',
    ]);
    assert.equal(cold.code, 0, cold.out);
    const coldEntry = await waitForHistory(b.store, (e) => e.from === 'cold@origin.test');
    assert.equal(coldEntry.hits.some(([name]) => name === 'REPLY'), false, JSON.stringify(coldEntry.hits));
  });
});
