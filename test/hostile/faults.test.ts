import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startRedis } from '../helpers/redis.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { normalDelivery, openData, wholeMessage } from './harness.js';

type Pausable = PostfixInstance & { pause: () => Promise<void> };

/**
 * Real components failing under a steady stream of mail. Whatever happens, the invariants
 * of a before-queue proxy hold: a message the client saw 250 for is in Postfix exactly
 * once, every other message got a 4xx or 5xx (never a dropped connection), and a client
 * that retries its deferred messages never causes a second delivery.
 */

/** Clients sending numbered messages until stopped, remembering every message's last answer. */
class Traffic {
  readonly outcomes = new Map<string, { code: number; text: string }>();
  private running = false;
  private loops: Promise<void>[] = [];
  private n = 0;

  constructor(
    private readonly port: number,
    private readonly label: string,
    private readonly from = 'sender@origin.test',
  ) {}

  start(clients: number): void {
    this.running = true;
    this.loops = Array.from({ length: clients }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      await this.send(`${this.label}-${process.pid}-${++this.n}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async send(id: string): Promise<void> {
    try {
      const r = await normalDelivery(this.port, this.label, id, this.from);
      this.outcomes.set(id, { code: r.code, text: r.text });
    } catch (err) {
      // No reply at all: the one outcome the invariants forbid.
      this.outcomes.set(id, { code: 0, text: (err as Error).message });
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  count(pred: (code: number) => boolean): number {
    return [...this.outcomes.values()].filter((o) => pred(o.code)).length;
  }

  /** Send every deferred message again, like an MTA's queue, until it is accepted or refused. */
  async retryDeferred(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const deferred = [...this.outcomes].filter(([, o]) => o.code >= 400 && o.code < 500).map(([id]) => id);
      if (deferred.length === 0) return;
      assert.ok(Date.now() < deadline, `still deferred after retries: ${deferred.length}, e.g. ${JSON.stringify(this.outcomes.get(deferred[0]!))}`);
      for (const id of deferred) await this.send(id);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** The invariants, checked against the mailbox once Postfix has delivered what it queued. */
async function assertNoLossNoDuplicate(t: Traffic, pf: PostfixInstance): Promise<void> {
  const codes = [...t.outcomes.values()];
  assert.ok(codes.length > 0, 'some mail was sent');
  for (const [id, o] of t.outcomes) assert.ok(o.code === 250 || (o.code >= 400 && o.code < 600), `${id}: no SMTP answer (${o.text})`);
  const accepted = [...t.outcomes].filter(([, o]) => o.code === 250).map(([id]) => id);
  // Postfix delivers from its queue shortly after it said 250: wait until the count is stable.
  let copies = new Map<string, number>();
  const deadline = Date.now() + 20_000;
  for (let stable = 0; stable < 3 && Date.now() < deadline; ) {
    const next = new Map<string, number>();
    for (const m of await pf.messages('user')) {
      const id = /^Message-ID: <([^>]+)@origin\.test>$/im.exec(m)?.[1];
      if (id) next.set(id, (next.get(id) ?? 0) + 1);
    }
    const done = accepted.every((id) => next.has(id));
    stable = done && next.size === copies.size ? stable + 1 : 0;
    copies = next;
    await new Promise((r) => setTimeout(r, 300));
  }
  for (const id of accepted) assert.equal(copies.get(id) ?? 0, 1, `${id}: client saw 250, Postfix has ${copies.get(id) ?? 0} copies`);
  for (const [id, o] of t.outcomes) if (o.code >= 500) assert.equal(copies.get(id) ?? 0, 0, `${id}: refused with ${o.code} but delivered`);
}

/** The smtpd processes of one Postfix instance (children of its master). */
function smtpdPids(pf: PostfixInstance): number[] {
  const master = Number(fs.readFileSync(path.join(pf.dir, 'queue', 'pid', 'master.pid'), 'utf8').trim());
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === master && comm === 'smtpd') out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault injection with real Postfix and Redis', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  test('Postfix stopped while clients are inside DATA, then started: 451 4.4.1, retried, delivered once', async () => {
    const pf = (await startPostfix()) as Pausable;
    cleanup.push(() => pf.stop());
    const bp = await startBorderpatrol({ relayPort: pf.port, set: { 'relay.connect_timeout': '2' } });
    cleanup.push(() => bp.stop());
    const t = new Traffic(bp.port, 'stop');
    t.start(3);
    await sleep(500);
    // Five clients hold half-sent messages while Postfix goes away.
    const held = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
      const c = await openData(bp.port);
      const m = wholeMessage(`held-${process.pid}-${i}`);
      c.write(m.slice(0, 60));
      return { c, rest: m.slice(60), id: `held-${process.pid}-${i}` };
    }));
    await pf.pause();
    for (const h of held) h.c.write(h.rest + '.\r\n');
    for (const h of held) {
      const r = await h.c.reply(20_000);
      assert.equal(r.code, 451, r.text);
      assert.match(r.text, /4\.4\.1/);
      h.c.close();
      t.outcomes.set(h.id, { code: r.code, text: r.text });
    }
    await sleep(1500);
    await pf.start();
    await sleep(1000);
    await t.stop();
    assert.ok(t.count((c) => c >= 400 && c < 500) >= 5, 'the outage was visible as 4xx');
    await t.retryDeferred(30_000);
    await assertNoLossNoDuplicate(t, pf);
  });

  test('Postfix slowed mid-transaction (smtpd stopped with SIGSTOP for 3 s, then 2 s to answer the final dot): no loss, no duplicate', async () => {
    // Mail from slow@origin.test waits 2 s at Postfix's end of data (a restriction class).
    const slowMap = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-slow-'));
    cleanup.push(async () => fs.rmSync(slowMap, { recursive: true, force: true }));
    fs.chmodSync(slowMap, 0o755);
    fs.writeFileSync(path.join(slowMap, 'slow'), 'slow@origin.test slowdown\n');
    const pf = await startPostfix({
      main: { smtpd_restriction_classes: 'slowdown', slowdown: 'sleep 2', smtpd_end_of_data_restrictions: `check_sender_access texthash:${path.join(slowMap, 'slow')}` },
    });
    cleanup.push(() => pf.stop());
    // Commands time out fast; the final "." is waited for (relay.data_done_timeout).
    const bp = await startBorderpatrol({ relayPort: pf.port, set: { 'relay.reply_timeout': '1', 'relay.connect_timeout': '1' } });
    cleanup.push(() => bp.stop());
    const t = new Traffic(bp.port, 'slow');
    t.start(4);
    await sleep(1000);
    const frozen = smtpdPids(pf);
    assert.ok(frozen.length > 0, 'Postfix has smtpd processes to stop');
    for (const p of frozen) process.kill(p, 'SIGSTOP');
    try {
      await sleep(3000);
    } finally {
      for (const p of frozen) process.kill(p, 'SIGCONT');
    }
    await sleep(1500);
    await t.stop();
    assert.ok(t.count((c) => c === 250) > 10, 'mail flowed');
    await t.retryDeferred(30_000);
    await assertNoLossNoDuplicate(t, pf);

    // Postfix slow to answer the final "." (2 s, twice the command timeout): the answer is
    // waited for. Giving up would defer a message Postfix then queues, and the client's
    // retry would deliver it a second time.
    const slowEnd = new Traffic(bp.port, 'slow-eod', 'slow@origin.test');
    slowEnd.start(3);
    await sleep(4000);
    await slowEnd.stop();
    assert.ok(slowEnd.count((c) => c === 250) >= 3, 'messages got through the slow end of data');
    assert.equal(slowEnd.count((c) => c !== 250), 0, 'nothing was deferred while Postfix was only slow');
    await assertNoLossNoDuplicate(slowEnd, pf);
  });

  test('Redis stopped and restarted: a tempfail check defers (451 4.3.0) while it is down, mail flows again after', async () => {
    const pf = await startPostfix();
    cleanup.push(() => pf.stop());
    let redis = await startRedis();
    cleanup.push(() => redis.stop());
    const bp = await startBorderpatrol({
      relayPort: pf.port,
      set: { 'store.redis': redis.url, 'store.command_timeout': '200', 'smtp.trusted_networks': '' },
      // Greylisting asks the store at every RCPT; with on_error: tempfail a store failure
      // defers the message. (Rate limits would carry on in memory.)
      files: { 'checks/greylist.yaml': 'enabled: true\non_error: tempfail\ndelay: 0\n' },
    });
    cleanup.push(() => bp.stop());
    // The triplet's first attempt is greylisted; its retry passes it for good.
    const first = await normalDelivery(bp.port, 'redis-prime');
    assert.equal(first.code, 451, first.text);
    assert.equal((await normalDelivery(bp.port, 'redis-prime', first.id)).code, 250);
    const t = new Traffic(bp.port, 'redis');
    t.start(3);
    await sleep(1000);
    const before = t.count((c) => c === 250);
    assert.ok(before > 0, 'mail flows with Redis up');
    await redis.stop();
    await sleep(2000);
    const port = redis.port;
    redis = await startRedis({ port });
    // Mail flows again once the store has reconnected.
    const deadline = Date.now() + 20_000;
    const atRestart = t.count((c) => c === 250);
    while (t.count((c) => c === 250) < atRestart + 5) {
      assert.ok(Date.now() < deadline, 'no mail accepted after Redis came back');
      await sleep(200);
    }
    await t.stop();
    const deferred = [...t.outcomes.values()].filter((o) => o.code >= 400 && o.code < 500);
    assert.ok(deferred.some((o) => /4\.3\.0/.test(o.text)), 'the outage was visible as 451 4.3.0');
    // The restarted Redis is empty: the triplet is greylisted once more, which is its job.
    assert.ok(deferred.every((o) => /4\.3\.0|4\.7\.1 Greylisted/.test(o.text)), `deferred with: ${[...new Set(deferred.map((o) => o.text))].join(' | ')}`);
    await t.retryDeferred(30_000);
    await assertNoLossNoDuplicate(t, pf);
  });

  test('the policy directory made unreadable (chmod 000): the old policy stays in force and mail keeps flowing', async (ctx) => {
    const pf = await startPostfix();
    cleanup.push(() => pf.stop());
    // The server runs as an unprivileged user, as in production: root would read the files anyway.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-unreadable-'));
    cleanup.push(async () => {
      fs.chmodSync(path.join(dir, 'policies'), 0o755);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    fs.chmodSync(dir, 0o755);
    const policies = path.join(dir, 'policies');
    fs.mkdirSync(path.join(policies, 'lists'), { recursive: true });
    fs.writeFileSync(path.join(policies, 'lists', 'deny_senders.txt'), 'blocked@origin.test\n');
    fs.mkdirSync(path.join(dir, 'data'));
    fs.chownSync(path.join(dir, 'data'), 65534, 65534);
    const port = await freePort();
    const args = ['--import', 'tsx', path.resolve('src/cli.ts'), 'serve', '--policies', policies, '--listen', `127.0.0.1:${port}`, '--relay', `127.0.0.1:${pf.port}`, '--admin', `127.0.0.1:${await freePort()}`, '--data-dir', path.join(dir, 'data')];
    for (const s of ['local_domains=example.com', 'tls.enabled=false', 'hostname=mx.borderpatrol.test']) args.push('--set', s);
    const log = fs.openSync(path.join(dir, 'server.log'), 'a');
    const child: ChildProcess = spawn(process.execPath, args, { uid: 65534, gid: 65534, stdio: ['ignore', log, log], cwd: process.cwd() });
    fs.closeSync(log);
    cleanup.push(async () => {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    });
    await waitForPort(port, '127.0.0.1', 30_000);

    const senderAnswer = async (from: string) => {
      const c = await RawSmtp.connect(port);
      await c.hello();
      const r = await c.command(`MAIL FROM:<${from}>`);
      c.close();
      return r.code;
    };
    assert.ok((await senderAnswer('blocked@origin.test')) >= 500, 'the deny list is in force');
    const t = new Traffic(port, 'unreadable');
    t.start(2);
    await sleep(500);
    fs.chmodSync(policies, 0o000);
    // Poke a reload too: the watcher polls, SIGHUP asks at once.
    child.kill('SIGHUP');
    await sleep(2000);
    assert.ok((await senderAnswer('blocked@origin.test')) >= 500, 'the old policy (with its deny list) is still in force');
    const during = t.count((c) => c === 250);
    await sleep(1000);
    assert.ok(t.count((c) => c === 250) > during, 'mail keeps flowing while the policy cannot be read');
    fs.chmodSync(policies, 0o755);
    fs.writeFileSync(path.join(policies, 'lists', 'deny_senders.txt'), 'blocked@origin.test\nalso-blocked@origin.test\n');
    const deadline = Date.now() + 10_000;
    while ((await senderAnswer('also-blocked@origin.test')) < 500) {
      assert.ok(Date.now() < deadline, 'edits take effect again once the directory is readable');
      await sleep(300);
    }
    await t.stop();
    const text = fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
    assert.match(text, /EACCES|permission denied/i, 'the failed reload was logged');
    ctx.diagnostic(`${t.count((c) => c === 250)} messages accepted during the test`);
    await t.retryDeferred(30_000);
    await assertNoLossNoDuplicate(t, pf);
  });
});

