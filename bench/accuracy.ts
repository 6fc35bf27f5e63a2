/**
 * Accuracy benchmark: learn CORPUS/train with the code `borderpatrol learn` runs, scan
 * CORPUS/dev with the code `borderpatrol scan --offline` runs, and report how much spam is
 * flagged and rejected and how much ham is (wrongly) flagged or rejected.
 *
 *   npm run bench:accuracy -- [--corpus DIR] [--policies DIR] [--set KEY=VALUE ...] [--ip IP --helo NAME] [--details]
 *
 * CORPUS holds train/{spam,ham} and dev/{spam,ham}, one message per file; ham files named
 * hard-ham-* (legitimate newsletters and marketing) are also counted on their own. The
 * store is a fresh embedded one in a temp dir, and nothing touches the network.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openEngine } from '../src/cli/engine.js';
import { planInputs } from '../src/cli/inputs.js';
import { runLearn, localLearner, tallyText } from '../src/cli/learn.js';
import { runScan, scanOverrides, type ScanEvent } from '../src/cli/scan.js';
import { Progress } from '../src/cli/progress.js';
import { silentLogger } from '../src/observability/logger.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: path.resolve(repo, '../shared/corpus') },
    policies: { type: 'string', default: path.join(repo, 'policies') },
    set: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: path.join(repo, 'bench/accuracy-results.json') },
    details: { type: 'boolean', default: false },
    // The client every message is scanned as: an outside address (so the HELO and sender
    // checks run as for real mail), with greylisting and rate limits off below, since one
    // made-up client sending thousands of messages is not what they are for.
    ip: { type: 'string', default: '192.0.2.25' },
    helo: { type: 'string', default: 'mail.sender.example' },
  },
});

interface Group {
  total: number;
  flagged: number;
  deferred: number;
  rejected: number;
  flaggedFiles: string[];
  /** Spam only: the ones that were accepted. */
  missedFiles: string[];
}

const group = (): Group => ({ total: 0, flagged: 0, deferred: 0, rejected: 0, flaggedFiles: [], missedFiles: [] });

