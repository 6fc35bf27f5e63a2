import fs from 'node:fs';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { waitForPort } from '../../test/helpers/ports.js';

/**
 * Child processes of a benchmark run and what /proc says about them. Every process started
 * here is killed when the run ends, however it ends.
 */

const started = new Set<ChildProcess>();
function killAll(): void {
  for (const c of started) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Wait until this port accepts connections. */
  port?: number;
  /** Or until a line on stdout matches. */
  ready?: RegExp;
  /** Where stdout and stderr go (default: discarded). */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readyTimeoutMs?: number;
}

export async function spawnProcess(cmd: string, args: string[], o: SpawnOptions = {}): Promise<Proc> {
  const out = o.logFile ? fs.openSync(o.logFile, 'a') : 'ignore';
  const child = spawn(cmd, args, { stdio: ['ignore', o.ready ? 'pipe' : out, out], env: o.env ?? process.env, cwd: o.cwd });
  if (typeof out === 'number') fs.closeSync(out);
  started.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => started.delete(child));
  const proc: Proc = {
    child,
    pid: child.pid ?? 0,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  const timeout = o.readyTimeoutMs ?? 20_000;
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) => reject(new Error(`${cmd} exited (${code ?? sig}) before it was ready${o.logFile ? `; see ${o.logFile}` : ''}`))),
  );
  died.catch(() => undefined);
  try {
    if (o.ready) {
      const pattern = o.ready;
      const matched = new Promise<void>((resolve, reject) => {
        let seen = '';
        const t = setTimeout(() => reject(new Error(`${cmd}: no ${pattern} on stdout within ${timeout} ms`)), timeout);
        child.stdout?.on('data', (d: Buffer) => {
          seen = (seen + d.toString()).slice(-4096);
          if (pattern.test(seen)) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      await Promise.race([matched, died]);
    } else if (o.port) {
      await Promise.race([waitForPort(o.port, '127.0.0.1', timeout), died]);
    }
  } catch (err) {
    await proc.stop(500);
    throw err;
  }
  return proc;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The process and every descendant (cluster workers). */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = parents.get(stat.ppid) ?? [];
    list.push(Number(name));
    parents.set(stat.ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of parents.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

function readStat(pid: number): { ppid: number; cpuTicks: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: fields start after ")".
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After ")": state(3) ppid(4) … utime(14) stime(15), so index = field number − 3.
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** CPU time (user + system) used so far by the process tree, in ms. */
export function cpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.cpuTicks ?? 0;
  return (ticks * 1000) / CLK_TCK;
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of the process tree now, MB. */
export function rssMb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusKb(p, 'VmRSS'), 0) / 1024;
}

/** Peak resident memory since the last resetPeak(), summed over the tree, MB. */
export function peakRssMb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusKb(p, 'VmHWM'), 0) / 1024;
}

/** Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM). */
export function resetPeak(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      fs.writeFileSync(`/proc/${p}/clear_refs`, '5');
    } catch {
      /* not ours to reset (or gone): the peak then covers the process lifetime */
    }
  }
}
