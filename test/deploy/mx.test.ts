import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { freePort } from '../helpers/ports.js';
import { readRecipe, placeRecipe, type Recipe } from './recipes.js';
import { send, waitForHistory, waitForMessage, countOf } from './helpers.js';

/**
 * Mode mx with the master.cf listener and server.yaml of docs/postfix.md (test/core covers
 * the relay itself in depth): the documented 10025 listener takes our mail, answers our
 * recipient checks and logs the real client.
 */
describe('mx mode against a real Postfix (docs/postfix.md recipe)', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let recipe: Recipe;

  before(async () => {
    recipe = await readRecipe('mx');
    const relay = await freePort();
    const placed = placeRecipe(recipe, { relay });
    pf = await startPostfix({ main: placed.main, master: placed.master });
    bp = await startBorderpatrol({ relayPort: relay, files: { 'server.yaml': placed.serverYaml } });
    assert.equal(bp.policy.get().policy.mode, 'mx');
  });

  after(async () => {
    await bp?.stop();
    await pf?.stop();
  });

  test('a message as large as the SIZE Borderpatrol advertises gets through Postfix (message_size_limit)', async () => {
    const advertised = bp.policy.get().policy.limits.max_message_size;
    assert.ok(Number(recipe.main.message_size_limit) > advertised, 'Postfix takes more than Borderpatrol advertises');
    const readme = await fs.readFile('README.md', 'utf8');
    assert.match(readme, new RegExp(`^message_size_limit = ${recipe.main.message_size_limit}$`, 'm'), 'the README gives the same limit');
    // Over Postfix's default (10 MB), under the advertised SIZE.
    const body = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'bp-mx-size-')), 'body.txt');
    await fs.writeFile(body, 'A line of an ordinary but very long report, repeated to make it large.\n'.repeat(Math.ceil(12_000_000 / 72)));
    try {
      const r = await swaks(['--server', `127.0.0.1:${bp.port}`, '--from', 'sender@origin.test', '--to', 'user@example.com', '--header', 'Message-Id: <mx-large@origin.test>', '--body', `@${body}`, '--suppress-data'], 120_000);
      assert.equal(r.code, 0, r.out.slice(-500));
      await waitForMessage(pf, 'user', 'mx-large', 30_000);
    } finally {
      await fs.rm(path.dirname(body), { recursive: true, force: true });
    }
  });

  test('delivers through the documented listener, which logs the real client', async () => {
    const r = await send(bp.port, { id: 'mx-1', localAddress: '127.0.0.55' });
    assert.equal(r.code, 0, r.out);
    const msg = await waitForMessage(pf, 'user', 'mx-1');
    assert.match(msg, /^X-Spam-Flag: NO$/m);
    assert.equal(countOf(msg, /\(Borderpatrol\)/), 1);
    const entry = await waitForHistory(bp.store, (e) => e.queueId === r.queueId);
    assert.equal(entry.ip, '127.0.0.55');
    assert.match(await pf.log(), new RegExp(`postfix/borderpatrol/smtpd\\[\\d+\\]: ${r.queueId}: client=localhost\\[127\\.0\\.0\\.1\\], orig_client=unknown\\[127\\.0\\.0\\.55\\]`));
  });

  test('unknown users and other domains are refused during the conversation', async () => {
    const unknown = await send(bp.port, { id: 'mx-unknown', to: 'nosuchuser@example.com' });
    assert.match(unknown.out, /<\*\* +550 5\.1\.1 <nosuchuser@example\.com>: Recipient address rejected: User unknown/);
    const relayed = await send(bp.port, { id: 'mx-relay', to: 'someone@remote.test' });
    assert.match(relayed.out, /<\*\* +554 5\.7\.1 Relay access denied/);
  });
});
