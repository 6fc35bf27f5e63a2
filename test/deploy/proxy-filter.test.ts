import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { freePort } from '../helpers/ports.js';
import { readRecipe, placeRecipe } from './recipes.js';
import { send, waitForHistory, waitForLog, waitForMessage, countOf } from './helpers.js';

/**
 * Mode proxy_filter, with the master.cf lines and server.yaml of docs/postfix.md: Postfix's
 * port-25 smtpd hands each session to Borderpatrol (smtpd_proxy_filter), passes our replies
 * back to the sender, and Borderpatrol relays accepted mail to the reinjection listener.
 */
describe('proxy_filter mode against a real Postfix (docs/postfix.md recipe)', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let front: number;

  before(async () => {
    const recipe = await readRecipe('proxy_filter');
    const reinject = await freePort();
    front = await freePort();
    bp = await startBorderpatrol({
      relayPort: reinject,
      files: {
        'server.yaml': placeRecipe(recipe, { reinject, front }).serverYaml,
        'lists/deny_senders.txt': 'spammer@origin.test\n',
        'checks/greylist.yaml': 'enabled: true\ndelay: 1\nretry_window: 3600\n',
      },
      // 127.0.0.55 plays an Internet client: only Postfix's own address is ours.
      set: { 'smtp.trusted_networks': '127.0.0.1' },
    });
    const placed = placeRecipe(recipe, { filter: bp.port, reinject, front });
    assert.match(placed.master, new RegExp(`^127\\.0\\.0\\.1:${front}\\s+inet .*smtpd\\n\\s+-o smtpd_proxy_filter=127\\.0\\.0\\.1:${bp.port}$`, 'm'));
    const transport = path.join(bp.policiesDir, 'transport');
    await fs.writeFile(transport, 'remote.test discard:sent out\n');
    pf = await startPostfix({ main: { ...placed.main, transport_maps: `texthash:${transport}` }, master: placed.master });
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('greylisting counts the XFORWARD client: 451 through Postfix, the retry is delivered once, stamped', async () => {
    const first = await send(front, { id: 'pf-1', localAddress: '127.0.0.55' });
    assert.notEqual(first.code, 0);
    assert.match(first.out, /<\*\* +451 4\.7\.1 Greylisted/);
    await new Promise((r) => setTimeout(r, 1200));
    const retry = await send(front, { id: 'pf-1', localAddress: '127.0.0.55' });
    assert.equal(retry.code, 0, retry.out);
    const msg = await waitForMessage(pf, 'user', 'pf-1');
    assert.match(msg, /^X-Spam-Flag: NO$/m);
    assert.match(msg, /^X-Spam-Action: accept$/m);
    assert.equal(countOf(msg, /\(Borderpatrol\)/), 1);
    assert.match(msg, /Received: from origin\.example \(unknown \[127\.0\.0\.55\]\)\s+by\s+mx\.borderpatrol\.test\s+\(Borderpatrol\)/);
    const entry = await waitForHistory(bp.store, (e) => e.action === 'accept' && e.ip === '127.0.0.55');
    assert.equal(entry.helo, 'origin.example');
    // The queue id the sender heard is the reinjection's: Postfix logs the real client for it.
    assert.equal(entry.queueId, retry.queueId);
    assert.match(await pf.log(), new RegExp(`${retry.queueId}: client=localhost\\[127\\.0\\.0\\.1\\], orig_client=\\S*\\[127\\.0\\.0\\.55\\]`));
  });

  test('a refusal reaches the sender through Postfix: 550 5.7.1, nothing queued, no bounce', async () => {
    const r = await send(front, { id: 'pf-spam', from: 'spammer@origin.test', localAddress: '127.0.0.55' });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /<\*\* +550 5\.7\.1 /);
    assert.equal(r.queueId, '');
    // Postfix logs our refusal under its own name for it.
    await waitForLog(() => pf.log(), /proxy 127\.0\.0\.1:\d+ rejected "MAIL FROM:<spammer@origin\.test>": "550 5\.7\.1 /);
    assert.ok(!(await pf.messages('user')).some((m) => m.includes('<pf-spam@origin.test>')));
  });

  test('unknown users are refused by Postfix itself; Borderpatrol does not ask again', async () => {
    const r = await send(front, { id: 'pf-unknown', to: 'nosuchuser@example.com', localAddress: '127.0.0.55' });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /<\*\* +550 5\.1\.1 <nosuchuser@example\.com>: Recipient address rejected: User unknown in virtual mailbox table/);
    assert.equal(bp.policy.get().policy.recipient_verification.mode, 'auto');
  });

  test("outbound mail from Postfix's own network to another domain passes", async () => {
    const r = await send(front, { id: 'pf-out', from: 'user@example.com', to: 'someone@remote.test' });
    assert.equal(r.code, 0, r.out);
    const entry = await waitForHistory(bp.store, (e) => e.queueId === r.queueId);
    assert.equal(entry.action, 'accept');
    assert.deepEqual(entry.rcpts, ['someone@remote.test']);
    await waitForLog(() => pf.log(), new RegExp(`${r.queueId}: to=<someone@remote\\.test>, relay=none.*status=sent \\(sent out\\)`));
  });

  test('Borderpatrol down: the sender gets a temporary error and retries later', async () => {
    await bp.stop();
    const r = await send(front, { id: 'pf-down', localAddress: '127.0.0.55' });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /<\*\* +451 4\.3\.0 /);
  });
});
