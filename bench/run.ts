/**
 * `npm run bench`: throughput, latency, CPU and memory of Borderpatrol side by side, in one
 * run, with the limit of the machine (smtp-source straight into smtp-sink), a bare
 * smtp-server + nodemailer relay, and Haraka as a minimal relay. Every server relays to the
 * same smtp-sink; every client is a stranger (smtp.trusted_networks empty); every DNS lookup
 * is answered "no such name" at once by a loopback server; greylisting and rate limits are
 * off. Everything runs on loopback, bounded in messages and in time. Writes
 * bench/results.json and prints a table.
 *
 *   --quick          one run per figure, fewer messages
 *   --runs N         runs per figure (default 3; the median is reported)
 *   --corpus DIR     labelled corpus with train/ham and train/spam for the trained-Bayes row
 *                    (default ../shared/corpus beside the repository; the row is skipped without it)
 *   --workers LIST   extra rows with workers: N and a Redis store (e.g. auto,2; default none)
 *   --only NAMES     targets to run (direct, bare, haraka, bp, bp-bayes, postfix, bp-none, bp-wN)
 *   --out FILE       results file (default bench/results.json)
 *   --profile DIR    write a V8 CPU profile of each Borderpatrol server into DIR
 *   --baseline DIST  every Borderpatrol row again, run from another build's dist/ (rows NAME-base),
 *                    to compare two versions A/B in the same run
 *   --node-args=ARGS every Borderpatrol row again with these Node.js options instead of the ones
 *                    bin/borderpatrol gives the server (rows NAME-opt; repeat for NAME-opt1, -opt2…),
 *                    e.g. --node-args=--max-semi-space-size=8, or --node-args= for Node's defaults.
 *                    Every server is started as shipped: through bin/borderpatrol.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis } from '../test/helpers/redis.js';
import { TestDnsServer } from '../test/helpers/dns-server.js';
import { checkSections } from '../src/checks/manifests.js';
import { hamLines, makeMessage, wireForm } from './lib/messages.js';
import { cpuMs, peakRssMb, resetPeak, rssMb } from './lib/procs.js';
import { runSmtpSource } from './lib/smtp-source.js';
import { runTiming } from './lib/timing-client.js';
import { idleConnections } from './lib/memory-load.js';
import { RedisCounter, redisRoundTrips } from './lib/redis-counter.js';
import { fullCollections } from './lib/gc-count.js';
import { median, percentile, round } from './lib/stats.js';
import { evaluateTargets, printReport, type MemoryRow, type Row } from './lib/report.js';
import { corpusDir, corpusTrainDirs, trainBayes } from './lib/setups.js';
import { startHaraka } from './lib/haraka.js';
import { REPO, directTarget, startBare, prepareBorderpatrol, startBorderpatrolTarget, startPostfixRelay, startSink, type BorderpatrolSetup, type Target } from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    corpus: { type: 'string' },
    workers: { type: 'string', default: '' },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(REPO, 'bench', 'results.json') },
    profile: { type: 'string' },
    baseline: { type: 'string' },
    'node-args': { type: 'string', multiple: true },
  },
});
const quick = opts.quick === true;
const runs = Number(opts.runs ?? (quick ? 1 : 3));
const only = opts.only ? new Set(opts.only.split(',').map((s) => s.trim())) : null;
const DEFAULT_TARGETS = new Set(['direct', 'bare', 'haraka', 'bp', 'bp-bayes']);
const workerCounts = opts.workers.split(',').map((w) => w.trim()).filter(Boolean);
const wanted = (name: string) => (only ? only.has(name) : DEFAULT_TARGETS.has(name) || (name.startsWith('bp-w') && workerCounts.length > 0));

interface Workload {
  name: string;
  sessions: number;
  keep: boolean;
  messages: number;
  timing: number;
}

// 10 KB messages. Counts sized so the slowest target takes a few seconds per run.
const SIZE = 10_240;
const scale = quick ? 0.4 : 1;
const WORKLOADS: Workload[] = [
  { name: '-s 200', sessions: 200, keep: false, messages: 1000, timing: 600 },
  { name: '-d -s 20', sessions: 20, keep: true, messages: 1000, timing: 400 },
  { name: '-d -s 5', sessions: 5, keep: true, messages: 400, timing: 400 },
].map((w) => ({ ...w, messages: Math.max(w.sessions, Math.round(w.messages * scale)), timing: Math.max(w.sessions, Math.round(w.timing * scale)) }));

const DEADLINE_MS = 60_000;
const IDLE_CONNECTIONS = 1000;
/** Quiet before the settled memory reading: a little more than the server waits before it gives back a heap a burst grew (src/observability/heap-release.ts). */
const SETTLE_MS = 32_000;

