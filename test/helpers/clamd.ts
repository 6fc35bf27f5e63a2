import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';

/**
 * A real clamd (Debian's clamav-daemon) for tests: in the foreground, in a temp dir, on a
 * Unix socket there or a loopback TCP port, with a signature database the helper writes
 * itself: one MD5 signature for the EICAR test file. Nothing is downloaded, so it starts
 * in about a second. Killed by stop() and, as a last resort, when the test process exits.
 */

export interface RunningClamd {
  /** What antivirus.clamd takes: the socket path, or 127.0.0.1:PORT. */
  address: string;
  /** The name clamd reports for the EICAR file (it adds .UNOFFICIAL to local signatures). */
  signature: string;
  stop(): Promise<void>;
}

export const EICAR_SIGNATURE = 'Borderpatrol.Test.EICAR';

/**
 * The 68-byte EICAR antivirus test file, put together at run time so no file in the
 * repository is itself the test string a scanner on a developer's machine would flag.
 */
export function eicar(): Buffer {
  return Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join(''), 'latin1');
}

const CLAMD = ['/usr/sbin/clamd', '/usr/bin/clamd'].find((p) => fs.existsSync(p)) ?? 'clamd';

const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of alive) p.kill('SIGKILL');
});

/** PING until clamd answers PONG (it loads its database before it listens). */
async function waitForPong(address: net.NetConnectOpts, exited: Promise<never>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ping = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect(address);
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.once('connect', () => s.write('zPING\0'));
      s.once('close', () => resolve(got.startsWith('PONG')));
      s.once('error', () => resolve(false));
    });
  for (;;) {
    if (await Promise.race([ping(), exited])) return;
    if (Date.now() > deadline) throw new Error(`clamd did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startClamd(options: { tcp?: boolean } = {}): Promise<RunningClamd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-clamd-'));
  const db = path.join(dir, 'db');
  fs.mkdirSync(db);
  const file = eicar();
  const md5 = crypto.createHash('md5').update(file).digest('hex');
  // An .hdb line: MD5 of the whole file, its size, the name to report.
  fs.writeFileSync(path.join(db, 'test.hdb'), `${md5}:${file.length}:${EICAR_SIGNATURE}\n`);
  const port = options.tcp ? await freePort() : 0;
  const socket = path.join(dir, 'clamd.sock');
  const listen = options.tcp ? [`TCPSocket ${port}`, 'TCPAddr 127.0.0.1'] : [`LocalSocket ${socket}`];
  const conf = ['Foreground yes', `DatabaseDirectory ${db}`, `LogFile ${path.join(dir, 'clamd.log')}`, 'StreamMaxLength 10M', ...listen];
  fs.writeFileSync(path.join(dir, 'clamd.conf'), conf.join('\n') + '\n');
  const child = spawn(CLAMD, ['-c', path.join(dir, 'clamd.conf')], { stdio: 'ignore' });
  alive.add(child);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => {
      alive.delete(child);
      reject(new Error(`clamd exited (${code}): ${readLog(dir)}`));
    }),
  );
  exited.catch(() => {});
  const stop = async (): Promise<void> => {
    if (alive.has(child)) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPong(options.tcp ? { host: '127.0.0.1', port } : { path: socket }, exited, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: options.tcp ? `127.0.0.1:${port}` : socket, signature: `${EICAR_SIGNATURE}.UNOFFICIAL`, stop };
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'clamd.log'), 'utf8').split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}
