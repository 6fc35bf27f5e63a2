import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from '../helpers/ports.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { cli } from '../policy/helpers.js';
import { spamMessage } from '../bayes/synthetic.js';
import { attempt, sleep } from './fixture.js';

/**
 * The embedded store keeps what it acknowledged: a real server process is killed with
 * SIGKILL right after it answered, and what it answered is there after the restart. And
 * the data dir has one writer: a second server and a writing CLI command are refused.
 */

const PASSWORD = 'crash-secret';
const FROM = 'crash@origin.test';

interface Served {
  child: ChildProcess;
  port: number;
  admin: number;
  output: () => string;
  exited: Promise<number | null>;
}

describe('embedded store: kill -9 and one writer per data dir', () => {
  let sink: SmtpSink;
  let work: string;
  let policies: string;
  let dataDir: string;
  const running = new Set<ChildProcess>();

  before(async () => {
    sink = await startSmtpSink();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-one-writer-'));
    policies = path.join(work, 'policies');
    dataDir = path.join(work, 'data');
    fs.mkdirSync(policies);
  });
  after(async () => {
    for (const c of running) c.kill('SIGKILL');
    await sink?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function serve(): Promise<Served> {
    const port = await freePort();
    const admin = await freePort();
    const args = ['--import', 'tsx', path.resolve('src/cli.ts'), 'serve', '--policies', policies, '--listen', `127.0.0.1:${port}`, '--relay', `127.0.0.1:${sink.port}`, '--admin', `127.0.0.1:${admin}`, '--data-dir', dataDir];
    const set = {
      local_domains: 'example.com',
      'tls.enabled': 'false',
      hostname: 'mx.borderpatrol.test',
      offline: 'true',
      'recipient_verification.mode': 'none',
      'smtp.trusted_networks': '',
      'greylist.enabled': 'true',
      'greylist.delay': '1',
      'admin.password': PASSWORD,
    };
    for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }));
    return { child, port, admin, output: () => out, exited };
  }

  async function started(): Promise<Served> {
    const s = await serve();
    await Promise.race([waitForPort(s.port, '127.0.0.1', 60_000), s.exited.then((code) => assert.fail(`serve exited ${code}: ${s.output()}`))]);
    await waitForPort(s.admin, '127.0.0.1', 10_000);
    return s;
  }

  async function kill9(s: Served): Promise<void> {
    s.child.kill('SIGKILL');
    await s.exited;
  }

  const rspamc = (admin: number, args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile('rspamc', ['-h', `127.0.0.1:${admin}`, '-t', '10', '-P', PASSWORD, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? 1 : 0, out: stdout + stderr });
      });
    });

  const learned = async (admin: number) => ((await (await fetch(`http://127.0.0.1:${admin}/bayes`)).json()) as { learned: { spam: number; ham: number } }).learned;

  it('a greylist pass and an rspamc learn survive kill -9 right after their answer', async () => {
    // 1. Greylisted, then passed after the delay; killed the moment RCPT said 250.
    let s = await started();
    assert.match((await attempt(s.port, { from: FROM })).rcpts[0] ?? '', /^451 4\.7\.1/);
    await sleep(1100);
    const c = await RawSmtp.connect(s.port);
    await c.reply();
    await c.command('EHLO client.test');
    await c.command(`MAIL FROM:<${FROM}>`);
    const rcpt = await c.command('RCPT TO:<user@example.com>');
    assert.equal(rcpt.code, 250, rcpt.text);
    await kill9(s);
    c.close();

    // 2. After the restart the triplet is known (accepted at once); then learn, killed right after rspamc's answer.
    s = await started();
    assert.equal((await attempt(s.port, { from: FROM })).rcpts[0], '250 2.1.5 Accepted', 'the pass survived kill -9');
    const msg = path.join(work, 'spam.eml');
    fs.writeFileSync(msg, spamMessage({ seed: 7 }).replace(/\r\n/g, '\n'));
    const r = await rspamc(s.admin, ['learn_spam', msg]);
    assert.match(r.out, /success = true;/, r.out);
    await kill9(s);

    // 3. The learn is there.
    s = await started();
    try {
      assert.deepEqual(await learned(s.admin), { spam: 1, ham: 0 }, 'the learn survived kill -9');
      assert.match((await rspamc(s.admin, ['learn_spam', msg])).out, /already been learned as spam/);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  it('a second server and a writing CLI command are refused while a server holds the data dir; reading commands read', async () => {
    const s = await started();
    try {
      const pid = s.child.pid;
      const second = await serve();
      assert.equal(await second.exited, 1);
      assert.match(second.output(), new RegExp(`data dir .* is in use by pid ${pid} \\(serve.*one server per data dir`));

      const msg = path.join(work, 'ham.eml');
      fs.writeFileSync(msg, 'From: a@b.test\nSubject: hi\n\nhello there\n');
      const learn = await cli(['learn', 'ham', msg, '--policies', policies, '--data-dir', dataDir]);
      assert.equal(learn.code, 2, learn.stderr);
      assert.match(learn.stderr, new RegExp(`in use by pid ${pid} .*learn cannot write beside it: go through the server with --server`));
      const release = await cli(['greylist', 'release', `127.0.0.0/24|x@y|z@example.com`, '--policies', policies, '--data-dir', dataDir]);
      assert.equal(release.code, 2);
      assert.match(release.stderr, /--server/);

      const list = await cli(['greylist', 'list', 'crash@', '--policies', policies, '--data-dir', dataDir]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /crash@origin\.test\|user@example\.com\t.*\tpassed/);
      assert.equal(await learned(s.admin).then((l) => l.ham), 0, 'the refused learn wrote nothing');
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    // Stopped: the CLI may write now.
    const learn = await cli(['learn', 'ham', path.join(work, 'ham.eml'), '--policies', policies, '--data-dir', dataDir]);
    assert.equal(learn.code, 0, learn.stderr);
  });
});
