import { round, table } from './stats.js';

/** What the benchmark found, as JSON rows and as the printed tables. */

export interface Row {
  target: string;
  workload: string;
  messagesPerSecond: number;
  ratioToLimit: number;
  txP50Ms: number;
  txP99Ms: number;
  addedP50Ms: number;
  addedP99Ms: number;
  greetP50Ms: number;
  cpuMsPerMessage: number;
  peakRssMb: number;
  redisCommandsPerMessage: number;
  redisRoundTripsPerMessage: number;
  runs: number;
  failedRuns: string[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

export interface Latency {
  target: string;
  p50Ms: number;
  p99Ms: number;
  addedP50Ms: number;
  addedP99Ms: number;
  samples: number;
}

export function evaluateTargets(rows: Row[], memory: Array<{ target: string; idle1000RssMb: number }>, latency: Latency[]): TargetCheck[] {
  const rate = (t: string, w: string) => rows.find((r) => r.target === t && r.workload === w)?.messagesPerSecond ?? NaN;
  const names = [...new Set(rows.map((r) => r.target))];
  const out: TargetCheck[] = [];
  const bare = rate('bare', '10k -s 200');
  for (const t of names.filter((n) => n.startsWith('bp-default'))) {
    const def = rate(t, '10k -s 200');
    out.push({ target: `${t} ≥ 60% of bare smtp-server+nodemailer (10k -s 200)`, measured: `${def} vs ${bare} msg/s = ${round((def / bare) * 100, 0)}%`, met: Number.isFinite(def / bare) ? def >= 0.6 * bare : null });
    out.push({ target: `${t} ≥ 1.5× Haraka's ~600 msg/s = 900 msg/s (10k -s 200)`, measured: `${def} msg/s`, met: Number.isFinite(def) ? def >= 900 : null });
  }
  const postfix = rate('postfix', '10k -s 200');
  const postfixRef = Number.isFinite(postfix) ? postfix : 850;
  for (const t of names.filter((n) => n.startsWith('bp-full'))) {
    const full = rate(t, '10k -s 200');
    out.push({
      target: `${t} no slower than Postfix relaying (${Number.isFinite(postfix) ? 'measured' : 'issue figure 600–850, upper end'}, 10k -s 200)`,
      measured: `${full} vs ${postfixRef} msg/s`,
      met: Number.isFinite(full) ? full >= postfixRef : null,
    });
  }
  for (const t of names.filter((n) => n.startsWith('bp-default') || n.startsWith('bp-full'))) {
    const r = rows.find((x) => x.target === t && x.workload === '10k -d -s 20');
    if (r) out.push({ target: `${t}: p99 added latency < 20 ms (10k -d -s 20)`, measured: `${r.addedP99Ms} ms`, met: Number.isFinite(r.addedP99Ms) ? r.addedP99Ms < 20 : null });
    const u = latency.find((x) => x.target === t);
    if (u) out.push({ target: `${t}: p99 added latency < 20 ms (one client, -d, not queueing)`, measured: `${u.addedP99Ms} ms`, met: Number.isFinite(u.addedP99Ms) ? u.addedP99Ms < 20 : null });
  }
  for (const m of memory) out.push({ target: `${m.target}: peak RSS < 150 MB with 1,000 connections`, measured: `${m.idle1000RssMb} MB`, met: m.idle1000RssMb < 150 });
  return out;
}

export function printReport(r: { cores: number; cpu: string; rows: Row[]; unloadedLatency: Latency[]; memory: Array<Record<string, string | number>>; targetChecks: TargetCheck[]; notes: string[]; runsPerFigure: number; loadAverageAtStart: number[]; targets: Array<{ name: string; label: string }>; durationSeconds: number }, cores: number): void {
  const lines: string[] = [];
  lines.push(`Borderpatrol benchmark — ${cores} cores (${r.cpu}), median of ${r.runsPerFigure} run(s), load average at start ${r.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  lines.push('');
  for (const t of r.targets) lines.push(`  ${t.name.padEnd(18)} ${t.label}`);
  lines.push('');
  lines.push(
    table([
      ['workload', 'target', 'msg/s', '×limit', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'greet ms', 'CPU ms/msg', 'peak RSS MB', 'Redis cmd/msg', 'Redis RT/msg'],
      ...r.rows.map((x) => [x.workload, x.target, x.messagesPerSecond, x.ratioToLimit, x.txP50Ms, x.txP99Ms, x.addedP50Ms, x.addedP99Ms, x.greetP50Ms, x.cpuMsPerMessage, x.peakRssMb, x.redisCommandsPerMessage, x.redisRoundTripsPerMessage]),
    ]),
  );
  lines.push('');
  lines.push('p50/p99: MAIL FROM to the reply after "." per message, timed by bench/lib/timing-client.ts at the same concurrency; +p50/+p99: minus the same');
  lines.push('percentile straight into smtp-sink; greet: connect to 220. CPU and peak RSS: the server process (all workers) from /proc. Redis cmd: commands');
  lines.push('Redis executed (INFO), Lua-internal ones included; RT: commands clients sent (MONITOR, on a 20-message sample).');
  lines.push('');
  lines.push(table([['latency, one client, -d (ms)', 'p50', 'p99', '+p50', '+p99', 'samples'], ...r.unloadedLatency.map((u) => [u.target, u.p50Ms, u.p99Ms, u.addedP50Ms, u.addedP99Ms, u.samples])]));
  if (r.memory.length > 0) {
    lines.push('');
    lines.push(
      table([
        ['memory (MB)', 'RSS after the runs', 'fresh RSS', 'peak, 1,000 idle conns', 'greeted', 'peak, 200 concurrent 100 KB', 'accepted'],
        ...r.memory.map((m) => [String(m.target), Number(m.afterLoadRssMb), Number(m.freshRssMb), Number(m.idle1000RssMb), Number(m.idleGreeted), Number(m.concurrent200PeakMb), Number(m.concurrentAccepted)]),
      ]),
    );
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
