import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '../../src/main.js';
import type { Override } from '../../src/policy/load.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';

const run = promisify(execFile);

export interface TestServer extends RunningServer {
  port: number;
  adminPort: number;
  policiesDir: string;
}

/**
 * Borderpatrol in this process on loopback port 0 (admin too), relaying to `relayPort`,
 * with a policies dir of its own (defaults unless files are given). Set BP_TEST_LOG=1 to
 * see its log lines.
 */
export async function startBorderpatrol(options: {
  relayPort: number;
  set?: Record<string, string>;
  files?: Record<string, string>;
  policiesDir?: string;
}): Promise<TestServer> {
  const policiesDir = options.policiesDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'bp-policies-')));
  for (const [rel, text] of Object.entries(options.files ?? {})) {
    await fs.mkdir(path.dirname(path.join(policiesDir, rel)), { recursive: true });
    await fs.writeFile(path.join(policiesDir, rel), text);
  }
  const base: Record<string, string> = {
    listen: '127.0.0.1:0',
    'admin.listen': '127.0.0.1:0',
    'relay.host': '127.0.0.1',
    'relay.port': String(options.relayPort),
    local_domains: 'example.com',
    hostname: 'mx.borderpatrol.test',
    'tls.enabled': 'false',
    'store.data_dir': path.join(policiesDir, '.data'),
  };
  // Tests talk to loopback only: no DNS lookups unless the test runs its own DNS server.
  if (!options.set?.['dns.servers']) base.offline = 'true';
  const overrides: Override[] = Object.entries({ ...base, ...options.set }).map(([key, value]) => ({ key, value }));
  const logger = process.env.BP_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger();
  const server = await startServer({ policiesDir, overrides, logger });
  return Object.assign(server, { port: server.smtp.port, adminPort: server.adminAddress?.port ?? 0, policiesDir });
}

/** A self-signed key and certificate in a temp dir (never in the repo). */
export async function makeTestCert(): Promise<{ key: string; cert: string; dir: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-certs-'));
  await run('sh', [path.resolve('certs/make-dev-cert.sh'), 'localhost', dir]);
  return { key: path.join(dir, 'server.key'), cert: path.join(dir, 'server.crt'), dir };
}

/** Run swaks and return its transcript and exit code. */
export async function swaks(args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('swaks', ['--hide-informational', ...args], { timeout: timeoutMs });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}
