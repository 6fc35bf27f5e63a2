import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { freePort } from '../helpers/ports.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { readRecipe, placeRecipe } from './recipes.js';
import { send, waitForHistory, waitForLog, waitForMessage, countOf } from './helpers.js';

const run = promisify(execFile);

/**
 * Mode content_filter, with the main.cf/master.cf lines and server.yaml of docs/postfix.md:
 * mail enters Postfix's port, is queued, goes through Borderpatrol (borderpatrol transport,
 * XFORWARD on) and back into Postfix's reinjection listener, into a maildir.
 */
describe('content_filter mode against a real Postfix (docs/postfix.md recipe)', () => {
  let pf: PostfixInstance;
  let bp: TestServer;

  before(async () => {
    const recipe = await readRecipe('content_filter');
    const reinject = await freePort();
    bp = await startBorderpatrol({
      relayPort: reinject,
      files: {
        'server.yaml': placeRecipe(recipe, { reinject }).serverYaml,
        'lists/deny_ips.txt': '127.0.0.66\n',
        'lists/deny_senders.txt': 'spammer@origin.test\n',
        'lists/deny_recipients.txt': 'other@example.com\n',
        // Greylisting is on (as in an MX policy) but has no say after the queue.
        'checks/greylist.yaml': 'enabled: true\ndelay: 60\nretry_window: 3600\n',
      },
      // 127.0.0.55 plays an Internet client: only Postfix's own address is ours.
      set: { 'smtp.trusted_networks': '127.0.0.1' },
    });
    const placed = placeRecipe(recipe, { filter: bp.port, reinject });
    assert.match(placed.main.content_filter ?? '', new RegExp(`^borderpatrol:\\[127\\.0\\.0\\.1\\]:${bp.port}$`));
    // Outbound mail to remote.test ends in Postfix's discard transport (this instance sends nothing out).
    const transport = path.join(bp.policiesDir, 'transport');
    await fs.writeFile(transport, 'remote.test discard:sent out\n');
    pf = await startPostfix({ main: { ...placed.main, transport_maps: `texthash:${transport}` }, master: placed.master });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('mail goes Postfix → Borderpatrol → Postfix → maildir once, stamped, with the real client', async () => {
    const r = await send(pf.port, { id: 'cf-1', localAddress: '127.0.0.55' });
    assert.equal(r.code, 0, r.out);
    const msg = await waitForMessage(pf, 'user', 'cf-1');
    assert.match(msg, /^X-Spam-Flag: NO$/m);
    assert.match(msg, /^X-Spam-Action: accept$/m);
    assert.match(msg, /^X-Spam-Status: No, score=/m);
    // One pass through the filter: no loop back into content_filter.
    assert.equal(countOf(msg, /\(Borderpatrol\)/), 1);
    // Borderpatrol judged the client Postfix saw, not Postfix itself.
    assert.match(msg, /Received: from origin\.example \(unknown \[127\.0\.0\.55\]\)\s+by\s+mx\.borderpatrol\.test\s+\(Borderpatrol\)/);
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === r.queueId);
    assert.equal(entry.ip, '127.0.0.55');
    assert.equal(entry.helo, 'origin.example');
    assert.equal(entry.action, 'accept');
    assert.ok(entry.queueId && entry.queueId !== r.queueId, 'the reinjected message has its own queue id');
    // Postfix links both queue ids and names the real client on reinjection.
    const log = await pf.log();
    assert.match(log, new RegExp(`${entry.queueId}: client=localhost\\[127\\.0\\.0\\.1\\], orig_queue_id=${r.queueId}, orig_client=\\S*\\[127\\.0\\.0\\.55\\]`));
    assert.equal(countOf(log, new RegExp(`${r.queueId}: to=<user@example\\.com>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${bp.port}`)), 1);
    assert.match(log, new RegExp(`${entry.queueId}: to=<user@example\\.com>, relay=virtual`));
    // Greylisting saw the real client (its triplet is recorded) but did not defer the message.
    const triplets = await bp.store.greylistList('127.0.0', 10);
    assert.ok(triplets.some((t) => t.key.includes('sender@origin.test')), JSON.stringify(triplets));
  });

  test('a deny-listed sender is discarded: 250 to Postfix, no bounce, no delivery, one log entry', async () => {
    const r = await send(pf.port, { id: 'cf-spam', from: 'spammer@origin.test', localAddress: '127.0.0.55' });
    assert.equal(r.code, 0, r.out);
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === r.queueId);
    assert.equal(entry.action, 'discard');
    assert.equal(entry.wouldBe, 'reject');
    assert.match(entry.reply, /^250 2\.7\.0 Ok: discarded by policy, id=/);
    const status = await waitForLog(() => pf.log(), new RegExp(`${r.queueId}: to=<user@example\\.com>, relay=127[^\\n]*status=(\\w+) \\(([^\\n]*)\\)`));
    assert.equal(status[1], 'sent');
    assert.match(status[2] ?? '', new RegExp(`discarded by policy, id=${entry.tx}`));
    // Give Postfix time to (wrongly) bounce, then look.
    await new Promise((res) => setTimeout(res, 1500));
    const log = await pf.log();
    assert.doesNotMatch(log, new RegExp(`${r.queueId}: sender non-delivery notification`));
    assert.ok(!(await pf.messages('user')).some((m) => m.includes('<cf-spam@origin.test>')));
  });

  test('connect-phase checks judge the XFORWARD client: a deny-listed client address is discarded', async () => {
    const r = await send(pf.port, { id: 'cf-ip', localAddress: '127.0.0.66' });
    assert.equal(r.code, 0, r.out);
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === r.queueId);
    assert.equal(entry.ip, '127.0.0.66');
    assert.equal(entry.action, 'discard');
    assert.ok(entry.forced.some(([check]) => check === 'access_ip'), JSON.stringify(entry.forced));
    // The next message on the same Postfix → Borderpatrol connection (or a new one) from
    // another client is judged on its own.
    const ok = await send(pf.port, { id: 'cf-ip-ok', localAddress: '127.0.0.55' });
    const okEntry = await waitForHistory(bp.store, (e) => e.origQueueId === ok.queueId);
    assert.equal(okEntry.action, 'accept');
    assert.equal(okEntry.ip, '127.0.0.55');
  });

  test('a refused recipient is dropped, the others still get the message', async () => {
    const r = await send(pf.port, { id: 'cf-two', to: 'user@example.com,other@example.com', localAddress: '127.0.0.55' });
    assert.equal(r.code, 0, r.out);
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === r.queueId);
    assert.equal(entry.action, 'accept');
    assert.deepEqual(entry.rcpts, ['user@example.com']);
    await waitForMessage(pf, 'user', 'cf-two');
    await waitForLog(() => pf.log(), new RegExp(`${r.queueId}: to=<other@example\\.com>, relay=127[^\\n]*status=sent`));
    assert.ok(!(await pf.messages('other')).some((m) => m.includes('<cf-two@origin.test>')));
  });

  test('after_queue_reject: add_header delivers a reject, flagged, instead of discarding it', async () => {
    const file = path.join(bp.policiesDir, 'server.yaml');
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('after_queue_reject: discard', 'after_queue_reject: add_header'));
    assert.equal(await bp.policy.reload('test'), true);
    assert.equal(bp.policy.get().policy.smtp.after_queue_reject, 'add_header');
    const r = await send(pf.port, { id: 'cf-tagged', from: 'spammer@origin.test', localAddress: '127.0.0.55' });
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === r.queueId);
    assert.equal(entry.action, 'add_header');
    assert.equal(entry.wouldBe, 'reject');
    const msg = await waitForMessage(pf, 'user', 'cf-tagged');
    assert.match(msg, /^X-Spam-Flag: YES$/m);
    assert.match(msg, /^X-Spam-Action: add_header$/m);
    await fs.writeFile(file, text);
    assert.equal(await bp.policy.reload('test'), true);
  });

  test("outbound mail from a local user is not refused: Postfix's relay decision stands", async () => {
    const r = await send(pf.port, { id: 'cf-out', from: 'user@example.com', to: 'someone@remote.test' });
    assert.equal(r.code, 0, r.out);
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === r.queueId);
    assert.equal(entry.action, 'accept');
    assert.deepEqual(entry.rcpts, ['someone@remote.test']);
    // Handed back to Postfix, which sends it on (into the discard transport here).
    await waitForLog(() => pf.log(), new RegExp(`${entry.queueId}: to=<someone@remote\\.test>, relay=none.*status=sent \\(sent out\\)`));
  });

  test('an answer to a message our user sent through the content filter scores REPLY; the same answer to an unknown id does not', async () => {
    // Our user, on Postfix's own network (trusted): its Message-ID is remembered.
    const sent = await send(pf.port, { id: 'cf-sent', from: 'cf-author@example.com', to: 'someone@remote.test' });
    assert.equal(sent.code, 0, sent.out);
    await waitForHistory(bp.store, (e) => e.from === 'cf-author@example.com');
    const answer = await send(pf.port, { id: 'cf-answer', from: 'cf-friend@origin.test', localAddress: '127.0.0.55', headers: ['In-Reply-To: <cf-sent@origin.test>'] });
    assert.equal(answer.code, 0, answer.out);
    const entry = await waitForHistory(bp.store, (e) => e.from === 'cf-friend@origin.test');
    assert.ok(entry.hits.some(([name]) => name === 'REPLY'), JSON.stringify(entry.hits));
    const cold = await send(pf.port, { id: 'cf-cold', from: 'cf-cold@origin.test', localAddress: '127.0.0.55', headers: ['In-Reply-To: <cf-never-sent@origin.test>'] });
    assert.equal(cold.code, 0, cold.out);
    const coldEntry = await waitForHistory(bp.store, (e) => e.from === 'cf-cold@origin.test');
    assert.equal(coldEntry.hits.some(([name]) => name === 'REPLY'), false, JSON.stringify(coldEntry.hits));
  });

  test('mail picked up locally (sendmail) passes the filter as from Postfix itself', async () => {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/usr/sbin/sendmail', ['-C', pf.confDir, '-f', 'root@example.com', 'user@example.com']);
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sendmail exited ${code}`))));
      child.stdin.end('Subject: local\nMessage-ID: <cf-local@example.com>\n\nfrom cron\n');
    });
    const entry = await waitForHistory(bp.store, (e) => e.from === 'root@example.com');
    assert.equal(entry.ip, '127.0.0.1');
    assert.equal(entry.action, 'accept');
    const msg = await waitForMessage(pf, 'user', 'cf-local');
    assert.match(msg, /^X-Spam-Flag: NO$/m);
  });

  test('XFORWARD names one transaction: the next one on the same connection starts afresh', async () => {
    const c = await RawSmtp.connect(bp.port);
    try {
      const ehlo = (await c.hello('postfix.test')).join('\n');
      assert.match(ehlo, /XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE/);
      assert.equal((await c.command('XFORWARD NAME=spam.example ADDR=127.0.0.66 PORT=4000 HELO=bad.example IDENT=AAA111 SOURCE=REMOTE')).code, 250);
      assert.equal((await c.command('MAIL FROM:<a@origin.test>')).code, 250);
      assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      const first = await c.command('Subject: one\r\n\r\nbody\r\n.');
      assert.match(first.text, /^250 2\.7\.0 Ok: discarded by policy/);
      // Postfix sends only SOURCE=LOCAL for mail it picked up itself: no client address.
      assert.equal((await c.command('XFORWARD SOURCE=LOCAL IDENT=BBB222')).code, 250);
      assert.equal((await c.command('MAIL FROM:<root@example.com>')).code, 250);
      assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      const second = await c.command('Subject: two\r\nMessage-Id: <cf-xf2@origin.test>\r\n\r\nbody\r\n.');
      assert.equal(second.code, 250, second.text);
      assert.match(second.text, /queued as/);
    } finally {
      c.close();
    }
    const one = await waitForHistory(bp.store, (e) => e.origQueueId === 'AAA111');
    assert.equal(one.ip, '127.0.0.66');
    assert.equal(one.helo, 'bad.example');
    assert.equal(one.action, 'discard');
    const two = await waitForHistory(bp.store, (e) => e.origQueueId === 'BBB222');
    assert.equal(two.ip, '127.0.0.1');
    assert.equal(two.helo, '');
    assert.equal(two.action, 'accept');
    await waitForMessage(pf, 'user', 'cf-xf2');
  });

  test('only the Postfix in smtp.xforward_hosts may connect', async () => {
    const c = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.9');
    const r = await c.reply();
    c.close();
    assert.equal(r.code, 554);
    assert.match(r.text, /5\.7\.1/);
  });

  test('roll back: without Borderpatrol, content_filter= and postsuper -r deliver the queued mail unfiltered', async () => {
    await bp.stop();
    const r = await send(pf.port, { id: 'cf-rollback', localAddress: '127.0.0.55' });
    assert.equal(r.code, 0, r.out);
    await waitForLog(() => pf.log(), new RegExp(`${r.queueId}: to=<user@example\\.com>, relay=none.*status=deferred`));
    // The documented order: no filter, requeue, reload (which also wakes pickup for the requeued mail).
    await pf.postconf({ content_filter: '' });
    await run('/usr/sbin/postsuper', ['-c', pf.confDir, '-r', 'ALL'], { timeout: 10_000 });
    await pf.reload();
    const msg = await waitForMessage(pf, 'user', 'cf-rollback', 20_000);
    assert.doesNotMatch(msg, /Borderpatrol|X-Spam-/);
  });
});
