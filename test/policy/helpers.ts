import fs from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.js';

/** A policies directory in a temp dir with the given files (paths relative to it). */
export async function tempPolicies(files: Record<string, string>, parent?: string): Promise<string> {
  const dir = parent ? path.join(parent, 'policies') : await fs.mkdtemp(path.join(os.tmpdir(), 'bp-policy-test-'));
  await fs.mkdir(dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const CLI = path.resolve('src/cli.ts');
// By file URL, so the CLI also runs with another working directory (relative paths in output).
const TSX = pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The built CLI (dist/cli.js, what `npm test` builds first) when it is newer than every
 * source file, else the sources through tsx: the same program, started twice as fast.
 */
const CLI_ARGS: readonly string[] = (() => {
  const dist = path.resolve('dist/cli.js');
  try {
    if (statSync(dist).mtimeMs >= newestMtime(path.resolve('src'))) return [dist];
  } catch {
    // Not built: run the sources.
  }
  return ['--import', TSX, CLI];
})();

/** Run the real command line (through tsx, as `node dist/cli.js` would run the built one). */
export function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI_ARGS, ...args],
      { cwd: options.cwd ?? process.cwd(), env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Poll `probe` until it returns a truthy value; fail after `timeoutMs`. Returns the elapsed ms. */
export async function waitUntil(what: string, probe: () => Promise<unknown> | unknown, timeoutMs = 5000, intervalMs = 25): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not true after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A logger whose JSON lines the test can read back. */
export function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  return {
    logger,
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** The overrides every in-process test server needs: loopback port-0 listeners, no TLS. */
export function serverOverrides(policiesDir: string, relayPort: number, set: Record<string, string> = {}): Array<{ key: string; value: string }> {
  const base: Record<string, string> = {
    listen: '127.0.0.1:0',
    'admin.listen': '127.0.0.1:0',
    'relay.host': '127.0.0.1',
    'relay.port': String(relayPort),
    'tls.enabled': 'false',
    'store.data_dir': path.join(policiesDir, '.data'),
    // Loopback only: no DNS lookups from these tests.
    offline: 'true',
  };
  return Object.entries({ ...base, ...set }).map(([key, value]) => ({ key, value }));
}

/** A small valid policy with comments, the way an admin's directory looks. */
export const BASE_FILES: Record<string, string> = {
  'server.yaml': `# Test server policy.
hostname: mx.borderpatrol.test
local_domains:
  - example.com   # our only domain

admin:
  password: test-password   # needed for /history
`,
  'actions.yaml': `# Thresholds
reject: 15
greylist: null
add_header: 6
`,
  'symbols.yaml': `ALLOWLIST_IP:
  score: -20
`,
  'lists/deny_sender_domains.txt': `# Domains we never take mail from.
# One per line; "#" starts a comment.
old-spammer.example   # since 2019
`,
};