async function main(): Promise<void> {
  const corpus = path.resolve(values.corpus);
  for (const sub of ['train/spam', 'train/ham', 'dev/spam', 'dev/ham']) {
    await fs.access(path.join(corpus, sub)).catch(() => {
      throw new Error(`${path.join(corpus, sub)}: missing; --corpus DIR must hold train/{spam,ham} and dev/{spam,ham}`);
    });
  }
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-accuracy-'));
  const sets = ['greylist.enabled=false', 'ratelimit.enabled=false', ...values.set, 'store.redis=', `store.data_dir=${dataDir}`];
  const engine = await openEngine({
    policiesDir: values.policies,
    overrides: scanOverrides({ set: sets }, true),
    log: silentLogger(),
    access: 'write',
    command: 'bench:accuracy',
  });
  const maxSize = engine.policy.policy.limits.max_message_size;
  const startRss = process.memoryUsage().rss;
  try {
    // Learn: spam and ham, as two `learn` runs would.
    const learnStart = performance.now();
    for (const cls of ['spam', 'ham'] as const) {
      const plan = await planInputs([path.join(corpus, 'train', cls)]);
      const progress = new Progress({ label: `learn ${cls}`, totalBytes: plan.totalBytes });
      const tally = await runLearn(localLearner(engine, cls), plan, maxSize, { jobs: 8, progress });
      progress.done(tallyText(tally));
    }
    const learnMs = performance.now() - learnStart;

    // Scan dev, as `scan --offline` would.
    const spam = group();
    const ham = group();
    const hardHam = group();
    const times: number[] = [];
    const details: Array<{ file: string; action: string; score: number; symbols: Record<string, number> }> = [];
    let errors = 0;
    for (const cls of ['spam', 'ham'] as const) {
      const plan = await planInputs([path.join(corpus, 'dev', cls)]);
      const progress = new Progress({ label: `scan ${cls}`, totalBytes: plan.totalBytes });
      await runScan(engine, plan, { ip: values.ip, helo: values.helo, rcpts: [] }, (e: ScanEvent) => {
        progress.tick(e.input.bytes);
        if (!e.verdict) {
          errors++;
          process.stderr.write(`${e.input.name}: ${e.error}\n`);
          return;
        }
        times.push(e.ms);
        const file = path.basename(e.input.name);
        const action = e.verdict.action;
        const groups = cls === 'spam' ? [spam] : file.startsWith('hard-ham') ? [ham, hardHam] : [ham];
        for (const g of groups) {
          g.total++;
          if (action !== 'accept') {
            g.flagged++;
            g.flaggedFiles.push(file);
          } else g.missedFiles.push(file);
          if (action === 'greylist' || action === 'soft_reject') g.deferred++;
          if (action === 'reject') g.rejected++;
        }
        if (values.details) details.push({ file, action, score: e.verdict.score, symbols: Object.fromEntries(e.verdict.hits.map((h) => [h.name, h.score])) });
      });
      progress.done();
    }
    times.sort((a, b) => a - b);
    const pct = (n: number, d: number) => (d === 0 ? 0 : Math.round((n / d) * 10000) / 100);
    const mean = times.reduce((s, t) => s + t, 0) / Math.max(1, times.length);
    const quantile = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    const results = {
      corpus: path.relative(repo, corpus) || '.',
      date: new Date().toISOString(),
      learned: await engine.store.bayesTotals(),
      learn_seconds: Math.round(learnMs / 100) / 10,
      spam: { total: spam.total, flagged_pct: pct(spam.flagged, spam.total), rejected_pct: pct(spam.rejected, spam.total), deferred: spam.deferred, flagged: spam.flagged, rejected: spam.rejected },
      ham: { total: ham.total, flagged_pct: pct(ham.flagged, ham.total), rejected_pct: pct(ham.rejected, ham.total), flagged: ham.flagged, rejected: ham.rejected, flagged_files: ham.flaggedFiles },
      hard_ham: { total: hardHam.total, flagged: hardHam.flagged, rejected: hardHam.rejected, flagged_files: hardHam.flaggedFiles },
      spam_missed_files: spam.missedFiles,
      errors,
      ms_per_message: { mean: round(mean), p50: round(quantile(0.5)), p99: round(quantile(0.99)), max: round(times[times.length - 1] ?? 0) },
      peak_rss_mb: peakRssMb,
      start_rss_mb: Math.round(startRss / 1048576),
      targets: {
        no_ham_rejected: ham.rejected === 0,
        ham_flagged_at_most_0_3_pct: pct(ham.flagged, ham.total) <= 0.3,
        spam_flagged_at_least_97_pct: pct(spam.flagged, spam.total) >= 97,
        spam_rejected_at_least_55_pct: pct(spam.rejected, spam.total) >= 55,
        under_2_ms_per_message: mean < 2,
      },
      ...(values.details ? { details } : {}),
    };
    await fs.writeFile(values.out, JSON.stringify(results, null, 2) + '\n');
    const row = (name: string, value: string, target: string, ok?: boolean) =>
      `${name.padEnd(22)} ${value.padStart(22)}   ${target.padEnd(12)} ${ok === undefined ? '' : ok ? 'ok' : 'MISSED'}`;
    const lines = [
      '',
      `corpus ${results.corpus}: learned ${results.learned.spam} spam / ${results.learned.ham} ham in ${results.learn_seconds} s; dev ${spam.total} spam / ${ham.total} ham (${hardHam.total} hard-ham)`,
      row('measure', 'result', 'target'),
      row('spam flagged', `${spam.flagged}/${spam.total} ${pct(spam.flagged, spam.total)}%`, '>= 97%', results.targets.spam_flagged_at_least_97_pct),
      row('spam rejected', `${spam.rejected}/${spam.total} ${pct(spam.rejected, spam.total)}%`, '>= 55%', results.targets.spam_rejected_at_least_55_pct),
      row('spam deferred', `${spam.deferred}/${spam.total} ${pct(spam.deferred, spam.total)}%`, ''),
      row('ham flagged', `${ham.flagged}/${ham.total} ${pct(ham.flagged, ham.total)}%`, '<= 0.3%', results.targets.ham_flagged_at_most_0_3_pct),
      row('ham rejected', `${ham.rejected}/${ham.total} ${pct(ham.rejected, ham.total)}%`, '0', results.targets.no_ham_rejected),
      row('hard-ham flagged', `${hardHam.flagged}/${hardHam.total}`, ''),
      row('hard-ham rejected', `${hardHam.rejected}/${hardHam.total}`, ''),
      row('ms per message', `mean ${round(mean)} p99 ${round(quantile(0.99))}`, '< 2', results.targets.under_2_ms_per_message),
      row('peak RSS', `${peakRssMb} MB`, ''),
      `results written to ${path.relative(process.cwd(), values.out)}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await engine.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:accuracy: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
