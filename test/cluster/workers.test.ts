import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { startPostfix } from '../helpers/postfix.js';
import { startRedis } from '../helpers/redis.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { normalDelivery, waitForMessage, wholeMessage } from '../hostile/harness.js';

const run = promisify(execFile);

/** `borderpatrol serve` as a child (node:cluster needs a process of its own), from the sources. */
function serve(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli.ts'), 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** pid of every JSON log line with this event. */
function pidsOf(output: string, event: string): number[] {
  return output
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => (JSON.parse(l) as { pid: number }).pid);
}

describe('workers: several processes on one listening socket', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  test('workers > 1 without Redis is a policy error naming the key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-workers-'));
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const s = serve(['--policies', dir, '--listen', `127.0.0.1:${await freePort()}`, '--set', 'workers=2', '--set', 'admin.enabled=false', '--set', 'tls.enabled=false', '--data-dir', path.join(dir, 'data')]);
    assert.equal(await exited(s.child, 30_000), 1);
    assert.match(s.output(), /workers.*needs store\.redis/);
  });

  test('two workers share the port and the load, /metrics adds them up, a dead worker is replaced, SIGTERM finishes mail in flight', async () => {
    const pf = await startPostfix();
    cleanup.push(() => pf.stop());
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-workers-'));
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const admin = await freePort();
    const s = serve([
      '--policies', dir,
      '--listen', `127.0.0.1:${port}`,
      '--relay', `127.0.0.1:${pf.port}`,
      '--admin', `127.0.0.1:${admin}`,
      '--redis', redis.url,
      '--set', 'workers=2',
      '--set', 'local_domains=example.com',
      '--set', 'tls.enabled=false',
      '--set', 'hostname=mx.borderpatrol.test',
      '--set', 'limits.shutdown_grace=8',
    ]);
    cleanup.push(async () => {
      s.child.kill('SIGKILL');
      await exited(s.child, 5000);
    });
    await waitForPort(port, '127.0.0.1', 30_000);
    const deadline = Date.now() + 30_000;
    while (!s.output().includes('"event":"workers_started"')) {
      assert.ok(Date.now() < deadline, `workers did not start:\n${s.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // The kernel hands each connection to whichever worker accepts first: send bursts until
    // both have taken some (bounded).
    let sent = 0;
    for (let burst = 0; burst < 10 && new Set(pidsOf(s.output(), 'transaction')).size < 2; burst++) {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => normalDelivery(port, `w${burst}-${i}`)));
      assert.deepEqual(new Set(results.map((r) => r.code)), new Set([250]));
      if (burst === 0) for (const r of results.slice(0, 3)) assert.equal(await waitForMessage(pf, 'user', r.id), 1);
      sent += results.length;
    }
    const served = new Set(pidsOf(s.output(), 'transaction'));
    assert.equal(served.size, 2, 'both workers took connections');

    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    const accepted = Number(/^borderpatrol_transactions_total\{action="accept"\} (\d+)/m.exec(metrics)?.[1]);
    assert.equal(accepted, sent, 'the metrics are the sum over both workers');
    // Gauges that are not amounts are not summed: validity is the worst worker's, a
    // timestamp the newest, and the start time is kept (prom-client's cluster sum drops it).
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(gauge('borderpatrol_policy_valid'), 1);
    const now = Date.now() / 1000;
    const loaded = gauge('borderpatrol_policy_loaded_timestamp_seconds');
    assert.ok(loaded > now - 300 && loaded <= now + 1, `policy_loaded_timestamp_seconds is one timestamp, not a sum: ${loaded}`);
    const started = gauge('borderpatrol_process_start_time_seconds');
    assert.ok(started > now - 300 && started <= now + 1, `process_start_time_seconds is kept: ${started}`);

    // A worker that dies is replaced; the port keeps answering meanwhile.
    const [victim] = served;
    process.kill(victim!, 'SIGKILL');
    assert.equal((await normalDelivery(port, 'after-kill')).code, 250);
    const replaced = Date.now() + 20_000;
    while ((await run('pgrep', ['-P', String(s.child.pid)]).then((r) => r.stdout.trim().split('\n').length, () => 0)) < 2) {
      assert.ok(Date.now() < replaced, 'the dead worker was not replaced');
      await new Promise((r) => setTimeout(r, 200));
    }

    // SIGTERM while a client is inside DATA: its message is still relayed and answered.
    const c = await RawSmtp.connect(port);
    await c.hello();
    assert.equal((await c.command('MAIL FROM:<sender@origin.test>')).code, 250);
    assert.equal((await c.command('RCPT TO:<user@example.com>')).code, 250);
    assert.equal((await c.command('DATA')).code, 354);
    c.write('Subject: in flight\r\n');
    s.child.kill('SIGTERM');
    const signalled = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    c.write(wholeMessage('in-flight').replace(/^[\s\S]*?\r\n\r\n/, '\r\n').replace(/^/, 'Message-ID: <in-flight@origin.test>') + '.\r\n');
    const r = await c.reply(20_000);
    assert.equal(r.code, 250, r.text);
    c.close();
    // The workers leave on their own once their transactions are done: well inside
    // limits.shutdown_grace (8 s here), not at the primary's SIGKILL after it.
    assert.equal(await exited(s.child, 40_000), 0);
    assert.ok(Date.now() - signalled < 8000, `SIGTERM took ${Date.now() - signalled} ms`);
    assert.equal(await waitForMessage(pf, 'user', 'in-flight'), 1);
  });
});
