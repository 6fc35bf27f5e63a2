import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../test/helpers/ports.js';
import { startPostfix } from '../../test/helpers/postfix.js';
import { loadPolicy, type Override } from '../../src/policy/load.js';
import { spawnProcess, type Proc } from './procs.js';

/** Something smtp-source can send to: its port, and the process whose CPU and memory count. */
export interface Target {
  name: string;
  label: string;
  port: number;
  /** The process (tree) measured for CPU and RSS; null when not measured. */
  pid: number | null;
  /** Its Redis, for round trips per message. */
  redisPort: number | null;
  /** Its Prometheus metrics (Borderpatrol targets), for the full collections per message. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

export const REPO = path.resolve(import.meta.dirname, '..', '..');

/** smtp-sink: takes every message and throws it away (the downstream of every target). */
export async function startSink(workDir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  // -u nobody: smtp-sink drops root after opening its socket. -m: connections served at once.
  const p = await spawnProcess('smtp-sink', ['-u', 'nobody', '-m', '2048', `127.0.0.1:${port}`, '2048'], { port, logFile: path.join(workDir, 'smtp-sink.log') });
  return { port, stop: () => p.stop() };
}

export function directTarget(sinkPort: number): Target {
  return { name: 'direct', label: 'direct smtp-source → smtp-sink (the limit)', port: sinkPort, pid: null, redisPort: null, stop: async () => undefined };
}

export async function startBare(sinkPort: number, workDir: string): Promise<Target> {
  const port = await freePort();
  const p = await spawnProcess(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench', 'bare-relay.ts'), String(port), String(sinkPort), '16'], {
    port,
    cwd: REPO,
    logFile: path.join(workDir, 'bare-relay.log'),
  });
  return { name: 'bare', label: 'bare smtp-server + nodemailer pool, no checks (baseline)', port, pid: p.pid, redisPort: null, stop: () => p.stop() };
}

/** Postfix itself relaying to smtp-sink (its own queue in between), for comparison. */
export async function startPostfixRelay(sinkPort: number): Promise<Target> {
  const pf = await startPostfix({
    main: {
      virtual_mailbox_domains: '',
      relay_domains: 'example.com',
      relayhost: `[127.0.0.1]:${sinkPort}`,
      relay_transport: 'relay',
      default_transport: 'smtp',
      smtpd_banner: '$myhostname ESMTP',
    },
  });
  return { name: 'postfix', label: 'Postfix 3 relaying (smtpd → queue → smtp) to smtp-sink', port: pf.port, pid: null, redisPort: null, stop: () => pf.stop() };
}

export interface BorderpatrolSetup {
  name: string;
  label: string;
  /** A copy of the shipped policies/ to start from; `checks` files are written into it. */
  policyFiles?: Record<string, string>;
  /** Overrides that must be accepted. */
  set: Record<string, string>;
  /** Overrides kept only when this version of the policy schema knows the key. */
  optionalSet?: Record<string, string>;
  redisPort: number | null;
  /** Train Bayes from these directories before the server starts. */
  trainFrom?: { ham: string; spam: string };
  /** Another build's dist/ to run instead of this repository's (an A/B row). */
  dist?: string;
  /** Node.js options for the server process instead of the launcher's (an A/B row; [] = Node's defaults). */
  nodeArgs?: string[];
}

