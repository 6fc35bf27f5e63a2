import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { send } from './helpers.js';

const run = promisify(execFile);
const PASSWORD = 'cli-ops-secret';

/**
 * What an admin does on a running box, with the built command line (`node dist/cli.js`,
 * built by npm test): follow one message through the logs by Postfix's queue id and by
 * Borderpatrol's ids, and read the last hour's counts with `borderpatrol stats`.
 */
describe('the command line on a running server: grep the logs, print stats', () => {
  let pf: PostfixInstance;
  let child: ChildProcess;
  let dir: string;
  let admin: number;
  let port: number;
  let stdout = '';

  before(async () => {
    pf = await startPostfix();
    port = await freePort();
    admin = await freePort();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-cli-ops-'));
    await fs.mkdir(path.join(dir, 'lists'));
    await fs.writeFile(path.join(dir, 'lists', 'deny_senders.txt'), 'spammer@origin.test\n');
    child = spawn(
      process.execPath,
      [
        'dist/cli.js', 'serve', '--policies', dir, '--listen', `127.0.0.1:${port}`, '--relay', `127.0.0.1:${pf.port}`,
        '--admin', `127.0.0.1:${admin}`, '--data-dir', path.join(dir, 'data'),
        '--set', 'local_domains=example.com', '--set', 'tls.enabled=false', '--set', `admin.password=${PASSWORD}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitForPort(port, '127.0.0.1', 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${stderr}`);
    });
    await waitForPort(admin, '127.0.0.1', 5_000);
  });

  after(async () => {
    child?.kill('SIGKILL');
    await pf?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const grep = (needle: string) => stdout.split('\n').filter((l) => l.includes(needle));

  test("one grep for Postfix's queue id finds our line; its ids find the whole conversation", async () => {
    const r = await send(port, { id: 'grep-1', localAddress: '127.0.0.55' });
    assert.equal(r.code, 0, r.out);
    assert.ok(r.queueId);
    const deadline = Date.now() + 5000;
    while (grep(r.queueId).length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const [line, ...more] = grep(r.queueId);
    assert.equal(more.length, 0);
    const summary = JSON.parse(line ?? '{}') as Record<string, unknown>;
    assert.equal(summary.event, 'transaction');
    assert.equal(summary.queue_id, r.queueId);
    assert.equal(summary.action, 'accept');
    assert.match(String(summary.tx), /^[0-9A-F]{12}$/);
    // The connection id ties the connect, transaction and disconnect lines together.
    const conn = String(summary.conn);
    await new Promise((res) => setTimeout(res, 200));
    const events = grep(`"conn":"${conn}"`).map((l) => (JSON.parse(l) as { event: string }).event);
    assert.ok(events.includes('connect') && events.includes('transaction') && events.includes('disconnect'), events.join(','));
    assert.ok(grep(`"tx":"${String(summary.tx)}"`).length >= 1);
    // And the same queue id in Postfix's own log names the real client Borderpatrol passed on.
    assert.match(await pf.log(), new RegExp(`${r.queueId}: client=localhost\\[127\\.0\\.0\\.1\\], orig_client=unknown\\[127\\.0\\.0\\.55\\]`));
  });

  test('borderpatrol stats prints the last hour by action and refusal reason', async () => {
    const spam = await send(port, { id: 'grep-2', from: 'spammer@origin.test' });
    assert.notEqual(spam.code, 0);
    // The refused transaction is summarised when the client says QUIT.
    const deadline = Date.now() + 5000;
    while (grep('"refusal":"access_sender"').length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const { stdout: out } = await run(process.execPath, ['dist/cli.js', 'stats', '--server', `http://127.0.0.1:${admin}`, '--password', PASSWORD], { timeout: 15_000 });
    assert.match(out, /^Last 1 hour \(.* UTC\): 2 transactions$/m);
    assert.match(out, /by action\n {2}accept +1\n {2}reject +1\n/);
    assert.match(out, /refusals by reason\n {2}access_sender +1\n/);
    const json = await run(process.execPath, ['dist/cli.js', 'stats', '--server', `127.0.0.1:${admin}`, '--password', PASSWORD, '--json', '--window', '600'], { timeout: 15_000 });
    const stats = JSON.parse(json.stdout) as { window: number; total: number };
    assert.equal(stats.window, 600);
    assert.equal(stats.total, 2);
  });

  test("systemctl reload (SIGHUP) applies a policy edit and the server lives on", async () => {
    await fs.writeFile(path.join(dir, 'lists', 'deny_senders.txt'), 'spammer@origin.test\nlater@origin.test\n');
    const before = grep('"event":"policy_reloaded"').length;
    child.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    while (grep('"event":"policy_reloaded"').length === before && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.equal(grep('"event":"policy_reloaded"').length, before + 1);
    assert.equal(child.exitCode, null, 'still running after SIGHUP');
    const r = await send(port, { id: 'hup-1', from: 'later@origin.test' });
    assert.match(r.out, /550 5\.7\.1/);
    const status = await fetch(`http://127.0.0.1:${admin}/policy/status`);
    assert.equal(((await status.json()) as { ok: boolean }).ok, true);
  });

  test('borderpatrol stats explains a missing password and an unreachable server', async () => {
    const noPassword = await run(process.execPath, ['dist/cli.js', 'stats', '--server', `http://127.0.0.1:${admin}`, '--policies', path.join(dir, 'none')], {
      timeout: 15_000,
      env: { ...process.env, BORDERPATROL_PASSWORD: '', BORDERPATROL_PASSWORD_FILE: '' },
    }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(noPassword?.code, 1);
    assert.match(noPassword?.stderr ?? '', /refused the password \(HTTP 401\): give --password PW, \$BORDERPATROL_PASSWORD or \$BORDERPATROL_PASSWORD_FILE/);
    const closed = await freePort();
    const down = await run(process.execPath, ['dist/cli.js', 'stats', '--server', `http://127.0.0.1:${closed}`, '--password', 'x'], { timeout: 15_000 }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(down?.code, 1);
    assert.match(down?.stderr ?? '', new RegExp(`cannot reach the admin API at http://127\\.0\\.0\\.1:${closed}`));
  });
});
