import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { BASE_FILES, capturingLogger, cli, serverOverrides, tempPolicies, waitUntil } from './helpers.js';

/** One message over a raw socket; returns the MAIL reply and the final reply (null when MAIL was refused). */
async function send(port: number, from: string, subject: string): Promise<{ mail: number; end: string | null }> {
  const c = await RawSmtp.connect(port);
  try {
    await c.hello('client.test');
    const mail = await c.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) return { mail: mail.code, end: null };
    const rcpt = await c.command('RCPT TO:<user@example.com>');
    assert.equal(rcpt.code, 250, rcpt.text);
    assert.equal((await c.command('DATA')).code, 354);
    c.write(`From: <${from}>\r\nTo: <user@example.com>\r\nSubject: ${subject}\r\n\r\nHello.\r\n.\r\n`);
    const end = await c.reply(20_000);
    await c.command('QUIT').catch(() => undefined);
    return { mail: mail.code, end: `${end.code} ${end.text}` };
  } finally {
    c.close();
  }
}

describe('dry-run end to end (real Postfix downstream)', () => {
  let pf: PostfixInstance;
  let server: RunningServer;
  let dir: string;
  const log = capturingLogger();

  before(async () => {
    pf = await startPostfix();
    dir = await tempPolicies({ ...BASE_FILES, 'server.yaml': BASE_FILES['server.yaml'] + 'dry_run: true\n' });
    server = await startServer({ policiesDir: dir, overrides: serverOverrides(dir, pf.port), logger: log.logger });
  });

  after(async () => {
    await server?.stop();
    await pf?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test('a deny-listed sender in global dry-run is accepted, relayed and stamped with what would have happened', async () => {
    const r = await send(server.smtp.port, 'bad@old-spammer.example', 'dry run one');
    assert.equal(r.mail, 250, 'MAIL is not refused in dry-run');
    assert.match(r.end ?? '', /^250 /);
    const [msg] = await pf.waitForMessages('user', 1);
    assert.match(msg ?? '', /^X-Spam-Action-Dry-Run: reject; deny_sender_domains: old-spammer\.example/m);
    // Nothing about delivery changes during a trial: no spam flag from the deny list alone.
    assert.match(msg ?? '', /^X-Spam-Action: accept/m);
    assert.match(msg ?? '', /^X-Spam-Flag: NO/m);
    const lines = log.lines();
    const would = lines.find((l) => l.event === 'dry_run');
    assert.equal(would?.would, 'reject');
    assert.equal(would?.check, 'access_sender');
    const summary = lines.find((l) => l.event === 'transaction' && l.from === 'bad@old-spammer.example');
    assert.equal(summary?.action, 'accept');
    assert.equal(summary?.would_be, 'reject');
  });

  test('dry-run shows where an admin looks: the start, /policy/status, the history page; entries name the instance', async () => {
    const lines = log.lines();
    assert.equal(lines.find((l) => l.event === 'listening')?.dry_run, true);
    assert.ok(lines.some((l) => l.event === 'dry_run_on'), 'a warning line at start');
    const admin = `http://127.0.0.1:${server.adminAddress?.port}`;
    const status = (await (await fetch(`${admin}/policy/status`)).json()) as { ok: boolean; dry_run: boolean; instance: string };
    assert.deepEqual([status.ok, status.dry_run, status.instance], [true, true, os.hostname()]);
    const page = await (await fetch(`${admin}/history/view`, { headers: { Authorization: `Basic ${Buffer.from('admin:test-password').toString('base64')}` } })).text();
    assert.match(page, /<p class="dry-run" id="dry-run"><strong>Dry-run is on:/);
    const { entries } = (await (await fetch(`${admin}/history?limit=10`, { headers: { Password: 'test-password' } })).json()) as { entries: Array<{ instance?: string; from: string }> };
    assert.equal(entries.find((e) => e.from === 'bad@old-spammer.example')?.instance, os.hostname());
  });

  test('a per-check dry_run does the same while the global switch is off', async () => {
    await fs.writeFile(path.join(dir, 'server.yaml'), BASE_FILES['server.yaml'] as string);
    await fs.mkdir(path.join(dir, 'checks'), { recursive: true });
    await fs.writeFile(path.join(dir, 'checks', 'access.yaml'), 'dry_run: true\n');
    await waitUntil('reload with access.dry_run', () => server.policy.get().policy.access.dry_run && !server.policy.get().policy.dry_run, 5000);
    const r = await send(server.smtp.port, 'bad2@old-spammer.example', 'dry run two');
    assert.equal(r.mail, 250);
    assert.match(r.end ?? '', /^250 /);
    const msgs = await pf.waitForMessages('user', 2);
    assert.match(msgs[1] ?? '', /^X-Spam-Action-Dry-Run: reject; deny_sender_domains: old-spammer\.example/m);
    // The global switch is off: no banner, and the status says so.
    const admin = `http://127.0.0.1:${server.adminAddress?.port}`;
    assert.equal(((await (await fetch(`${admin}/policy/status`)).json()) as { dry_run: boolean }).dry_run, false);
    const page = await (await fetch(`${admin}/history/view`, { headers: { Password: 'test-password' } })).text();
    assert.doesNotMatch(page, /id="dry-run"/);
  });

  test('GET /history needs the password and returns the verdicts with their forced actions', async () => {
    const url = `http://127.0.0.1:${server.adminAddress?.port}/history?limit=10`;
    assert.equal((await fetch(url)).status, 401);
    const res = await fetch(url, { headers: { Password: 'test-password' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { entries: Array<{ from: string; forced: unknown[][] }> };
    const entry = body.entries.find((e) => e.from === 'bad@old-spammer.example');
    assert.deepEqual(entry?.forced[0], ['access_sender', 'reject', true, 'access']);
  });

  test('policy whatif against the running server shows both dry-run messages turning into rejects', async () => {
    const draft = await tempPolicies(BASE_FILES);
    try {
      const r = await cli(['policy', 'whatif', draft, '--server', `http://127.0.0.1:${server.adminAddress?.port}`, '--password', 'test-password']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /: 2 of 2 replayed messages would change action/);
      assert.match(r.stdout, /accept -> reject\s+2/);
      assert.match(r.stdout, /from <bad2?@old-spammer\.example>/);
      const noPassword = await cli(['policy', 'whatif', draft, '--server', `http://127.0.0.1:${server.adminAddress?.port}`, '--password', 'wrong']);
      assert.equal(noPassword.code, 1);
      assert.match(noPassword.stderr, /HTTP 401.*--password/);
    } finally {
      await fs.rm(draft, { recursive: true, force: true });
    }
  });
});
