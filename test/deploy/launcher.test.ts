import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis.js';

const run = promisify(execFile);

/**
 * bin/borderpatrol, the one way every shipped setup starts the server (npm start, the
 * systemd unit, the Docker image): it becomes node itself (signals from systemd or Docker
 * reach the server) with V8 options sized for a mail server, which V8 really applies.
 */

const LAUNCHER = path.resolve('bin/borderpatrol');
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-launcher-'));
const children = new Set<ChildProcess>();
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await fs.rm(work, { recursive: true, force: true });
});
// npm test builds dist/ first; a hand run of this file may not have.
await fs.access('dist/cli.js').catch(() => run('npm', ['run', 'build', '--silent'], { timeout: 120_000 }));

/** The options the launcher gives `serve`, as written in it. */
async function serverOptions(): Promise<string[]> {
  const m = /^server_options="([^"]*)"$/m.exec(await fs.readFile(LAUNCHER, 'utf8'));
  assert.ok(m, 'bin/borderpatrol sets server_options');
  return (m[1] as string).split(/\s+/).filter(Boolean);
}

interface Started {
  pid: number;
  argv: string[];
  /** The server process's environment, NAME=value. */
  environ: string[];
  exe: string;
  /** new_space's size from the admin API's /metrics, in bytes. */
  newSpace: () => Promise<number>;
  stop: () => Promise<number | null>;
}

/** `bin/borderpatrol serve` on free ports, as an admin starts it. */
async function serve(name: string, env: Record<string, string | undefined> = {}, more: string[] = []): Promise<Started> {
  const port = await freePort();
  const admin = await freePort();
  const dir = path.join(work, name);
  await fs.mkdir(dir, { recursive: true });
  const child = spawn(LAUNCHER, ['serve', '--policies', dir, '--listen', `127.0.0.1:${port}`, '--relay', `127.0.0.1:${await freePort()}`, '--admin', `127.0.0.1:${admin}`, '--data-dir', path.join(dir, 'data'), '--set', 'tls.enabled=false', '--set', 'local_domains=example.com', ...more], {
    // undefined: not set at all.
    env: Object.fromEntries(Object.entries({ ...process.env, BORDERPATROL_LOG_FORMAT: 'json', ...env }).filter(([, v]) => v !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitForPort(admin, '127.0.0.1', 30_000).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${stderr}`);
  });
  // The SIGTERM handler is in place once the server says it listens (the admin port opens
  // before that): a stop sent earlier would find Node's default action.
  for (const deadline = Date.now() + 30_000; !/"event":"listening"/.test(stdout); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error(`no listening line\n${stdout}\n${stderr}`);
  }
  const argv = (await fs.readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  const environ = (await fs.readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0').filter(Boolean);
  const exe = await fs.readlink(`/proc/${child.pid}/exe`);
  return {
    pid: child.pid ?? 0,
    argv,
    environ,
    exe,
    newSpace: async () => {
      const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
      const m = /^borderpatrol_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(text);
      assert.ok(m, 'new_space in /metrics');
      return Number(m[1]);
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

test('serve: node itself (the launcher execs), with the server options before dist/cli.js, and V8 keeps the young generation within them', async () => {
  const options = await serverOptions();
  const semi = options.find((o) => o.startsWith('--max-semi-space-size='));
  assert.ok(semi, `the launcher bounds the young generation: ${options.join(' ')}`);
  const shipped = await serve('shipped', { BORDERPATROL_NODE_OPTIONS: undefined, MALLOC_ARENA_MAX: undefined });
  try {
    assert.match(path.basename(shipped.exe), /^node/, `the process is node, not a shell: ${shipped.exe}`);
    assert.deepEqual(shipped.argv.slice(1, 1 + options.length), options);
    assert.ok(shipped.argv[1 + options.length]?.endsWith('/dist/cli.js'), shipped.argv.join(' '));
    assert.equal(shipped.argv[2 + options.length], 'serve');
    assert.ok(shipped.environ.includes('MALLOC_ARENA_MAX=2'), 'two malloc arenas unless told otherwise');
    // new_space is two semi-spaces: at most twice the bound, in bytes.
    const bound = 2 * Number(semi.split('=')[1]) * 1024 * 1024;
    const used = await shipped.newSpace();
    assert.ok(used <= bound, `new_space ${used} bytes, bound ${bound}`);
  } finally {
    // SIGTERM reaches the server (no shell in between): a clean stop.
    assert.equal(await shipped.stop(), 0);
  }
});

test('BORDERPATROL_NODE_OPTIONS replaces the server options', async () => {
  const s = await serve('replaced', { BORDERPATROL_NODE_OPTIONS: '--max-semi-space-size=2 --stack-size=900', MALLOC_ARENA_MAX: '4' });
  try {
    assert.ok(s.environ.includes('MALLOC_ARENA_MAX=4'), 'an arena count already set is kept');
    assert.deepEqual(s.argv.slice(1, 3), ['--max-semi-space-size=2', '--stack-size=900']);
    assert.ok(s.argv[3]?.endsWith('/dist/cli.js'), s.argv.join(' '));
    assert.ok((await s.newSpace()) <= 4 * 1024 * 1024);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('npm start runs the server through the launcher', async () => {
  const pkg = JSON.parse(await fs.readFile('package.json', 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  assert.match(pkg.scripts.start ?? '', /(^|&& )bin\/borderpatrol serve\b/);
  assert.equal(pkg.bin.borderpatrol, 'bin/borderpatrol');
});

/** Command lines of a process's children, from /proc. */
async function childCommandLines(pid: number): Promise<string[][]> {
  const out: string[][] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
    out.push((await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean));
  }
  return out;
}

test('workers: 2: each worker runs with the same options as the primary', async () => {
  const redis = await startRedis();
  const options = await serverOptions();
  const s = await serve('workers', { BORDERPATROL_NODE_OPTIONS: undefined }, ['--redis', `redis://127.0.0.1:${redis.port}`, '--set', 'workers=2']);
  try {
    let workers: string[][] = [];
    for (const deadline = Date.now() + 20_000; workers.length < 2 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) workers = await childCommandLines(s.pid);
    assert.equal(workers.length, 2, 'two workers');
    for (const argv of workers) assert.deepEqual(argv.slice(1, 1 + options.length), options, argv.join(' '));
  } finally {
    assert.equal(await s.stop(), 0);
    await redis.stop();
  }
});
