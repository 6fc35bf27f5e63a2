import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { freePort } from '../helpers/ports.js';
import { readRecipe, placeRecipe } from './recipes.js';
import { send, waitForHistory, waitForLog, waitForMessage, countOf } from './helpers.js';

/**
 * Mode milter, with the main.cf lines and server.yaml of docs/postfix.md: a real Postfix
 * takes the mail on its own port, shows each event to Borderpatrol through smtpd_milters,
 * passes our refusals to the client and delivers what we accept (into a maildir) with our
 * header edits.
 */
describe('milter mode against a real Postfix (docs/postfix.md recipe)', () => {
  let pf: PostfixInstance;
  let bp: TestServer;

  before(async () => {
    const recipe = await readRecipe('milter');
    assert.equal(recipe.main.smtpd_milters, 'inet:127.0.0.1:10024');
    const port = await freePort();
    bp = await startBorderpatrol({
      relayPort: 9, // unused: Postfix delivers in this mode
      files: {
        'server.yaml': placeRecipe(recipe, { filter: port }).serverYaml,
        'lists/deny_senders.txt': 'spammer@origin.test\n',
        // One content rule puts a message in the greylist band (10 ≤ score < 15).
        // A second, scoreless rule with a long name makes X-Spam-Status long enough to fold.
        'checks/content.yaml':
          'rules:\n  - symbol: BAND_SUBJECT\n    type: subject\n    match: substring\n    pattern: "band please"\n' +
          '  - symbol: A_RATHER_LONG_SYMBOL_NAME_THAT_FOLDS\n    type: subject\n    match: substring\n    pattern: "band please"\n' +
          '  - symbol: SPAM_SUBJECT\n    type: subject\n    match: substring\n    pattern: "buy now"\n',
        'symbols.yaml': 'BAND_SUBJECT:\n  score: 12\nA_RATHER_LONG_SYMBOL_NAME_THAT_FOLDS:\n  score: 0\nSPAM_SUBJECT:\n  score: 20\n',
        'actions.yaml': 'add_header: 6\nrewrite_subject: 8\ngreylist: 10\nreject: 15\n',
        'checks/greylist.yaml': 'delay: 1\nretry_window: 3600\n',
      },
      // 127.0.0.55 plays an Internet client: only Postfix's own address is ours.
      set: { 'smtp.trusted_networks': '127.0.0.1', listen: `127.0.0.1:${port}` },
    });
    assert.equal(bp.port, port);
    assert.equal(bp.policy.get().policy.mode, 'milter');
    const placed = placeRecipe(recipe, { filter: bp.port });
    pf = await startPostfix({ main: placed.main, milter: { port: bp.port } });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('a deny-listed sender is refused by Postfix with our reply, at MAIL', async () => {
    const r = await send(pf.port, { id: 'mi-deny', from: 'spammer@origin.test', localAddress: '127.0.0.55' });
    const ours = `550 5.7.1 ${bp.policy.get().policy.access.reasons.deny_senders}`;
    assert.notEqual(r.code, 0);
    assert.match(r.out, /-> MAIL FROM:<spammer@origin\.test>\n<\*\* (.*)\n/);
    assert.equal(/-> MAIL FROM:<spammer@origin\.test>\n<\*\* (.*)\n/.exec(r.out)?.[1], ours);
    const logged = await waitForLog(() => pf.log(), /milter-reject: MAIL from [^\n]*\[127\.0\.0\.55\]: (5[^;]*);/);
    assert.equal(logged[1], ours);
    assert.ok(!(await pf.messages('user')).some((m) => m.includes('<mi-deny@origin.test>')));
  });

  test('a clean message reaches the mailbox with our X-Spam-* fields; forged inbound X-Spam-* and Authentication-Results are gone', async () => {
    const r = await swaks([
      '--server', `127.0.0.1:${pf.port}`,
      '--from', 'sender@origin.test',
      '--to', 'user@example.com',
      '--helo', 'origin.example',
      '--local-interface', '127.0.0.55',
      '--header', 'Message-Id: <mi-clean@origin.test>',
      '--header', 'Subject: hello',
      '--add-header', 'X-Spam-Flag: YES',
      '--add-header', 'X-Spam-Score: -100',
      // One in our name (a forgery) and one from another host, which stays.
      '--add-header', 'Authentication-Results: mx.borderpatrol.test; spf=pass smtp.mailfrom=sender@origin.test',
      '--add-header', 'Authentication-Results: relay.other.example; dkim=pass header.d=origin.test',
    ]);
    assert.equal(r.code, 0, r.out);
    const queueId = /queued as ([A-Z0-9]+)/.exec(r.out)?.[1] ?? '';
    assert.ok(queueId, r.out);
    const msg = await waitForMessage(pf, 'user', 'mi-clean');
    assert.equal(countOf(msg, /^X-Spam-Flag:/m), 1, msg);
    assert.match(msg, /^X-Spam-Flag: NO$/m);
    assert.match(msg, /^X-Spam-Score: 0\.00$/m);
    assert.match(msg, /^X-Spam-Action: accept$/m);
    assert.match(msg, /^X-Spam-Status: No, score=0\.00 /m);
    assert.doesNotMatch(msg, /X-Spam-Score: -100/);
    assert.doesNotMatch(msg, /Authentication-Results: mx\.borderpatrol\.test/);
    assert.match(msg, /^Authentication-Results: relay\.other\.example; dkim=pass header\.d=origin\.test$/m);
    // Postfix delivered it (its own Received, no relay through us) and the body is intact.
    assert.match(msg, /by postfix\.test \(Postfix\) with ESMTP id /);
    assert.doesNotMatch(msg, /\(Borderpatrol\)/);
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === queueId);
    assert.equal(entry.action, 'accept');
    assert.equal(entry.ip, '127.0.0.55');
    assert.equal(entry.helo, 'origin.example');
    assert.deepEqual(entry.rcpts, ['user@example.com']);
  });

  test('an answer to a message our user sent through the milter scores REPLY; the same answer to an unknown id does not', async () => {
    // Our user, on Postfix's own network (trusted): its Message-ID is remembered.
    const sent = await send(pf.port, { id: 'mt-sent', from: 'mt-author@example.com', to: 'user@example.com' });
    assert.equal(sent.code, 0, sent.out);
    await waitForHistory(bp.store, (e) => e.from === 'mt-author@example.com');
    const answer = await send(pf.port, { id: 'mt-answer', from: 'mt-friend@origin.test', localAddress: '127.0.0.55', headers: ['In-Reply-To: <mt-sent@origin.test>'] });
    assert.equal(answer.code, 0, answer.out);
    const entry = await waitForHistory(bp.store, (e) => e.from === 'mt-friend@origin.test');
    assert.ok(entry.hits.some(([name]) => name === 'REPLY'), JSON.stringify(entry.hits));
    const cold = await send(pf.port, { id: 'mt-cold', from: 'mt-cold@origin.test', localAddress: '127.0.0.55', headers: ['In-Reply-To: <mt-never-sent@origin.test>'] });
    assert.equal(cold.code, 0, cold.out);
    const coldEntry = await waitForHistory(bp.store, (e) => e.from === 'mt-cold@origin.test');
    assert.equal(coldEntry.hits.some(([name]) => name === 'REPLY'), false, JSON.stringify(coldEntry.hits));
  });

  test('a 45 KB header field, folded over 1,500 lines, comes through whole', async () => {
    const folded = Array.from({ length: 1500 }, (_, i) => `recipient-${String(i).padStart(4, '0')}@list.example,`).join('\r\n\t');
    const r = await RawSmtp.sendMessage(pf.port, {
      from: 'list@origin.test',
      to: 'user@example.com',
      data: `Subject: long\r\nMessage-Id: <mi-long@origin.test>\r\nX-Long-List: ${folded}\r\n\r\nbody\r\n`,
    });
    assert.equal(r.code, 250, r.text);
    const msg = await waitForMessage(pf, 'user', 'mi-long');
    assert.match(msg, /^X-Spam-Action: accept$/m);
    const field = /^X-Long-List: (?:.*\n\t)+.*\n/m.exec(msg)?.[0] ?? '';
    assert.equal(field, `X-Long-List: ${folded.replace(/\r\n/g, '\n')}\n`);
  });

  test('a score-band message gets 451 4.7.1 and passes on retry, flagged and its Subject tagged', async () => {
    const opts = { id: 'mi-band', subject: 'band please', localAddress: '127.0.0.55' };
    const first = await send(pf.port, opts);
    assert.notEqual(first.code, 0);
    assert.match(first.out, /<\*\* 451 4\.7\.1 Greylisted, please try again in \d+ seconds/);
    await new Promise((r) => setTimeout(r, 1200));
    const retry = await send(pf.port, opts);
    assert.equal(retry.code, 0, retry.out);
    const msg = await waitForMessage(pf, 'user', 'mi-band');
    assert.match(msg, /^X-Spam-Flag: YES$/m);
    // Past the band, a score of 12 earns rewrite_subject (8): the Subject changed in place.
    assert.match(msg, /^X-Spam-Action: rewrite_subject$/m);
    assert.match(msg, /^X-Spam-Score: 12\.00$/m);
    assert.equal(countOf(msg, /^Subject:/m), 1);
    assert.match(msg, /^Subject: \*\*\*SPAM\*\*\* band please$/m);
    // A folded field arrives folded (CRLF + tab on the wire, LF + tab through the milter).
    const status = /^X-Spam-Status: .*(?:\r?\n\t.*)+/m.exec(msg)?.[0] ?? '';
    assert.ok(status, msg);
    assert.equal(status.replace(/\r?\n\t/g, ' '), 'X-Spam-Status: Yes, score=12.00 required=6.00 tests=BAND_SUBJECT, A_RATHER_LONG_SYMBOL_NAME_THAT_FOLDS');
    assert.equal((await pf.messages('user')).filter((m) => m.includes('<mi-band@origin.test>')).length, 1);
  });

  test('a message scored past reject is refused at the end of DATA with our 550 5.7.1; nothing is delivered', async () => {
    const r = await send(pf.port, { id: 'mi-spam', subject: 'buy now', localAddress: '127.0.0.55' });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /-> \.\n<\*\* 550 5\.7\.1 Message rejected as spam\n/);
    const logged = await waitForLog(() => pf.log(), /([A-F0-9]+): milter-reject: END-OF-MESSAGE from [^\n]*\[127\.0\.0\.55\]: (5[^;]*);/);
    assert.equal(logged[2], '5.7.1 Message rejected as spam');
    // Borderpatrol's line carries Postfix's queue id of the refused message.
    const entry = await waitForHistory(bp.store, (e) => e.origQueueId === logged[1]);
    assert.equal(entry.action, 'reject');
    assert.equal(entry.score, 20);
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(!(await pf.messages('user')).some((m) => m.includes('<mi-spam@origin.test>')));
  });

  test('Borderpatrol stopped: Postfix answers 451 4.7.1 (milter_default_action = tempfail), nothing is delivered', async () => {
    await bp.stop();
    const r = await send(pf.port, { id: 'mi-down', localAddress: '127.0.0.55' });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /<\*\* 451 4\.7\.1 /);
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(!(await pf.messages('user')).some((m) => m.includes('<mi-down@origin.test>')));
    assert.match(await pf.log(), /connect to Milter service inet:127\.0\.0\.1:\d+: Connection refused/);
  });
});