/** A private copy of policies/ with some files replaced. */
export function policyCopy(workDir: string, name: string, files: Record<string, string> = {}): string {
  const dir = path.join(workDir, `policies-${name}`);
  fs.cpSync(path.join(REPO, 'policies'), dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

/** Keep the optional overrides this policy schema accepts, one by one. */
export async function acceptedOverrides(policiesDir: string, required: Override[], optional: Record<string, string>): Promise<{ kept: Override[]; dropped: string[] }> {
  await loadPolicy(policiesDir, { overrides: required });
  const kept: Override[] = [];
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(optional)) {
    try {
      await loadPolicy(policiesDir, { overrides: [...required, ...kept, { key, value }] });
      kept.push({ key, value });
    } catch {
      dropped.push(key);
    }
  }
  return { kept, dropped };
}

export interface PreparedBorderpatrol {
  setup: BorderpatrolSetup;
  policiesDir: string;
  overrides: Override[];
  /** Optional overrides this schema does not know. */
  dropped: string[];
  port: number;
}

/** The policy copy and the overrides a Borderpatrol target runs with (also what `learn` needs). */
export async function prepareBorderpatrol(s: BorderpatrolSetup, sinkPort: number, workDir: string): Promise<PreparedBorderpatrol> {
  const policiesDir = policyCopy(workDir, s.name, s.policyFiles);
  const port = await freePort();
  const adminPort = await freePort();
  const base: Record<string, string> = {
    listen: `127.0.0.1:${port}`,
    'admin.listen': `127.0.0.1:${adminPort}`,
    'relay.host': '127.0.0.1',
    'relay.port': String(sinkPort),
    hostname: 'mx.bench.test',
    local_domains: 'example.com',
    'tls.enabled': 'false',
    'store.data_dir': path.join(workDir, `data-${s.name}`),
    // smtp-source connects from 127.0.0.1 only: loopback is a stranger here (checks run on
    // it as on any client), and the per-IP cap must allow the whole load from one address.
    'smtp.trusted_networks': '',
    'limits.max_connections_per_ip': '2000',
    // Room for the 1,000 idle clients of the memory figure beside connections still closing.
    'limits.max_clients': '2000',
    ...s.set,
  };
  const required = Object.entries(base).map(([key, value]) => ({ key, value }));
  const { kept, dropped } = await acceptedOverrides(policiesDir, required, s.optionalSet ?? {});
  return { setup: s, policiesDir, overrides: [...required, ...kept], dropped, port };
}

/**
 * The command that starts a build's server as the product ships it: the package's launcher
 * (bin/borderpatrol beside that dist/, with the Node options it gives the server), or plain
 * `node dist/cli.js` for a build that has no launcher.
 */
export function serverCommand(dist: string): { cmd: string; args: string[] } {
  const launcher = path.join(dist, '..', 'bin', 'borderpatrol');
  return fs.existsSync(launcher) ? { cmd: launcher, args: [] } : { cmd: process.execPath, args: [path.join(dist, 'cli.js')] };
}

/** `borderpatrol serve` as a child process (so its CPU and memory can be read from /proc). */
export async function startBorderpatrolTarget(p: PreparedBorderpatrol, workDir: string, profileDir?: string): Promise<Target> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // An A/B row: these Node options instead of the ones the launcher gives the server.
  if (p.setup.nodeArgs) env.BORDERPATROL_NODE_OPTIONS = p.setup.nodeArgs.join(' ');
  // --cpu-prof: V8 writes the CPU profile of the whole run when the server exits.
  if (profileDir) env.NODE_OPTIONS = [env.NODE_OPTIONS ?? '', '--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${p.setup.name}.cpuprofile`].join(' ').trim();
  const { cmd, args } = serverCommand(p.setup.dist ?? path.join(REPO, 'dist'));
  // The launcher execs node: the process measured is the server itself.
  const proc: Proc = await spawnProcess(cmd, [...args, 'serve', '--policies', p.policiesDir, ...p.overrides.flatMap((o) => ['--set', `${o.key}=${o.value}`])], { port: p.port, logFile: path.join(workDir, `borderpatrol-${p.setup.name}.log`), cwd: workDir, env, readyTimeoutMs: 30_000 });
  const admin = p.overrides.find((o) => o.key === 'admin.listen')?.value;
  return { name: p.setup.name, label: p.setup.label, port: p.port, pid: proc.pid, redisPort: p.setup.redisPort, metricsUrl: admin ? `http://${admin}/metrics` : undefined, stop: () => proc.stop(35_000) };
}
