/**
 * `npm run bench:store`: what the store costs. For each checkout measured (this one, and with
 * --base DIR another built checkout, in the same run so both see the same machine load):
 *
 *   - learn throughput: `borderpatrol learn` of the whole train corpus into the embedded store
 *     and into a fresh redis-server (messages/s over the command's wall time, start included);
 *   - server memory: RSS of `serve` untrained and trained (the data dir the learn filled), at
 *     start and after a load of corpus messages scanned through the admin /checkv2 route;
 *   - scan CPU: the server's CPU time over that load, per message.
 *
 *   --corpus DIR   train/{spam,ham} and dev/{spam,ham} (default ../shared/corpus)
 *   --base DIR     another checkout with dist/ built, measured alongside
 *   --load N       messages scanned per server (default 1500, bounded by 10 minutes)
 *   --jobs N       learn --jobs and scans in flight (default 4)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { freePort } from '../test/helpers/ports.js';
import { startRedis } from '../test/helpers/redis.js';
import { cpuMs, rssMb, spawnProcess, type Proc } from './lib/procs.js';

const { values: opts } = parseArgs({
  options: {
    corpus: { type: 'string', default: path.resolve('..', 'shared', 'corpus') },
    base: { type: 'string' },
    load: { type: 'string', default: '1500' },
    jobs: { type: 'string', default: '4' },
  },
});
const CORPUS = path.resolve(opts.corpus);
const LOAD = Number(opts.load);
const JOBS = Number(opts.jobs);
const PASSWORD = 'bench-store';
const LOAD_TIME_LIMIT_MS = 10 * 60_000;

const files = (dir: string) =>
  fs
    .readdirSync(dir)
    .sort()
    .map((f) => path.join(dir, f));
const trainCount = files(path.join(CORPUS, 'train', 'spam')).length + files(path.join(CORPUS, 'train', 'ham')).length;
const devSpam = files(path.join(CORPUS, 'dev', 'spam'));
const devHam = files(path.join(CORPUS, 'dev', 'ham'));
/** Dev messages, spam and ham alternating, repeated when the load asks for more. */
const dev = Array.from({ length: Math.max(devSpam.length, devHam.length) }, (_v, i) => [devSpam[i], devHam[i]]).flat().filter((f): f is string => !!f);
const loadMessages: Buffer[] = Array.from({ length: LOAD }, (_v, i) => dev[i % dev.length]!).map((f) => fs.readFileSync(f));

interface Figures {
  checkout: string;
  learnEmbeddedPerSec: number;
  learnRedisPerSec: number;
  untrained: ServerFigures;
  /** Untrained, but told to judge anyway (bayes.min_learns 0): it tokenizes and reads the store like a trained one. */
  untrainedReading: ServerFigures;
  trained: ServerFigures;
}
interface ServerFigures {
  rssStartMb: number;
  rssAfterLoadMb: number;
  scanCpuMsPerMessage: number;
  scanned: number;
}

function learn(root: string, store: string[], cls: 'spam' | 'ham'): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), 'learn', cls, path.join(CORPUS, 'train', cls), '--policies', path.join(root, 'policies'), '--jobs', String(JOBS), ...store], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, BORDERPATROL_LOG_LEVEL: 'error' },
  });
  if (r.status !== 0) throw new Error(`learn ${cls} in ${root} failed: ${r.stderr.toString().slice(-500)}`);
  return performance.now() - started;
}

async function serve(root: string, dataDir: string, extra: readonly string[]): Promise<{ proc: Proc; admin: number }> {
  const port = await freePort();
  const admin = await freePort();
  const args = [path.join(root, 'dist/cli.js'), 'serve', '--policies', path.join(root, 'policies'), '--listen', `127.0.0.1:${port}`, '--relay', '127.0.0.1:9', '--admin', `127.0.0.1:${admin}`, '--data-dir', dataDir];
  for (const s of [`admin.password=${PASSWORD}`, 'offline=true', 'tls.enabled=false', 'local_domains=example.com', 'store.redis=', ...extra]) args.push('--set', s);
  const proc = await spawnProcess(process.execPath, args, { port: admin, readyTimeoutMs: 60_000, env: { ...process.env, BORDERPATROL_LOG_LEVEL: 'warn' } });
  return { proc, admin };
}

