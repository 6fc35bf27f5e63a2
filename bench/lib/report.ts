import { round, table } from './stats.js';

/** What the benchmark found, as JSON rows and as the printed tables. */

export interface Row {
  target: string;
  workload: string;
  messagesPerSecond: number;
  ratioToLimit: number;
  ratioToBare: number;
  ratioToHaraka: number;
  txP50Ms: number;
  txP99Ms: number;
  addedP50Ms: number;
  addedP99Ms: number;
  cpuMsPerMessage: number;
  peakRssMb: number;
  redisCommandsPerMessage: number;
  redisRoundTripsPerMessage: number;
  /** Full (mark-compact) collections per 1,000 messages of the workload (Borderpatrol rows). */
  fullGcsPer1000Messages: number;
  runs: number;
  failedRuns: string[];
}

export interface MemoryRow {
  target: string;
  /** 1 s after the last workload. */
  afterLoadRssMb: number;
  /** After SETTLE_MS without mail (bench/run.ts). */
  settledRssMb: number;
  /** RSS while holding the idle connections, and the peak on the way there. */
  idleRssMb: number;
  idlePeakMb: number;
  idleGreeted: number;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

/** The figures issue targets name, checked for each Borderpatrol row. */
export function evaluateTargets(rows: Row[], memory: MemoryRow[]): TargetCheck[] {
  const row = (t: string, w: string) => rows.find((r) => r.target === t && r.workload === w);
  const out: TargetCheck[] = [];
  const check = (target: string, measured: string, value: number, ok: (v: number) => boolean) => out.push({ target, measured, met: Number.isFinite(value) ? ok(value) : null });
  const bareCpu = row('bare', '-s 200')?.cpuMsPerMessage ?? NaN;
  for (const t of [...new Set(rows.map((r) => r.target))].filter((n) => n.startsWith('bp'))) {
    const s200 = row(t, '-s 200');
    const d20 = row(t, '-d -s 20');
    const d5 = row(t, '-d -s 5');
    if (s200) {
      check(`${t}: ≥ 0.6× bare at -s 200`, `${s200.ratioToBare}×`, s200.ratioToBare, (v) => v >= 0.6);
      check(`${t}: ≥ 1.5× Haraka at -s 200`, `${s200.ratioToHaraka}×`, s200.ratioToHaraka, (v) => v >= 1.5);
      const scoring = s200.cpuMsPerMessage - bareCpu;
      check(`${t}: scoring ≤ 2 ms CPU per 10 KB message (CPU/msg minus bare's, -s 200)`, `${s200.cpuMsPerMessage} − ${bareCpu} = ${round(scoring, 2)} ms`, scoring, (v) => v <= 2);
    }
    if (d20) check(`${t}: ≥ 0.5× bare at -d -s 20`, `${d20.ratioToBare}×`, d20.ratioToBare, (v) => v >= 0.5);
    if (d5) check(`${t}: p99 added latency < 20 ms at -d -s 5`, `${d5.addedP99Ms} ms`, d5.addedP99Ms, (v) => v < 20);
    const m = memory.find((x) => x.target === t);
    if (m) check(`${t}: RSS after the load at 1,000 idle connections < 150 MB`, `${m.idleRssMb} MB (${m.idleGreeted} greeted)`, m.idleGreeted >= 1000 ? m.idleRssMb : NaN, (v) => v < 150);
  }
  return out;
}

export function printReport(r: {
  cores: number;
  cpu: string;
  node: string;
  rows: Row[];
  memory: MemoryRow[];
  targetChecks: TargetCheck[];
  notes: string[];
  skipped: Array<{ name: string; why: string }>;
  runsPerFigure: number;
  loadAverageAtStart: number[];
  targets: Array<{ name: string; label: string }>;
  durationSeconds: number;
}): void {
  const lines: string[] = [];
  lines.push(`Borderpatrol benchmark — ${r.cores} cores (${r.cpu}), Node ${r.node}, 10 KB messages, median of ${r.runsPerFigure} run(s), load average at start ${r.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  lines.push('');
  for (const t of r.targets) lines.push(`  ${t.name.padEnd(10)} ${t.label}`);
  for (const s of r.skipped) lines.push(`  ${s.name.padEnd(10)} SKIPPED: ${s.why}`);
  lines.push('');
  const workloads = [...new Set(r.rows.map((x) => x.workload))];
  const names = [...new Set(r.rows.map((x) => x.target))];
  const rate = (t: string, w: string) => r.rows.find((x) => x.target === t && x.workload === w)?.messagesPerSecond ?? NaN;
  lines.push(table([['msg/s', ...names], ...workloads.map((w) => [w, ...names.map((t) => rate(t, w))])]));
  lines.push('');
  lines.push(
    table([
      ['workload', 'target', 'msg/s', '×limit', '×bare', '×Haraka', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'CPU ms/msg', 'peak RSS MB', 'full GC/1k msg', 'Redis cmd/msg', 'Redis RT/msg'],
      ...r.rows.map((x) => [x.workload, x.target, x.messagesPerSecond, x.ratioToLimit, x.ratioToBare, x.ratioToHaraka, x.txP50Ms, x.txP99Ms, x.addedP50Ms, x.addedP99Ms, x.cpuMsPerMessage, x.peakRssMb, x.fullGcsPer1000Messages, x.redisCommandsPerMessage, x.redisRoundTripsPerMessage]),
    ]),
  );
  lines.push('');
  lines.push('p50/p99: MAIL FROM to the reply after "." per message, timed by bench/lib/timing-client.ts at the same concurrency; +p50/+p99: minus the same');
  lines.push('percentile straight into smtp-sink. CPU and peak RSS: the server process (all workers) from /proc. Full GC: mark-compact collections');
  lines.push('during the workload, from the server\'s /metrics (all workers), per 1,000 messages. Redis cmd: commands Redis executed');
  lines.push('(INFO), Lua-internal ones included; RT: commands clients sent (MONITOR, on a 20-message sample).');
  if (r.memory.length > 0) {
    lines.push('');
    lines.push(table([['memory (MB)', 'RSS 1 s after the load', 'after 30 s without mail', 'then at 1,000 idle conns', 'peak on the way', 'greeted'], ...r.memory.map((m) => [m.target, m.afterLoadRssMb, m.settledRssMb, m.idleRssMb, m.idlePeakMb, m.idleGreeted])]));
  }
  lines.push('');
  lines.push(table([['target', 'measured', 'met'], ...r.targetChecks.map((c) => [c.target, c.measured, c.met === null ? 'n/a' : c.met ? 'yes' : 'NO'])]));
  const failed = r.rows.filter((x) => x.failedRuns.length > 0);
  if (failed.length > 0 || r.notes.length > 0) lines.push('');
  for (const f of failed) lines.push(`! ${f.target} ${f.workload}: ${f.failedRuns.join('; ')}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push(`(${r.durationSeconds} s)`);
  process.stdout.write(lines.join('\n') + '\n');
}
