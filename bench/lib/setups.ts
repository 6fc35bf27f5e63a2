import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO } from './targets.js';

const run = promisify(execFile);

/** The corpus and the trained Bayes the benchmark's Bayes row needs. */

export function corpusDir(given: string | undefined): string {
  return given ?? path.join(REPO, '..', 'shared', 'corpus');
}

/** The corpus's train/ham and train/spam, or null when it has none. */
export function corpusTrainDirs(corpus: string): { ham: string; spam: string } | null {
  const dirs = { ham: path.join(corpus, 'train', 'ham'), spam: path.join(corpus, 'train', 'spam') };
  return fs.existsSync(dirs.ham) && fs.existsSync(dirs.spam) ? dirs : null;
}

/**
 * Train Bayes through `borderpatrol learn` (its own code path) into the store the server
 * reads: every message of both classes (the first 300 of each with --quick). Returns a
 * note on what it learned.
 */
export async function trainBayes(setup: { policiesDir: string; overrides: Array<{ key: string; value: string }>; setup: { dist?: string } }, workDir: string, o: { dirs: { ham: string; spam: string }; quick: boolean; progress: (line: string) => void }): Promise<string> {
  const dirs = { ...o.dirs };
  if (o.quick) {
    // A directory of links to the first 300 files of each class.
    for (const cls of ['ham', 'spam'] as const) {
      const subset = path.join(workDir, 'train-subset', cls);
      dirs[cls] = subset;
      // Made once per run: a baseline or A/B row trains from the same links.
      if (fs.existsSync(subset)) continue;
      fs.mkdirSync(subset, { recursive: true });
      for (const f of fs.readdirSync(o.dirs[cls]).sort().slice(0, 300)) fs.symlinkSync(path.join(o.dirs[cls], f), path.join(subset, f));
    }
  }
  // Learning is a burst of store writes: give Redis more than the server's 250 ms per command.
  const sets = [...setup.overrides, { key: 'store.command_timeout', value: '5000' }].flatMap((x) => ['--set', `${x.key}=${x.value}`]);
  const summaries: string[] = [];
  for (const cls of ['ham', 'spam'] as const) {
    o.progress(`learning ${cls} from ${dirs[cls]}`);
    let stderr: string;
    try {
      stderr = (await run(process.execPath, [path.join(setup.setup.dist ?? path.join(REPO, 'dist'), 'cli.js'), 'learn', cls, '--policies', setup.policiesDir, '--jobs', '8', ...sets, dirs[cls]], { cwd: workDir, maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 })).stderr;
    } catch (err) {
      // Exit status 1 when some messages failed; the summary line says how many.
      stderr = (err as { stderr?: string }).stderr ?? '';
      if (!/ learned,/.test(stderr)) throw new Error(`learn ${cls} failed: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
    }
    summaries.push(`${cls}: ${/in [\d:]+, (.*)$/m.exec(stderr)?.[1] ?? 'done'}`);
  }
  return `Bayes trained (${summaries.join('; ')})`;
}