async function measureServer(root: string, dataDir: string, extra: readonly string[] = []): Promise<ServerFigures> {
  const { proc, admin } = await serve(root, dataDir, extra);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const rssStartMb = rssMb(proc.pid);
    const cpu0 = cpuMs(proc.pid);
    const deadline = Date.now() + LOAD_TIME_LIMIT_MS;
    let next = 0;
    let scanned = 0;
    const worker = async () => {
      while (next < loadMessages.length && Date.now() < deadline) {
        const body = loadMessages[next++]!;
        const res = await fetch(`http://127.0.0.1:${admin}/checkv2`, { method: 'POST', headers: { Password: PASSWORD, Ip: '192.0.2.10', From: 'sender@example.net' }, body });
        await res.arrayBuffer();
        if (res.ok) scanned++;
      }
    };
    await Promise.all(Array.from({ length: JOBS }, worker));
    const cpu = cpuMs(proc.pid) - cpu0;
    await new Promise((r) => setTimeout(r, 1000));
    return { rssStartMb: round(rssStartMb), rssAfterLoadMb: round(rssMb(proc.pid)), scanCpuMsPerMessage: round(cpu / Math.max(1, scanned), 2), scanned };
  } finally {
    await proc.stop();
  }
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function measure(root: string): Promise<Figures> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-bench-store-'));
  const redis = await startRedis();
  try {
    const trained = path.join(work, 'trained');
    const embeddedMs = learn(root, ['--data-dir', trained], 'spam') + learn(root, ['--data-dir', trained], 'ham');
    // Under load a message's script can take longer than the 250 ms a live transaction may wait.
    const viaRedis = ['--redis', redis.url, '--set', 'store.command_timeout=5000'];
    const redisMs = learn(root, viaRedis, 'spam') + learn(root, viaRedis, 'ham');
    const untrainedFigures = await measureServer(root, path.join(work, 'untrained'));
    const untrainedReading = await measureServer(root, path.join(work, 'untrained-reading'), ['bayes.min_learns=0']);
    const trainedFigures = await measureServer(root, trained);
    return {
      checkout: root,
      learnEmbeddedPerSec: round((trainCount * 1000) / embeddedMs),
      learnRedisPerSec: round((trainCount * 1000) / redisMs),
      untrained: untrainedFigures,
      untrainedReading,
      trained: trainedFigures,
    };
  } finally {
    await redis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const roots = [path.resolve('.'), ...(opts.base ? [path.resolve(opts.base)] : [])];
const results: Figures[] = [];
for (const root of roots) {
  if (!fs.existsSync(path.join(root, 'dist/cli.js'))) throw new Error(`${root}: no dist/cli.js (npm run build there first)`);
  process.stderr.write(`measuring ${root} (${trainCount} messages to learn, ${LOAD} to scan)…\n`);
  results.push(await measure(root));
}
console.log(JSON.stringify(results, null, 2));
for (const r of results) {
  console.log(`\n${r.checkout}`);
  console.log(`  learn: ${r.learnEmbeddedPerSec} msg/s embedded, ${r.learnRedisPerSec} msg/s Redis (train corpus, ${trainCount} messages, --jobs ${JOBS})`);
  for (const [name, f] of [['untrained', r.untrained], ['untrained, min_learns 0', r.untrainedReading], ['trained', r.trained]] as const) {
    console.log(`  ${name}: RSS ${f.rssStartMb} MB at start, ${f.rssAfterLoadMb} MB after ${f.scanned} scans; scan CPU ${f.scanCpuMsPerMessage} ms/message`);
  }
  console.log(`  trained - untrained RSS: ${round(r.trained.rssStartMb - r.untrained.rssStartMb)} MB at start, ${round(r.trained.rssAfterLoadMb - r.untrained.rssAfterLoadMb)} MB after load`);
  console.log(`  trained - untrained (min_learns 0) RSS: ${round(r.trained.rssStartMb - r.untrainedReading.rssStartMb)} MB at start, ${round(r.trained.rssAfterLoadMb - r.untrainedReading.rssAfterLoadMb)} MB after load`);
}
