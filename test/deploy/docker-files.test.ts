import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { SERVE_HELP } from '../../src/cluster/serve.js';
import { readRecipe } from './recipes.js';

const run = promisify(execFile);
const ROOT = path.resolve('.');
const DOCKER = path.join(ROOT, 'docker');

/**
 * There is no Docker engine where the tests run, so the Docker files are checked for what
 * breaks a build or a start: every file they copy, mount or run exists, the command is
 * one the CLI has, the image runs as a non-root user with only dist/ and production
 * dependencies, and the Postfix they ship is configured like docs/postfix.md says.
 */

interface Instruction {
  cmd: string;
  args: string;
  line: number;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (line === '' || line.startsWith('#'))) return;
    if (!buf) start = i + 1;
    if (line.startsWith('#')) return;
    buf += (buf ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const m = /^(\S+)\s*(.*)$/.exec(buf) as RegExpExecArray;
      out.push({ cmd: (m[1] as string).toUpperCase(), args: m[2] as string, line: start });
      buf = '';
    }
  });
  return out;
}

interface Stage {
  name: string;
  steps: Instruction[];
}

function stages(ins: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const i of ins) {
    if (i.cmd === 'FROM') out.push({ name: /\bAS\s+(\S+)/i.exec(i.args)?.[1] ?? String(out.length), steps: [] });
    else out[out.length - 1]?.steps.push(i);
  }
  return out;
}

/** COPY/ADD: flags, sources, destination (shell or JSON form). */
function copyParts(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--(\w+)=(\S+)\s+/.exec(rest); m; m = /^--(\w+)=(\S+)\s+/.exec(rest)) {
    flags[m[1] as string] = m[2] as string;
    rest = rest.slice(m[0].length);
  }
  const parts = rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : rest.trim().split(/\s+/);
  return { flags, sources: parts.slice(0, -1), dest: parts[parts.length - 1] as string };
}

