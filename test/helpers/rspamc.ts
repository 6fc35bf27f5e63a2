import { execFile } from 'node:child_process';

/** Debian's real `rspamc` against an admin listener on loopback: its exit code and output. */
export function rspamc(adminPort: number, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('rspamc', ['-h', `127.0.0.1:${adminPort}`, '-t', '10', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}
