import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from '../../test/helpers/ports.js';
import { spawnProcess } from './procs.js';
import type { Target } from './targets.js';

const run = promisify(execFile);

/**
 * Haraka, the Node.js MTA, as the peer: installed from the npm registry into a directory
 * under the system's temp dir (kept between runs, keyed by version), configured as the
 * least relay it can be — accept mail for example.com (rcpt_to.in_host_list), forward it to
 * the same smtp-sink (queue/smtp_forward), no other plugin. Its reverse lookup of the client
 * goes to the same loopback "no such name" DNS server Borderpatrol uses.
 */
export const HARAKA_VERSION = '3.3.4';

async function installHaraka(progress: (line: string) => void): Promise<string> {
  const dir = path.join(os.tmpdir(), `bp-bench-haraka-${HARAKA_VERSION}`);
  const bin = path.join(dir, 'node_modules', 'haraka', 'bin', 'haraka');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'bench-haraka', private: true }) + '\n');
  progress(`installing haraka@${HARAKA_VERSION} from the npm registry into ${dir}`);
  try {
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `haraka@${HARAKA_VERSION}`], { cwd: dir, timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`npm install haraka@${HARAKA_VERSION} failed: ${(e.stderr || e.message).trim().split('\n').slice(-2).join(' / ')}`);
  }
  if (!fs.existsSync(bin)) throw new Error(`npm install haraka@${HARAKA_VERSION} left no ${bin}`);
  return bin;
}

export async function startHaraka(sinkPort: number, dnsServer: string, workDir: string, progress: (line: string) => void): Promise<Target> {
  const bin = await installHaraka(progress);
  const port = await freePort();
  const home = path.join(workDir, 'haraka');
  const config = path.join(home, 'config');
  // Haraka's own default configuration first (`haraka -i`), then the few files changed.
  await run(process.execPath, [bin, '-i', home], { timeout: 60_000 });
  const files: Record<string, string> = {
    // One process (no cluster), like the single-process Borderpatrol rows.
    'smtp.ini': `listen=127.0.0.1:${port}\nnodes=0\n`,
    plugins: 'rcpt_to.in_host_list\nqueue/smtp_forward\n',
    host_list: 'example.com\n',
    'smtp_forward.ini': `host=127.0.0.1\nport=${sinkPort}\n`,
    me: 'haraka.bench.test\n',
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(config, name), text);
  // Node's resolver (Haraka's reverse lookup on connect) asks the benchmark's DNS server.
  const preload = path.join(home, 'bench-dns.cjs');
  fs.writeFileSync(preload, `require('node:dns').setServers([${JSON.stringify(dnsServer)}]);\n`);
  const p = await spawnProcess(process.execPath, ['--require', preload, bin, '-c', home], { port, logFile: path.join(workDir, 'haraka.log'), cwd: home, readyTimeoutMs: 30_000 });
  return { name: 'haraka', label: `Haraka ${HARAKA_VERSION} (npm), minimal relay: rcpt_to.in_host_list + queue/smtp_forward`, port, pid: p.pid, redisPort: null, stop: () => p.stop() };
}
