import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cli } from '../policy/helpers.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const run = promisify(execFile);

/**
 * The command line's manners: version, help, a reader that stops early, the admin password
 * from the environment (serve included), and the install step that puts `borderpatrol` on
 * PATH running the Node 24 installed with it.
 */

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-cli-manners-'));
after(() => fs.rm(work, { recursive: true, force: true }));
const pkg = JSON.parse(await fs.readFile('package.json', 'utf8')) as { version: string };

test('--version prints the package version and the Node that runs it', async () => {
  const r = await cli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `borderpatrol ${pkg.version} (node ${process.version})\n`);
});

test('the help gives one line per command; help COMMAND and COMMAND --help print the same', async () => {
  const top = await cli(['--help']);
  assert.equal(top.code, 0);
  for (const name of ['serve', 'policy', 'list', 'greylist', 'scan', 'learn', 'stats']) {
    assert.match(top.stdout, new RegExp(`^  ${name} +\\S.{10,}$`, 'm'), `a line for ${name}`);
  }
  for (const name of ['learn', 'policy']) {
    const viaHelp = await cli(['help', name]);
    const viaFlag = await cli([name, '--help']);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    assert.notEqual(viaHelp.stdout, top.stdout);
    assert.match(viaHelp.stdout, new RegExp(`^Usage: borderpatrol ${name}`));
  }
  const unknown = await cli(['help', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "nope"/);
});

test('a reader that closes the pipe early ends the command quietly with status 0', async () => {
  // Output far larger than a pipe's buffer: a long list, printed by `policy show`.
  const dir = path.join(work, 'big-policy');
  await fs.mkdir(path.join(dir, 'lists'), { recursive: true });
  await fs.writeFile(path.join(dir, 'lists', 'deny_senders.txt'), Array.from({ length: 20_000 }, (_, i) => `sender${i}@spam.example`).join('\n') + '\n');
  const script = `"${process.execPath}" --import tsx src/cli.ts policy show --policies "${dir}" | head -1; echo "status=\${PIPESTATUS[0]}"`;
  const { stdout, stderr } = await run('bash', ['-c', script], { timeout: 60_000 });
  assert.equal(stdout.split('\n').length, 3, stdout.slice(0, 300));
  assert.match(stdout, /status=0\n$/);
  assert.equal(stderr, '', 'no stack trace');
});

test('serve reads the admin password from BORDERPATROL_PASSWORD_FILE (never the command line)', async () => {
  const secret = path.join(work, 'password');
  await fs.writeFile(secret, 'file-secret\n', { mode: 0o600 });
  const port = await freePort();
  const admin = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--policies', path.join(work, 'serve-policies'), '--listen', `127.0.0.1:${port}`, '--relay', `127.0.0.1:${await freePort()}`, '--admin', `127.0.0.1:${admin}`, '--data-dir', path.join(work, 'data'), '--set', 'tls.enabled=false', '--set', 'local_domains=example.com'], {
    env: { ...process.env, BORDERPATROL_PASSWORD: '', BORDERPATROL_PASSWORD_FILE: secret, BORDERPATROL_LOG_FORMAT: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await fs.mkdir(path.join(work, 'serve-policies'), { recursive: true });
    await waitForPort(admin, '127.0.0.1', 30_000);
    const get = (password?: string) => fetch(`http://127.0.0.1:${admin}/greylist`, { headers: password ? { Password: password } : {} }).then((r) => r.status);
    assert.equal(await get('file-secret'), 200);
    assert.equal(await get('wrong'), 401);
    assert.equal(await get(), 401);
    const cmdline = await fs.readFile(`/proc/${child.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes('file-secret'));
    // Not a terminal: one JSON object per line, each naming the host.
    const first = JSON.parse(out.split('\n')[0] ?? '') as { hostname?: string; event?: string };
    assert.equal(first.hostname, os.hostname());
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  // A file that is not there is named.
  const missing = await cli(['greylist', 'list', '--server', 'http://127.0.0.1:1'], { env: { BORDERPATROL_PASSWORD: '', BORDERPATROL_PASSWORD_FILE: path.join(work, 'nope') } });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /BORDERPATROL_PASSWORD_FILE .*nope: no such file/);
});

test('serve --log-format human: lines for a person, with the host', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--log-format', 'human', '--policies', path.join(work, 'serve-policies'), '--listen', `127.0.0.1:${port}`, '--relay', `127.0.0.1:${await freePort()}`, '--set', 'admin.enabled=false', '--data-dir', path.join(work, 'data-human'), '--set', 'tls.enabled=false', '--set', 'local_domains=example.com'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitForPort(port, '127.0.0.1', 30_000);
    const deadline = Date.now() + 10_000;
    while (!out.includes('listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const line = out.split('\n').find((l) => l.includes('listening')) ?? '';
    assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  ${os.hostname().replace(/\./g, '\\.')} borderpatrol listening  .*event=listening .*port=${port}`));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const bad = await cli(['serve', '--log-format', 'xml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--log-format xml: expected human or json/);
});

test('npm install -g . puts borderpatrol on PATH, run by the Node 24 of node_modules, not the first node on PATH', async () => {
  // npm test builds dist/ first; a hand run of this file may not have.
  await fs.access('dist/cli.js').catch(() => run('npm', ['run', 'build', '--silent'], { timeout: 120_000 }));
  const prefix = path.join(work, 'prefix');
  await run('npm', ['install', '-g', '.', '--prefix', prefix, '--no-audit', '--no-fund'], { timeout: 120_000 });
  // The system's node (older) first on PATH, as on a Debian machine.
  const { stdout } = await run(path.join(prefix, 'bin', 'borderpatrol'), ['--version'], { env: { ...process.env, PATH: `/usr/bin:/bin` } });
  const bundled = (await run('node_modules/.bin/node', ['--version'])).stdout.trim();
  assert.equal(stdout, `borderpatrol ${pkg.version} (node ${bundled})\n`);
  assert.match(bundled, /^v24\./);
});