function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

interface Sample {
  rate: number;
  ok: boolean;
  error: string;
  cpuMsPerMsg: number;
  peakMb: number;
  redisPerMsg: number;
  fullGcsPer1000: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const cores = os.availableParallelism();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-bench-'));
  progress(`${cores} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, work dir ${workDir}`);
  const notes: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const corpus = corpusDir(opts.corpus);
  // Written with real legitimate mail when a corpus is at hand (a trained Bayes then sees
  // ham, as it would on most of an MX's mail); with generated words otherwise.
  const corpusText = hamLines(corpus);
  if (corpusText.length === 0) notes.push('benchmark message written with generated words (no corpus dev/ham)');
  const text = makeMessage(SIZE, { text: corpusText });
  const messageFile = path.join(workDir, `message-${SIZE}.txt`);
  fs.writeFileSync(messageFile, text);
  const wire = wireForm(text);

  try {
    const sink = await startSink(workDir);
    stops.push(sink.stop);
    const dns = await TestDnsServer.start({}, { record: false });
    stops.push(() => dns.close());

    const targets: Target[] = [];
    const skipped: Array<{ name: string; why: string }> = [];
    if (wanted('direct')) targets.push(directTarget(sink.port));
    if (wanted('bare')) targets.push(await startBare(sink.port, workDir));
    if (wanted('haraka')) {
      try {
        targets.push(await startHaraka(sink.port, dns.server, workDir, progress));
      } catch (err) {
        skipped.push({ name: 'haraka', why: (err as Error).message.split('\n')[0] ?? '' });
      }
    }
    if (wanted('postfix')) {
      try {
        targets.push(await startPostfixRelay(sink.port));
      } catch (err) {
        skipped.push({ name: 'postfix', why: (err as Error).message.split('\n')[0] ?? '' });
      }
    }
    for (const t of targets) stops.push(t.stop);

    const sections = Object.keys(checkSections);
    // The shipped policies/ as they are, except what makes every client a stranger on this
    // machine and keeps the comparison about scoring: greylisting and rate limits off.
    const asShipped = { 'greylist.enabled': 'false', 'ratelimit.enabled': 'false', 'dns.servers': dns.server };
    const setups: BorderpatrolSetup[] = [];
    if (wanted('bp-none')) setups.push({ name: 'bp-none', label: 'Borderpatrol, every check disabled', set: {}, optionalSet: { ...Object.fromEntries(sections.map((s) => [`${s}.enabled`, 'false'])), 'dns.servers': dns.server }, redisPort: null });
    if (wanted('bp')) setups.push({ name: 'bp', label: 'Borderpatrol, shipped policies/ (embedded store; greylisting and rate limits off)', set: {}, optionalSet: asShipped, redisPort: null });
    const train = corpusTrainDirs(corpus);
    if (wanted('bp-bayes')) {
      if (train) setups.push({ name: 'bp-bayes', label: `Borderpatrol, shipped policies/ + Bayes trained on ${path.relative(REPO, path.dirname(train.ham)) || train.ham}`, set: {}, optionalSet: asShipped, redisPort: null, trainFrom: train });
      else skipped.push({ name: 'bp-bayes', why: `no corpus with train/ham and train/spam at ${corpus} (give one with --corpus DIR)` });
    }
    let redisPort: number | null = null;
    if (workerCounts.length > 0 && [...workerCounts].some((w) => wanted(`bp-w${w}`))) {
      // More than one worker needs the shared store.
      const redis = await startRedis();
      stops.push(redis.stop);
      redisPort = redis.port;
      for (const w of workerCounts)
        if (wanted(`bp-w${w}`)) setups.push({ name: `bp-w${w}`, label: `Borderpatrol, shipped policies/ + Redis, workers: ${w}`, set: { 'store.redis': `redis://127.0.0.1:${redis.port}`, 'store.prefix': `bpw${w}:` }, optionalSet: { ...asShipped, workers: w }, redisPort: redis.port });
    }

    if (opts.baseline) {
      const dist = path.resolve(opts.baseline);
      if (!fs.existsSync(path.join(dist, 'cli.js'))) throw new Error(`--baseline ${opts.baseline}: no cli.js there (give a built dist/ directory)`);
      for (const s of [...setups]) setups.push({ ...s, name: `${s.name}-base`, label: `${s.label}, baseline build`, dist });
    }
    const optionSets = (opts['node-args'] ?? []).map((a) => a.split(/\s+/).filter(Boolean));
    optionSets.forEach((nodeArgs, i) => {
      const suffix = optionSets.length > 1 ? `-opt${i + 1}` : '-opt';
      const label = nodeArgs.length > 0 ? `node ${nodeArgs.join(' ')}` : "Node's default options";
      for (const s of setups.filter((x) => !x.dist && !x.nodeArgs)) setups.push({ ...s, name: `${s.name}${suffix}`, label: `${s.label}, ${label}`, nodeArgs });
    });
    for (const s of setups) {
      progress(`starting ${s.name}`);
      const prepared = await prepareBorderpatrol(s, sink.port, workDir);
      if (prepared.dropped.length > 0) notes.push(`${s.name}: this policy schema has no ${prepared.dropped.join(', ')} (not set)`);
      // Bayes learns first, into the store the server reads, through `borderpatrol learn`.
      if (s.trainFrom) notes.push(`${s.name}: ${await trainBayes(prepared, workDir, { dirs: s.trainFrom, quick, progress })}`);
      const target = await startBorderpatrolTarget(prepared, workDir, opts.profile ? path.resolve(opts.profile) : undefined);
      targets.push(target);
      stops.push(target.stop);
    }

    const counter = redisPort ? new RedisCounter(redisPort) : null;
    if (counter) stops.push(async () => counter.close());

    // Warm up: JIT, relay pools, the recipient verification cache.
    for (const t of targets) {
      progress(`warming up ${t.name}`);
      const warm = await runSmtpSource({ port: t.port, sessions: 20, messages: 200, keepConnection: false, messageFile, deadlineMs: DEADLINE_MS });
      if (!warm.ok) notes.push(`${t.name}: warm-up failed: ${warm.error}`);
    }

    const samples = new Map<string, Sample[]>();
    const timings = new Map<string, { tx: number[]; failures: number; error: string }>();
    const key = (t: Target, w: Workload) => `${t.name}|${w.name}`;
    for (const w of WORKLOADS) {
      for (let rep = 0; rep < runs; rep++) {
        // Targets interleaved, so a change in the machine's load hits them all alike.
        for (const t of targets) {
          // Read first: answering /metrics costs the server CPU and memory the load should not be charged.
          const gc0 = t.metricsUrl ? await fullCollections(t.metricsUrl) : NaN;
          if (t.pid) resetPeak(t.pid);
          const cpu0 = t.pid ? cpuMs(t.pid) : 0;
          const redis0 = counter && t.redisPort ? await counter.commands() : 0;
          const r = await runSmtpSource({ port: t.port, sessions: w.sessions, messages: w.messages, keepConnection: w.keep, messageFile, deadlineMs: DEADLINE_MS });
          const sample: Sample = {
            rate: r.messagesPerSecond,
            ok: r.ok,
            error: r.error,
            cpuMsPerMsg: t.pid ? (cpuMs(t.pid) - cpu0) / w.messages : NaN,
            peakMb: t.pid ? peakRssMb(t.pid) : NaN,
            redisPerMsg: counter && t.redisPort ? RedisCounter.delta(redis0, await counter.commands()) / w.messages : NaN,
            fullGcsPer1000: t.metricsUrl ? ((await fullCollections(t.metricsUrl)) - gc0) * (1000 / w.messages) : NaN,
          };
          samples.set(key(t, w), [...(samples.get(key(t, w)) ?? []), sample]);
          progress(`${w.name} run ${rep + 1}/${runs} ${t.name}: ${r.ok ? `${Math.round(r.messagesPerSecond)} msg/s` : `FAILED ${r.error}`}`);
        }
      }
      for (let rep = 0; rep < runs; rep++) {
        for (const t of targets) {
          const r = await runTiming({ port: t.port, sessions: w.sessions, messages: w.timing, keepConnection: w.keep, message: wire, deadlineMs: DEADLINE_MS });
          const acc = timings.get(key(t, w)) ?? { tx: [], failures: 0, error: '' };
          acc.tx.push(...r.txMs);
          acc.failures += r.failures;
          acc.error ||= r.firstError;
          timings.set(key(t, w), acc);
        }
      }
      progress(`${w.name}: latency timed`);
    }

    const rows: Row[] = [];
    for (const w of WORKLOADS) {
      const rateOf = (name: string) => median((samples.get(`${name}|${w.name}`) ?? []).filter((s) => s.ok).map((s) => s.rate));
      const directTx = timings.get(`direct|${w.name}`)?.tx ?? [];
      for (const t of targets) {
        const ss = samples.get(key(t, w)) ?? [];
        const good = ss.filter((s) => s.ok);
        const tm = timings.get(key(t, w));
        const p50 = tm ? percentile(tm.tx, 50) : NaN;
        const p99 = tm ? percentile(tm.tx, 99) : NaN;
        const rate = median(good.map((s) => s.rate));
        rows.push({
          target: t.name,
          workload: w.name,
          messagesPerSecond: round(rate, 0),
          ratioToLimit: round(rate / rateOf('direct'), 2),
          ratioToBare: round(rate / rateOf('bare'), 2),
          ratioToHaraka: round(rate / rateOf('haraka'), 2),
          txP50Ms: round(p50, 2),
          txP99Ms: round(p99, 2),
          addedP50Ms: t.name === 'direct' ? 0 : round(p50 - percentile(directTx, 50), 2),
          addedP99Ms: t.name === 'direct' ? 0 : round(p99 - percentile(directTx, 99), 2),
          cpuMsPerMessage: round(median(good.map((s) => s.cpuMsPerMsg)), 2),
          peakRssMb: round(median(good.map((s) => s.peakMb)), 0),
          redisCommandsPerMessage: round(median(good.map((s) => s.redisPerMsg)), 1),
          fullGcsPer1000Messages: round(median(good.map((s) => s.fullGcsPer1000)), 0),
          redisRoundTripsPerMessage: NaN,
          runs: ss.length,
          failedRuns: [...ss.filter((s) => !s.ok).map((s) => s.error), ...(tm && tm.failures > 0 ? [`timing client: ${tm.failures} failed, first: ${tm.error}`] : [])],
        });
      }
    }

    // Redis round trips per message, counted on a small sample (MONITOR slows Redis down).
    for (const t of targets.filter((x) => x.redisPort)) {
      const rt = await redisRoundTrips(t.redisPort!, async () => {
        const r = await runTiming({ port: t.port, sessions: 1, messages: 20, keepConnection: false, message: wire, deadlineMs: DEADLINE_MS });
        return r.txMs.length;
      });
      for (const r of rows.filter((x) => x.target === t.name)) r.redisRoundTripsPerMessage = round(rt, 1);
    }

    // Memory of each server right after all that load, then once it has had no mail for a
    // while (a little longer than Borderpatrol waits before it gives back a heap the load
    // grew), then while it holds 1,000 idle clients.
    const memory: MemoryRow[] = [];
    const measured = targets.filter((x) => x.pid);
    await new Promise((r) => setTimeout(r, 1000));
    const afterLoad = new Map(measured.map((t) => [t.name, rssMb(t.pid!)]));
    progress(`memory: ${SETTLE_MS / 1000} s without mail`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    for (const t of measured) {
      progress(`memory: ${t.name}`);
      const settled = rssMb(t.pid!);
      const idle = await idleConnections(t.port, t.pid!, IDLE_CONNECTIONS);
      memory.push({ target: t.name, afterLoadRssMb: round(afterLoad.get(t.name)!, 0), settledRssMb: round(settled, 0), idleRssMb: round(idle.rssMb, 0), idlePeakMb: round(idle.peakMb, 0), idleGreeted: idle.connections });
    }

    const targetChecks = evaluateTargets(rows, memory);
    const results = {
      date: new Date().toISOString(),
      cores,
      cpu: os.cpus()[0]?.model ?? '',
      node: process.version,
      loadAverageAtStart: os.loadavg(),
      quick,
      runsPerFigure: runs,
      messageSize: SIZE,
      idleConnections: IDLE_CONNECTIONS,
      workloads: WORKLOADS,
      targets: targets.map((t) => ({ name: t.name, label: t.label })),
      skipped,
      rows,
      memory,
      targetChecks,
      notes,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    };
    fs.writeFileSync(opts.out!, JSON.stringify(results, null, 2) + '\n');
    printReport(results);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
