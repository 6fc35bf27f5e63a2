import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { startServer, type RunningServer } from '../../src/main.js';

/** The status's problem details (which quote file lines) are for the admin only. */
const ADMIN_PASSWORD = 'reload-test';
import { BASE_FILES, capturingLogger, cli, serverOverrides, tempPolicies, waitUntil } from './helpers.js';

/** Hot reload must land within this long after the file is written (issue 4). */
const LIVE_MS = 2000;

/** The reply to MAIL FROM for a sender, on a fresh connection. */
async function mailReply(port: number, from: string): Promise<string> {
  const c = await RawSmtp.connect(port);
  try {
    await c.hello('client.test');
    const r = await c.command(`MAIL FROM:<${from}>`);
    await c.command('QUIT').catch(() => undefined);
    return `${r.code} ${r.text.replace(/^\d{3}[ -]/, '')}`;
  } finally {
    c.close();
  }
}

describe('live policy edits on a running server (real Postfix downstream)', () => {
  let pf: PostfixInstance;
  let server: RunningServer;
  let dir: string;
  const log = capturingLogger();
  const denies = (domain: string) => server.policy.get().list('deny_sender_domains')?.has(domain) ?? false;
  const adminUrl = (p: string) => `http://127.0.0.1:${server.adminAddress?.port}${p}`;

  before(async () => {
    pf = await startPostfix();
    dir = await tempPolicies(BASE_FILES);
    server = await startServer({ policiesDir: dir, overrides: serverOverrides(dir, pf.port, { 'admin.password': ADMIN_PASSWORD }), logger: log.logger });
  });

  after(async () => {
    await server?.stop();
    await pf?.stop();
    for (const d of [dir, dir + '.old', dir + '.new']) if (d) await fs.rm(d, { recursive: true, force: true });
  });

  test('the deny list in force refuses MAIL with 550 5.7.1', async () => {
    assert.match(await mailReply(server.smtp.port, 'x@old-spammer.example'), /^550 5\.7\.1 /);
    assert.match(await mailReply(server.smtp.port, 'x@fine.example'), /^250 /);
  });

  test('a broken edit keeps the old policy serving, is logged and exposed until fixed; the fix applies live', async (t) => {
    const file = path.join(dir, 'lists', 'deny_sender_domains.txt');
    const good = await fs.readFile(file, 'utf8');
    const versionBefore = server.policy.get().version;
    // A session open across the reload must not be dropped.
    const open = await RawSmtp.connect(server.smtp.port);
    await open.hello('client.test');

    await fs.writeFile(file, good + 'new-spammer.example\nthis is not a domain\n');
    await waitUntil('the broken edit is noticed', () => !server.policy.status().ok, 5000);
    const status = (await (await fetch(adminUrl('/policy/status'), { headers: { Password: ADMIN_PASSWORD } })).json()) as { ok: boolean; version: string; problems: Array<{ file: string; line: number; message: string }> };
    assert.equal(status.ok, false);
    assert.equal(status.version, versionBefore, 'the previous policy stays in force');
    assert.deepEqual(
      status.problems.map((p) => [path.basename(p.file), p.line, p.message]),
      [['deny_sender_domains.txt', 5, '"this is not a domain" is not a domain name']],
    );
    assert.match(await (await fetch(adminUrl('/metrics'))).text(), /^borderpatrol_policy_valid 0$/m);
    const logged = log.lines().find((l) => l.event === 'policy_invalid');
    assert.match(String((logged?.problems as string[] | undefined)?.[0]), /deny_sender_domains\.txt:5:1: "this is not a domain" is not a domain name/);
    // Still serving, with the old lists: the half-made edit is not applied.
    assert.match(await mailReply(server.smtp.port, 'x@new-spammer.example'), /^250 /);
    assert.match(await mailReply(server.smtp.port, 'x@old-spammer.example'), /^550 5\.7\.1 /);

    await fs.writeFile(file, good + 'new-spammer.example\n');
    const took = await waitUntil('the fixed edit is applied', () => denies('new-spammer.example'), 5000);
    t.diagnostic(`applied after ${took} ms`);
    assert.ok(took < LIVE_MS, `applied after ${took} ms`);
    assert.equal(server.policy.status().ok, true);
    assert.match(await (await fetch(adminUrl('/metrics'))).text(), /^borderpatrol_policy_valid 1$/m);
    assert.match(await mailReply(server.smtp.port, 'x@new-spammer.example'), /^550 5\.7\.1 /);

    const mail = await open.command('MAIL FROM:<x@fine.example>');
    assert.equal(mail.code, 250, 'the session opened before both reloads still works');
    open.close();
  });

  test('list add from the CLI makes the running server refuse that domain within 2 s', async (t) => {
    assert.match(await mailReply(server.smtp.port, 'x@spam.example'), /^250 /);
    const r = await cli(['list', 'add', 'deny_sender_domains', 'spam.example', '--policies', dir]);
    assert.equal(r.code, 0, r.stderr);
    const took = await waitUntil('the list edit is applied', () => denies('spam.example'), 5000);
    t.diagnostic(`applied ${took} ms after the CLI finished`);
    assert.ok(took < LIVE_MS, `applied ${took} ms after the CLI finished`);
    assert.match(await mailReply(server.smtp.port, 'x@spam.example'), /^550 5\.7\.1 Sender domain refused by policy/);
  });

  test('an editor-style save (write a new file, rename it over the old) is picked up', async (t) => {
    const file = path.join(dir, 'checks', 'access.yaml');
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = path.join(dir, 'checks', '.access.yaml.swp');
    await fs.writeFile(tmp, 'reasons:\n  deny_sender_domains: Go away\n');
    await fs.rename(tmp, file);
    const took = await waitUntil('the renamed file is applied', () => server.policy.get().policy.access.reasons.deny_sender_domains === 'Go away', 5000);
    t.diagnostic(`applied after ${took} ms`);
    assert.ok(took < LIVE_MS, `applied after ${took} ms`);
    assert.match(await mailReply(server.smtp.port, 'x@spam.example'), /^550 5\.7\.1 Go away/);
    // A second rename-save to the same file: the directory watch still works.
    await fs.writeFile(tmp, 'reasons:\n  deny_sender_domains: Still no\n');
    await fs.rename(tmp, file);
    await waitUntil('the second save is applied', () => server.policy.get().policy.access.reasons.deny_sender_domains === 'Still no', LIVE_MS);
  });

  test('policy set from the CLI is applied live', async (t) => {
    const r = await cli(['policy', 'set', 'actions.add_header', '5', '--policies', dir]);
    assert.equal(r.code, 0, r.stderr);
    const took = await waitUntil('policy set is applied', () => server.policy.get().policy.actions.add_header === 5, 5000);
    t.diagnostic(`applied ${took} ms after the CLI finished`);
    assert.ok(took < LIVE_MS, `applied ${took} ms after the CLI finished`);
  });

  test('a directory replaced whole (its watches gone) is still picked up by the poll', async (t) => {
    await fs.cp(dir, dir + '.new', { recursive: true });
    await fs.appendFile(path.join(dir + '.new', 'lists', 'deny_sender_domains.txt'), 'swapped.example\n');
    const started = Date.now();
    await fs.rename(dir, dir + '.old');
    await fs.rename(dir + '.new', dir);
    await waitUntil('the swapped directory is applied', () => denies('swapped.example'), 5000);
    const took = Date.now() - started;
    t.diagnostic(`applied after ${took} ms`);
    assert.ok(took < LIVE_MS, `applied after ${took} ms`);
    // And edits in the new directory keep working.
    await fs.appendFile(path.join(dir, 'lists', 'deny_sender_domains.txt'), 'after-swap.example\n');
    await waitUntil('an edit in the new directory is applied', () => denies('after-swap.example'), LIVE_MS);
  });
});
