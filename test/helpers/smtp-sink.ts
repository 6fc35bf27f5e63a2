import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './ports.js';

/**
 * Postfix's smtp-sink as a stand-in downstream: accepts every message on a loopback port
 * and (with dump) writes each one to a file, so a test can read what was relayed.
 */
export interface SmtpSink {
  port: number;
  /** Messages received so far (in no particular order), as written by smtp-sink (its own header lines first). */
  messages(): string[];
  stop(): Promise<void>;
}

const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of alive) p.kill('SIGKILL');
});

export async function startSmtpSink(): Promise<SmtpSink> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-sink-'));
  // smtp-sink drops privileges to nobody, who must be able to write the dumps.
  fs.chmodSync(dir, 0o777);
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const child = spawn('smtp-sink', ['-u', 'nobody', '-d', path.join(dir, 'msg.'), `127.0.0.1:${port}`, '100'], { stdio: 'ignore' });
    alive.add(child);
    child.once('exit', () => alive.delete(child));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`smtp-sink exited (${code})`))));
    try {
      await Promise.race([waitForPort(port, '127.0.0.1', 10_000), exited]);
    } catch (err) {
      lastError = err as Error;
      child.kill('SIGKILL');
      continue;
    }
    let stopped: Promise<void> | null = null;
    return {
      port,
      messages: () =>
        fs
          .readdirSync(dir)
          .filter((f) => f.startsWith('msg.'))
          .sort()
          .map((f) => fs.readFileSync(path.join(dir, f), 'latin1')),
      stop: () =>
        (stopped ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            const gone = new Promise((r) => child.once('exit', r));
            child.kill('SIGKILL');
            await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
          }
          fs.rmSync(dir, { recursive: true, force: true });
        })()),
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('smtp-sink did not start');
}
