/**
 * `npm run bench`: throughput, latency, CPU and memory of Borderpatrol next to the limit
 * (smtp-source straight into smtp-sink), a bare smtp-server + nodemailer relay, and
 * Postfix relaying by itself. Everything runs on loopback, on free ports, bounded in
 * messages and in time. Writes bench/results.json and prints a table.
 *
 *   --quick          one run per figure, fewer messages, no Postfix or workers rows
 *   --runs N         runs per figure (default 3; the median is reported)
 *   --corpus DIR     labelled corpus with train/ham and train/spam for the Bayes row
 *   --workers LIST   worker counts for the extra default/full rows (default auto; '' for none)
 *   --only NAMES     targets to run (direct, bare, postfix, none, default, full)
 *   --out FILE       results file (default bench/results.json)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis } from '../test/helpers/redis.js';
import { checkSections } from '../src/checks/manifests.js';
import { hamLines, makeMessage, wireForm } from './lib/messages.js';
import { cpuMs, peakRssMb, resetPeak, rssMb } from './lib/procs.js';
import { runSmtpSource } from './lib/smtp-source.js';
import { runTiming } from './lib/timing-client.js';
import { idleConnections, concurrentTransactions } from './lib/memory-load.js';
import { RedisCounter, redisRoundTrips } from './lib/redis-counter.js';
import { startNxDns } from './lib/nx-dns.js';
import { median, percentile, round } from './lib/stats.js';
import { evaluateTargets, printReport, type Row } from './lib/report.js';
import { corpusDir, raisedRateLimits, trainBayes } from './lib/setups.js';
import { REPO, directTarget, startBare, prepareBorderpatrol, startBorderpatrolTarget, startPostfixRelay, startSink, type BorderpatrolSetup, type PreparedBorderpatrol, type Target } from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    corpus: { type: 'string' },
    workers: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(REPO, 'bench', 'results.json') },
  },
});
const quick = opts.quick === true;
const runs = Number(opts.runs ?? (quick ? 1 : 3));
const only = opts.only ? new Set(opts.only.split(',')) : null;
const wanted = (name: string) => !only || only.has(name) || only.has(name.replace(/^bp-/, ''));

interface Workload {
  name: string;
  size: number;
  sessions: number;
  keep: boolean;
  messages: number;
  timing: number;
}

// Counts sized so the slowest target (full scoring) takes a few seconds per run.
const scale = quick ? 0.4 : 1;
const WORKLOADS: Workload[] = [
  { name: '10k -s 1', size: 10_240, sessions: 1, keep: false, messages: 30, timing: 20 },
  { name: '10k -s 20', size: 10_240, sessions: 20, keep: false, messages: 400, timing: 200 },
  { name: '10k -s 200', size: 10_240, sessions: 200, keep: false, messages: 1000, timing: 600 },
  { name: '10k -d -s 20', size: 10_240, sessions: 20, keep: true, messages: 800, timing: 400 },
  { name: '100k -s 20', size: 102_400, sessions: 20, keep: false, messages: 200, timing: 100 },
].map((w) => ({ ...w, messages: Math.max(w.sessions, Math.round(w.messages * scale)), timing: Math.max(w.sessions, Math.round(w.timing * scale)) }));

const DEADLINE_MS = 60_000;

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
}


async function main(): Promise<void> {
  const started = Date.now();
  const cores = os.availableParallelism();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-bench-'));
  progress(`${cores} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, work dir ${workDir}`);
  const notes: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const messageFiles = new Map<number, { file: string; wire: Buffer }>();
  // Written with real legitimate mail when a corpus is at hand (a trained Bayes then sees
  // ham, as it would on most of an MX's mail); with generated words otherwise.
  const corpusText = hamLines(corpusDir(opts.corpus));
  if (corpusText.length === 0) notes.push('benchmark messages written with generated words (no corpus dev/ham)');
  for (const size of new Set(WORKLOADS.map((w) => w.size))) {
    const text = makeMessage(size, { text: corpusText });
    const file = path.join(workDir, `message-${size}.txt`);
    fs.writeFileSync(file, text);
    messageFiles.set(size, { file, wire: wireForm(text) });
  }

  try {
    const sink = await startSink(workDir);
    stops.push(sink.stop);
    const redis = await startRedis();
    stops.push(redis.stop);
    const dns = await startNxDns();
    stops.push(dns.stop);

    const targets: Target[] = [];
    if (wanted('direct')) targets.push(directTarget(sink.port));
    if (wanted('bare')) targets.push(await startBare(sink.port, workDir));
    if (wanted('postfix') && !quick) {
      try {
        targets.push(await startPostfixRelay(sink.port));
      } catch (err) {
        notes.push(`Postfix relay row skipped: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    for (const t of targets) stops.push(t.stop);

    const sections = Object.keys(checkSections);
    const redisUrl = `redis://127.0.0.1:${redis.port}`;
    // The default policy again with more processes (workers), to show what the second core adds.
    const workerCounts = opts.workers !== undefined ? opts.workers.split(',').map((w) => w.trim()).filter(Boolean) : quick ? [] : ['auto'];
    const setups: BorderpatrolSetup[] = [];
    if (wanted('bp-none'))
      setups.push({
        name: 'bp-none',
        label: 'Borderpatrol, every check disabled',
        // The shipped files stay (their symbols stay declared); each check is switched off.
        set: {},
        optionalSet: Object.fromEntries(sections.map((s) => [`${s}.enabled`, 'false'])),
        redisPort: null,
      });
    // Every message comes from 127.0.0.1: the shipped rate limits stay on (their Redis
    // round trips are part of the cost) with their rates raised out of the benchmark's way.
    const policyFiles = raisedRateLimits();
    const defaultSets = { 'store.redis': redisUrl };
    const defaultOptional = { 'greylist.enabled': 'false', 'dns.servers': dns.address };
    if (wanted('bp-default')) {
      setups.push({ name: 'bp-default', label: 'Borderpatrol, shipped policies/ + Redis (greylisting off)', policyFiles, set: { ...defaultSets, 'store.prefix': 'bpd:' }, optionalSet: defaultOptional, redisPort: redis.port });
      for (const w of workerCounts)
        setups.push({ name: `bp-default-w${w}`, label: `Borderpatrol, shipped policies/ + Redis, workers=${w}`, policyFiles, set: { ...defaultSets, 'store.prefix': `bpd${w}:` }, optionalSet: { ...defaultOptional, workers: w }, redisPort: redis.port });
    }
    const fullSetup = (name: string, label: string, extra: Record<string, string>): BorderpatrolSetup => ({
      name,
      label,
      policyFiles,
      set: { ...defaultSets, 'store.prefix': 'bpf:' },
      optionalSet: { ...Object.fromEntries(sections.filter((s) => s !== 'greylist').map((s) => [`${s}.enabled`, 'true'])), ...defaultOptional, ...extra },
      redisPort: redis.port,
    });
    if (wanted('bp-full')) for (const w of workerCounts) setups.push(fullSetup(`bp-full-w${w}`, `Borderpatrol, every check on + trained Bayes + Redis, workers=${w}`, { workers: w }));
    if (wanted('bp-full'))
      setups.push({
        name: 'bp-full',
        label: 'Borderpatrol, every check on (greylisting off) + trained Bayes + Redis',
        policyFiles,
        set: { ...defaultSets, 'store.prefix': 'bpf:' },
        optionalSet: { ...Object.fromEntries(sections.filter((s) => s !== 'greylist').map((s) => [`${s}.enabled`, 'true'])), ...defaultOptional },
        redisPort: redis.port,
      });

    const preparedByName = new Map<string, PreparedBorderpatrol>();
    let trained = false;
    for (const s of setups) {
      progress(`starting ${s.name}`);
      const prepared = await prepareBorderpatrol(s, sink.port, workDir);
      preparedByName.set(s.name, prepared);
      if (prepared.dropped.length > 0) notes.push(`${s.name}: this policy schema has no ${prepared.dropped.join(', ')} (not set)`);
      // Bayes is trained first, into the Redis the server reads, through `borderpatrol learn`.
      if (s.name.startsWith('bp-full') && !trained) {
        notes.push(`bp-full: ${await trainBayes(prepared, workDir, { corpus: corpusDir(opts.corpus), quick, progress })}`);
        trained = true;
      }
      const target = await startBorderpatrolTarget(prepared, workDir);
      targets.push(target);
      stops.push(target.stop);
    }

    const counter = new RedisCounter(redis.port);
    stops.push(async () => counter.close());

    // Warm up: JIT, relay pools, the recipient verification cache.
    for (const t of targets) {
      progress(`warming up ${t.name}`);
      const warm = await runSmtpSource({ port: t.port, sessions: 20, messages: 200, keepConnection: false, messageFile: messageFiles.get(10_240)!.file, deadlineMs: DEADLINE_MS });
      if (!warm.ok) notes.push(`${t.name}: warm-up failed: ${warm.error}`);
    }

    const samples = new Map<string, Sample[]>();
    const timings = new Map<string, { tx: number[]; greet: number[]; failures: number; error: string }>();
    const key = (t: Target, w: Workload) => `${t.name}|${w.name}`;
    for (const w of WORKLOADS) {
      const msg = messageFiles.get(w.size)!;
      for (let rep = 0; rep < runs; rep++) {
        // Targets interleaved, so a change in the machine's load hits them all alike.
        for (const t of targets) {
          if (t.pid) resetPeak(t.pid);
          const cpu0 = t.pid ? cpuMs(t.pid) : 0;
          const redis0 = t.redisPort ? await counter.commands() : 0;
          const r = await runSmtpSource({ port: t.port, sessions: w.sessions, messages: w.messages, keepConnection: w.keep, messageFile: msg.file, deadlineMs: DEADLINE_MS });
          const sample: Sample = {
            rate: r.messagesPerSecond,
            ok: r.ok,
            error: r.error,
            cpuMsPerMsg: t.pid ? (cpuMs(t.pid) - cpu0) / w.messages : NaN,
            peakMb: t.pid ? peakRssMb(t.pid) : NaN,
            redisPerMsg: t.redisPort ? RedisCounter.delta(redis0, await counter.commands()) / w.messages : NaN,
          };
          samples.set(key(t, w), [...(samples.get(key(t, w)) ?? []), sample]);
          progress(`${w.name} run ${rep + 1}/${runs} ${t.name}: ${r.ok ? `${Math.round(r.messagesPerSecond)} msg/s` : `FAILED ${r.error}`}`);
        }
      }
      for (let rep = 0; rep < runs; rep++) {
        for (const t of targets) {
          const r = await runTiming({ port: t.port, sessions: w.sessions, messages: w.timing, keepConnection: w.keep, message: msg.wire, deadlineMs: DEADLINE_MS });
          const acc = timings.get(key(t, w)) ?? { tx: [], greet: [], failures: 0, error: '' };
          acc.tx.push(...r.txMs);
          acc.greet.push(...r.greetMs);
          acc.failures += r.failures;
          acc.error ||= r.firstError;
          timings.set(key(t, w), acc);
        }
      }
      progress(`${w.name}: latency timed`);
    }

    // Latency without queueing: one client, one connection, one message after another.
    const unloaded = new Map<string, number[]>();
    for (let rep = 0; rep < runs; rep++) {
      for (const t of targets) {
        const r = await runTiming({ port: t.port, sessions: 1, messages: quick ? 60 : 150, keepConnection: true, message: messageFiles.get(10_240)!.wire, deadlineMs: DEADLINE_MS });
        unloaded.set(t.name, [...(unloaded.get(t.name) ?? []), ...r.txMs]);
      }
    }
    const direct1 = unloaded.get('direct') ?? [];
    const latency = targets.map((t) => {
      const tx = unloaded.get(t.name) ?? [];
      return {
        target: t.name,
        p50Ms: round(percentile(tx, 50), 2),
        p99Ms: round(percentile(tx, 99), 2),
        addedP50Ms: t.name === 'direct' ? 0 : round(percentile(tx, 50) - percentile(direct1, 50), 2),
        addedP99Ms: t.name === 'direct' ? 0 : round(percentile(tx, 99) - percentile(direct1, 99), 2),
        samples: tx.length,
      };
    });
    progress('unloaded latency timed');

    const rows: Row[] = [];
    for (const w of WORKLOADS) {
      const limit = median((samples.get(`direct|${w.name}`) ?? []).filter((s) => s.ok).map((s) => s.rate));
      const directTiming = timings.get(`direct|${w.name}`);
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
          ratioToLimit: round(rate / limit, 2),
          txP50Ms: round(p50, 2),
          txP99Ms: round(p99, 2),
          addedP50Ms: t.name === 'direct' ? 0 : round(p50 - percentile(directTiming?.tx ?? [], 50), 2),
          addedP99Ms: t.name === 'direct' ? 0 : round(p99 - percentile(directTiming?.tx ?? [], 99), 2),
          greetP50Ms: tm && tm.greet.length > 0 ? round(percentile(tm.greet, 50), 1) : NaN,
          cpuMsPerMessage: round(median(good.map((s) => s.cpuMsPerMsg)), 2),
          peakRssMb: round(median(good.map((s) => s.peakMb)), 0),
          redisCommandsPerMessage: round(median(good.map((s) => s.redisPerMsg)), 1),
          redisRoundTripsPerMessage: NaN,
          runs: ss.length,
          failedRuns: [...ss.filter((s) => !s.ok).map((s) => s.error), ...(tm && tm.failures > 0 ? [`timing client: ${tm.failures} failed, first: ${tm.error}`] : [])],
        });
      }
    }

    // Redis round trips per message, counted on a small sample (MONITOR slows Redis down).
    const roundTrips = new Map<string, number>();
    for (const t of targets.filter((x) => x.redisPort)) {
      roundTrips.set(
        t.name,
        await redisRoundTrips(t.redisPort!, async () => {
          const r = await runTiming({ port: t.port, sessions: 1, messages: 20, keepConnection: false, message: messageFiles.get(10_240)!.wire, deadlineMs: DEADLINE_MS });
          return r.txMs.length;
        }),
      );
    }
    for (const r of rows) r.redisRoundTripsPerMessage = round(roundTrips.get(r.target) ?? NaN, 1);

    // Memory: what the processes hold after the load above, then on fresh processes with
    // 1,000 idle connections and with 200 transactions at once.
    const memory: Array<{ target: string; afterLoadRssMb: number; freshRssMb: number; idle1000RssMb: number; idleGreeted: number; concurrent200PeakMb: number; concurrentAccepted: number }> = [];
    for (const t of targets.filter((x) => x.name.startsWith('bp-'))) {
      progress(`memory: ${t.name}`);
      const afterLoad = rssMb(t.pid!);
      await t.stop();
      const fresh = await startBorderpatrolTarget(preparedByName.get(t.name)!, workDir);
      stops.push(fresh.stop);
      await new Promise((r) => setTimeout(r, 1000));
      const freshRss = rssMb(fresh.pid!);
      const idle = await idleConnections(fresh.port, fresh.pid!, 1000);
      const conc = await concurrentTransactions(fresh.port, fresh.pid!, 200, messageFiles.get(102_400)!.wire, quick ? 1 : 3);
      memory.push({
        target: t.name,
        afterLoadRssMb: round(afterLoad, 0),
        freshRssMb: round(freshRss, 0),
        idle1000RssMb: round(idle.peakMb, 0),
        idleGreeted: idle.connections,
        concurrent200PeakMb: round(conc.peakMb, 0),
        concurrentAccepted: conc.accepted,
      });
      await fresh.stop();
    }

    const targetChecks = evaluateTargets(rows, memory, latency);
    const results = {
      date: new Date().toISOString(),
      cores,
      cpu: os.cpus()[0]?.model ?? '',
      node: process.version,
      loadAverageAtStart: os.loadavg(),
      quick,
      runsPerFigure: runs,
      workloads: WORKLOADS,
      targets: targets.map((t) => ({ name: t.name, label: t.label })),
      rows,
      unloadedLatency: latency,
      memory,
      targetChecks,
      notes,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    };
    fs.writeFileSync(opts.out!, JSON.stringify(results, null, 2) + '\n');
    printReport(results, cores);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
