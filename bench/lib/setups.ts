import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseDocument, isMap, isSeq } from 'yaml';
import { writeTrainingSet } from './messages.js';
import { REPO } from './targets.js';

const run = promisify(execFile);

/** The policy pieces the Borderpatrol rows need: relaxed rate limits and a trained Bayes. */

/** The shipped checks/ratelimit.yaml with every rate and burst a million times higher. */
export function raisedRateLimits(): Record<string, string> {
  const file = path.join(REPO, 'policies', 'checks', 'ratelimit.yaml');
  if (!fs.existsSync(file)) return {};
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  const rules = doc.get('rules');
  if (isSeq(rules)) {
    for (const rule of rules.items) {
      if (!isMap(rule)) continue;
      for (const key of ['rate', 'burst']) {
        const v = rule.get(key);
        if (typeof v === 'number') rule.set(key, v * 1_000_000);
      }
    }
  }
  return { 'checks/ratelimit.yaml': doc.toString() };
}

export function corpusDir(given: string | undefined): string {
  return given ?? path.join(REPO, '..', 'shared', 'corpus');
}

/**
 * Train Bayes through `borderpatrol learn` (its own code path) into the store the server
 * reads: the corpus's train/ set (300 of each class with --quick), or a generated set
 * when there is no corpus. Returns a note on what it learned.
 */
export async function trainBayes(setup: { policiesDir: string; overrides: Array<{ key: string; value: string }> }, workDir: string, o: { corpus: string; quick: boolean; progress: (line: string) => void }): Promise<string> {
  const dirs: Record<'ham' | 'spam', string> = { ham: path.join(o.corpus, 'train', 'ham'), spam: path.join(o.corpus, 'train', 'spam') };
  let source: string;
  if (fs.existsSync(dirs.ham) && fs.existsSync(dirs.spam)) {
    source = path.relative(REPO, o.corpus) || o.corpus;
    if (o.quick) {
      // A directory of links to the first 300 files of each class.
      for (const cls of ['ham', 'spam'] as const) {
        const subset = path.join(workDir, 'train-subset', cls);
        fs.mkdirSync(subset, { recursive: true });
        for (const f of fs.readdirSync(dirs[cls]).sort().slice(0, 300)) fs.symlinkSync(path.join(dirs[cls], f), path.join(subset, f));
        dirs[cls] = subset;
      }
    }
  } else {
    source = `a generated set (no corpus at ${o.corpus})`;
    Object.assign(dirs, writeTrainingSet(path.join(workDir, 'train'), 250));
  }
  // Learning is a burst of Lua scripts: give Redis more than the server's 250 ms per command.
  const sets = [...setup.overrides, { key: 'store.command_timeout', value: '5000' }].flatMap((x) => ['--set', `${x.key}=${x.value}`]);
  const summaries: string[] = [];
  for (const cls of ['ham', 'spam'] as const) {
    o.progress(`learning ${cls} from ${dirs[cls]}`);
    let stderr: string;
    try {
      stderr = (await run(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'learn', cls, '--policies', setup.policiesDir, '--jobs', '8', ...sets, dirs[cls]], { cwd: workDir, maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 })).stderr;
    } catch (err) {
      // Exit status 1 when some messages failed; the summary line says how many.
      stderr = (err as { stderr?: string }).stderr ?? '';
      if (!/ learned,/.test(stderr)) throw new Error(`learn ${cls} failed: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
    }
    summaries.push(`${cls}: ${/in [\d:]+, (.*)$/m.exec(stderr)?.[1] ?? 'done'}`);
  }
  return `Bayes trained from ${source} (${summaries.join('; ')})`;
}
