import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { RawSmtp } from '../helpers/raw-smtp.js';

/** The real command line, as an admin runs it: `node dist/cli.js serve …` (built by npm test). */
let pf: PostfixInstance | undefined;
let child: ChildProcess | undefined;
after(async () => {
  child?.kill('SIGKILL');
  await pf?.stop();
});

test('serve with flags relays mail, logs JSON lines, and a SIGTERM finishes the message in flight', async () => {
  pf = await startPostfix();
  const port = await freePort();
  const admin = await freePort();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-cli-'));
  child = spawn(
    process.execPath,
    ['dist/cli.js', 'serve', '--policies', dir, '--listen', `127.0.0.1:${port}`, '--relay', `127.0.0.1:${pf.port}`, '--admin', `127.0.0.1:${admin}`, '--data-dir', path.join(dir, 'data'), '--set', 'local_domains=example.com', '--set', 'tls.enabled=false'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
  await waitForPort(port, '127.0.0.1', 15_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${stderr}`);
  });

  const c = await RawSmtp.connect(port);
  await c.hello();
  assert.equal((await c.command('MAIL FROM:<sender@origin.test>')).code, 250);
  assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
  assert.equal((await c.command('DATA')).code, 354);
  c.write('Subject: sigterm\r\nMessage-ID: <sigterm@origin.test>\r\n\r\nfirst\r\n');
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  c.write('second\r\n.\r\n');
  const r = await c.reply();
  assert.equal(r.code, 250, r.text);
  c.close();
  assert.equal(await exited, 0, stderr);
  const [msg] = await pf.waitForMessages('user', 1);
  assert.match(msg ?? '', /first\nsecond/);

  // One JSON object per line, and the transaction summary names the Postfix queue id.
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.find((l) => l.event === 'transaction');
  assert.ok(summary, stdout);
  assert.equal(summary.action, 'accept');
  assert.match(String(summary.queue_id), /^[A-Z0-9]+$/);
  assert.ok(typeof summary.tx === 'string' && summary.tx.length > 0);
  assert.ok(lines.some((l) => l.event === 'stopped'));
  await fs.rm(dir, { recursive: true, force: true });
});

test('a bad flag is a usage error naming it, exit 2', async () => {
  const out = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const p = spawn(process.execPath, ['dist/cli.js', 'serve', '--listen', 'nonsense'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => resolve({ code, err }));
  });
  assert.equal(out.code, 2);
  assert.match(out.err, /--listen nonsense: expected HOST:PORT/);
});
