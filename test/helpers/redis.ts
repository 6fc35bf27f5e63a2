import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './ports.js';

const run = promisify(execFile);

/**
 * Real redis-server processes for tests: loopback only, free ports, a temp dir each, no
 * persistence. Every process is killed by stop(), and (as a last resort) when the test
 * process exits, so a failing test never leaves one behind.
 */

export interface RunningRedis {
  url: string;
  port: number;
  /** The server process (to pause it with SIGSTOP in a test). */
  pid: number;
  /** Kill the server and remove its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RunningRedisCluster {
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of alive) p.kill('SIGKILL');
});

interface Spawned {
  child: ChildProcess;
  port: number;
  dir: string;
}

async function spawnRedis(args: (port: number, dir: string) => string[], fixedPort?: number, sentinelConfig?: string): Promise<Spawned> {
  let lastError: Error | null = null;
  // A port that was free a moment ago can be taken by another test run: try a few.
  for (let attempt = 0; attempt < (fixedPort ? 1 : 4); attempt++) {
    const port = fixedPort ?? (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-redis-'));
    // A Sentinel rewrites its config file, so it needs one of its own to start from.
    const lead: string[] = [];
    if (sentinelConfig !== undefined) {
      fs.writeFileSync(path.join(dir, 'sentinel.conf'), sentinelConfig);
      lead.push(path.join(dir, 'sentinel.conf'), '--sentinel');
    }
    const child = spawn('redis-server', [...lead, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', path.join(dir, 'redis.log'), ...args(port, dir)], {
      stdio: 'ignore',
    });
    alive.add(child);
    child.once('exit', () => alive.delete(child));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server on ${port} exited (${code}): ${readLog(dir)}`))));
    try {
      await Promise.race([waitForPort(port, '127.0.0.1', 10_000), exited]);
      return { child, port, dir };
    } catch (err) {
      lastError = err as Error;
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}

async function kill(s: Spawned): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise((r) => s.child.once('exit', r));
    s.child.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  fs.rmSync(s.dir, { recursive: true, force: true });
}

/** A standalone redis-server. Pass `port` to start it again where a stopped one was. */
export async function startRedis(options: { port?: number } = {}): Promise<RunningRedis> {
  const s = await spawnRedis(() => [], options.port);
  let stopped: Promise<void> | null = null;
  return { url: `redis://127.0.0.1:${s.port}`, port: s.port, pid: s.child.pid ?? 0, stop: () => (stopped ??= kill(s)) };
}

/** Three masters, no replicas, slots spread by redis-cli --cluster create. */
export async function startRedisCluster(): Promise<RunningRedisCluster> {
  const nodes: Spawned[] = [];
  const stopAll = async () => {
    await Promise.all(nodes.map(kill));
  };
  try {
    for (let i = 0; i < 3; i++) {
      const busPort = await freePort();
      nodes.push(
        await spawnRedis((port, dir) => [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', path.join(dir, 'nodes.conf'),
          '--cluster-port', String(busPort),
          '--cluster-node-timeout', '2000',
        ]),
      );
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(nodes.map((n) => run('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { timeout: 5000 }).then((r) => r.stdout)));
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok after 20 s: ${states.join(' / ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopped: Promise<void> | null = null;
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    ports: nodes.map((n) => n.port),
    stop: () => (stopped ??= stopAll()),
  };
}

/** A master and one Sentinel watching it (quorum 1), as redis+sentinel://…/mymaster. */
export async function startRedisSentinel(): Promise<RunningRedisCluster> {
  const master = await startRedis();
  let sentinel: Spawned;
  try {
    sentinel = await spawnRedis(() => [], undefined, `sentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`);
  } catch (err) {
    await master.stop();
    throw err;
  }
  let stopped: Promise<void> | null = null;
  return {
    url: `redis+sentinel://127.0.0.1:${sentinel.port}/mymaster`,
    ports: [master.port, sentinel.port],
    stop: () => (stopped ??= Promise.all([kill(sentinel), master.stop()]).then(() => undefined)),
  };
}