/** The .dockerignore patterns as tests on a context-relative path. */
async function ignored(context: string): Promise<(p: string) => boolean> {
  const text = await fs.readFile(path.join(context, '.dockerignore'), 'utf8').catch(() => '');
  const res = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(/.*)?$'));
  return (p) => res.some((re) => re.test(p.replace(/^\.\//, '').replace(/\/$/, '')));
}

async function checkDockerfile(file: string, context: string): Promise<Stage[]> {
  const st = stages(instructions(await fs.readFile(file, 'utf8')));
  assert.ok(st.length > 0, `${file}: no FROM`);
  const isIgnored = await ignored(context);
  const names = new Set(st.map((s) => s.name));
  for (const s of st) {
    for (const i of s.steps.filter((x) => x.cmd === 'COPY' || x.cmd === 'ADD')) {
      const { flags, sources } = copyParts(i.args);
      if (flags.from) {
        assert.ok(names.has(flags.from), `${file}:${i.line}: COPY --from=${flags.from} names no stage`);
        continue;
      }
      for (const src of sources) {
        assert.ok(fsSync.existsSync(path.join(context, src)), `${file}:${i.line}: ${i.cmd} source ${src} does not exist in ${path.relative(ROOT, context) || '.'}`);
        assert.ok(!isIgnored(src), `${file}:${i.line}: ${src} is excluded by .dockerignore`);
      }
    }
  }
  return st;
}

/** Every `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR:?x}` used in a compose file, and the required ones. */
function composeVariables(text: string): { all: Set<string>; required: Set<string> } {
  const all = new Set<string>();
  const required = new Set<string>();
  for (const m of text.matchAll(/\$\{(\w+)(:?[-?][^}]*)?\}/g)) {
    all.add(m[1] as string);
    if ((m[2] ?? '').startsWith(':?')) required.add(m[1] as string);
  }
  return { all, required };
}

const temp: string[] = [];
after(async () => {
  for (const d of temp) await fs.rm(d, { recursive: true, force: true });
});

describe('docker/ files reference only what exists', () => {
  test('Dockerfile: multi-stage, copies only existing paths, runs serve through bin/borderpatrol as a non-root user', async () => {
    const st = await checkDockerfile(path.join(DOCKER, 'Dockerfile'), ROOT);
    assert.ok(st.length >= 2, 'multi-stage');
    const final = st[st.length - 1] as Stage;
    const text = (cmd: string) => final.steps.filter((i) => i.cmd === cmd).map((i) => i.args);
    const all = st.flatMap((s) => s.steps);
    // The build stage builds with the package's own script; dist/cli.js comes from src/cli.ts.
    const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.ok(pkg.scripts.build, 'package.json has a build script');
    assert.ok(all.some((i) => i.cmd === 'RUN' && /npm ci\b/.test(i.args) && !/omit=dev/.test(i.args)));
    assert.ok(all.some((i) => i.cmd === 'RUN' && /npm run build/.test(i.args)));
    assert.ok(fsSync.existsSync(path.join(ROOT, 'src', 'cli.ts')));
    const tsconfig = JSON.parse(await fs.readFile(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    assert.deepEqual([tsconfig.compilerOptions.rootDir, tsconfig.compilerOptions.outDir], ['src', 'dist']);
    // The runtime stage: dist/ from the build, node_modules from an --omit=dev install, no sources.
    const copies = text('COPY').map(copyParts);
    assert.ok(copies.some((c) => c.flags.from && c.sources.some((s) => /\/dist$/.test(s))), 'copies dist/ from the build stage');
    const depsStage = st.find((s) => copies.some((c) => c.flags.from === s.name && c.sources.some((x) => /node_modules$/.test(x))));
    assert.ok(depsStage?.steps.some((i) => i.cmd === 'RUN' && /npm ci --omit=dev/.test(i.args)), 'node_modules come from a production-only install');
    assert.ok(!copies.some((c) => !c.flags.from && c.sources.some((s) => /^(\.\/)?(src|test|node_modules)\b/.test(s))), 'no sources in the runtime image');
    // Non-root, port 25 through one capability, health from the admin API.
    const user = text('USER').at(-1) ?? 'root';
    assert.ok(!['root', '0', '0:0'].includes(user), `runs as ${user}`);
    assert.ok(text('RUN').some((r) => /setcap cap_net_bind_service=\+ep/.test(r)));
    const health = text('HEALTHCHECK').join(' ');
    assert.match(health, /127\.0\.0\.1:11334\/healthz/);
    const cmd = JSON.parse(text('CMD').at(-1) ?? '[]') as string[];
    // The launcher (the server's Node options), copied into the image, running serve.
    assert.deepEqual(cmd.slice(0, 2), ['/app/bin/borderpatrol', 'serve']);
    assert.ok(copies.some((c) => !c.flags.from && c.sources.includes('bin')), 'copies bin/ into the image');
    assert.equal(final.steps.filter((i) => i.cmd === 'WORKDIR').at(-1)?.args, '/app');
    for (const flag of cmd.filter((a) => a.startsWith('--'))) assert.ok(SERVE_HELP.includes(`${flag} `), `serve has no ${flag}`);
    assert.match(await fs.readFile(path.join(ROOT, 'src', 'cli.ts'), 'utf8'), /\bserve: \{ run: serveCommand\b/);
  });

  test('docker-compose.yml: build contexts, mounts, commands and variables exist', async () => {
    const file = path.join(DOCKER, 'docker-compose.yml');
    const text = await fs.readFile(file, 'utf8');
    const doc = parseYaml(text, { merge: true }) as {
      services: Record<string, { build?: { context: string; dockerfile?: string }; command?: string[]; volumes?: string[]; env_file?: string[]; depends_on?: Record<string, unknown>; profiles?: string[]; ports?: string[] }>;
      volumes?: Record<string, unknown>;
    };
    const services = Object.entries(doc.services);
    assert.ok(services.length >= 3);
    for (const [name, svc] of services) {
      if (svc.build) {
        const context = path.resolve(DOCKER, svc.build.context);
        assert.ok(fsSync.existsSync(context), `${name}: build context ${svc.build.context}`);
        const dockerfile = path.join(context, svc.build.dockerfile ?? 'Dockerfile');
        assert.ok(fsSync.existsSync(dockerfile), `${name}: ${dockerfile}`);
        await checkDockerfile(dockerfile, context);
      }
      for (const v of svc.volumes ?? []) {
        const source = v.split(':')[0] as string;
        if (source.startsWith('.') || source.startsWith('/')) assert.ok(fsSync.existsSync(path.resolve(DOCKER, source)), `${name}: volume source ${source}`);
        else assert.ok(doc.volumes && source in doc.volumes, `${name}: named volume ${source} is declared`);
      }
      for (const e of svc.env_file ?? []) assert.ok(fsSync.existsSync(path.resolve(DOCKER, e)), `${name}: env_file ${e}`);
      for (const dep of Object.keys(svc.depends_on ?? {})) assert.ok(dep in doc.services, `${name} depends on unknown ${dep}`);
      const cmd = svc.command ?? [];
      const cli = cmd.indexOf('/app/bin/borderpatrol');
      assert.ok(!cmd.includes('dist/cli.js'), `${name}: starts the server through the launcher`);
      if (cli >= 0) {
        assert.equal(cmd[cli + 1], 'serve', `${name}: runs serve`);
        for (const flag of cmd.filter((a) => a.startsWith('--'))) assert.ok(SERVE_HELP.includes(`${flag} `), `${name}: serve has no ${flag}`);
      }
    }
    // Mode 1 plus a second MX on the same Redis.
    const mx = services.filter(([, s]) => (s.command ?? []).includes('/app/bin/borderpatrol'));
    assert.ok(mx.length >= 2, 'two Borderpatrol services');
    for (const [, s] of mx) {
      const cmd = s.command ?? [];
      assert.equal(cmd[cmd.indexOf('--redis') + 1], 'redis://redis:6379/0');
      assert.equal(cmd[cmd.indexOf('--relay') + 1], 'postfix:10025');
    }
    assert.ok(mx.some(([, s]) => s.profiles?.includes('two-mx')));
    assert.ok(mx.some(([, s]) => (s.ports ?? []).includes('25:25')));
    // Every variable the file needs has a line in .env.example.
    const example = await fs.readFile(path.join(DOCKER, '.env.example'), 'utf8');
    const { all, required } = composeVariables(text);
    for (const v of required) assert.match(example, new RegExp(`^${v}=`, 'm'), `.env.example lacks ${v}`);
    for (const v of all) assert.match(example, new RegExp(`^${v}=`, 'm'), `.env.example lacks ${v}`);
    assert.match(await fs.readFile(path.join(ROOT, '.gitignore'), 'utf8'), /^docker\/\.env$/m);
  });

  test('the Postfix container is valid for Postfix and uses the documented mode mx lines', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-docker-postfix-'));
    temp.push(dir);
    for (const f of ['main.cf', 'master.cf']) await fs.copyFile(path.join(DOCKER, 'postfix', f), path.join(dir, f));
    const main = await run('/usr/sbin/postconf', ['-c', dir, '-n']);
    assert.equal(main.stderr, '', main.stderr);
    const master = await run('/usr/sbin/postconf', ['-c', dir, '-M']);
    assert.equal(master.stderr, '', master.stderr);
    assert.match(master.stdout, /^10025\s+inet\s+n\s+-\s+n\s+-\s+-\s+smtpd /m);
    // The same -o lines as docs/postfix.md, with the compose network for 127.0.0.0/8.
    const documented = (await readRecipe('mx')).master.split('\n').filter((l) => l.trim().startsWith('-o '));
    const shipped = (await fs.readFile(path.join(DOCKER, 'postfix', 'master.cf'), 'utf8')).split('\n').filter((l) => l.trim().startsWith('-o '));
    assert.deepEqual(shipped.map((l) => l.trim()), documented.map((l) => l.trim().replace(/127\.0\.0\.0\/8/g, '$borderpatrol_network')));
    const entry = path.join(DOCKER, 'postfix', 'entrypoint.sh');
    assert.ok((await fs.stat(entry)).mode & 0o111, 'the entrypoint is executable');
    await run('sh', ['-n', entry]);
  });
});
