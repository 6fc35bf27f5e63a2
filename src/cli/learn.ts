import { commonOptions, overridesFrom, parse, UsageError } from './common.js';
import { adminPassword, PASSWORD_HINT } from './password.js';
import { openEngine, type Engine } from './engine.js';
import { planInputs, readInputs, type InputPlan } from './inputs.js';
import { Progress } from './progress.js';
import { learnEvent } from '../session/learn.js';
import type { BayesClass, LearnResult } from '../stores/types.js';

export const LEARN_HELP = `Usage: borderpatrol learn spam|ham [options] FILE|DIR|mbox|- ...

Train the Bayes classifier and the neural layer. Learning a message twice as the same class does nothing;
learning it as the other class moves it. Progress goes to stderr.

  --server URL        send each message to a running server's admin listener
                      (e.g. http://127.0.0.1:11334) instead of the local store
  --password PW       admin password for --server (default: $BORDERPATROL_PASSWORD, or the
                      first line of the file $BORDERPATROL_PASSWORD_FILE)
  --jobs N            messages in flight at once (default 8)
  --policies DIR      policy directory (default ./policies)
  --redis URL         learn into the Redis store a server uses
  --data-dir DIR      learn into the embedded store in DIR
  --set KEY=VALUE     override any policy key by its dotted path (repeatable)

While a server runs on the embedded store, it is the data dir's one writer: train it with
--server (or rspamc); learn --data-dir is refused until it stops.
`;

/** Learns one message somewhere: the local store, or a server over HTTP. */
export type Learner = (raw: Buffer) => Promise<LearnResult>;

export interface LearnTally {
  learned: number;
  relearned: number;
  already_learned: number;
  skipped: number;
  failed: number;
}

/** A problem that makes every further message pointless (wrong password, server gone). */
export class LearnAbort extends Error {}

export function localLearner(engine: Engine, cls: BayesClass): Learner {
  return (raw) => learnEvent(engine, raw, cls);
}

export function remoteLearner(server: string, password: string, cls: BayesClass): Learner {
  const base = /^https?:\/\//i.test(server) ? server : `http://${server}`;
  const url = new URL(cls === 'spam' ? '/learnspam' : '/learnham', base);
  return async (raw) => {
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { Password: password, 'Content-Type': 'message/rfc822' }, body: raw, signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new LearnAbort(`${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) throw new LearnAbort(`${url.origin}: ${res.status}: wrong or missing admin password (--password)`);
    if (res.status === 208) return 'already_learned';
    if (res.status !== 200) throw new Error(`${url.origin} answered ${res.status}: ${text.trim().slice(0, 200)}`);
    const body = JSON.parse(text) as { result?: LearnResult };
    return body.result ?? 'learned';
  };
}

/**
 * Feed every planned message to the learner, `jobs` at a time, with progress on stderr.
 * A message that fails is counted and named; an abort (bad password, server down) stops all.
 */
export async function runLearn(learner: Learner, plan: InputPlan, maxSize: number, options: { jobs: number; progress?: Progress; onError?: (name: string, message: string) => void }): Promise<LearnTally> {
  const tally: LearnTally = { learned: 0, relearned: 0, already_learned: 0, skipped: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  let abort: LearnAbort | null = null;
  for await (const input of readInputs(plan, maxSize)) {
    if (abort) break;
    if (input.oversized) {
      tally.skipped++;
      options.onError?.(input.name, `over limits.max_message_size (${maxSize} bytes), skipped`);
      options.progress?.tick(input.bytes);
      continue;
    }
    const job = learner(input.raw).then(
      (result) => {
        tally[result]++;
      },
      (err: Error) => {
        if (err instanceof LearnAbort) abort ??= err;
        else {
          tally.failed++;
          options.onError?.(input.name, err.message);
        }
      },
    );
    const tracked: Promise<void> = job.finally(() => {
      inFlight.delete(tracked);
      options.progress?.tick(input.bytes);
    });
    inFlight.add(tracked);
    if (inFlight.size >= options.jobs) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (abort) throw abort;
  return tally;
}

export function tallyText(t: LearnTally): string {
  const parts = [`${t.learned} learned`, `${t.relearned} moved from the other class`, `${t.already_learned} already learned`];
  if (t.skipped) parts.push(`${t.skipped} skipped`);
  if (t.failed) parts.push(`${t.failed} failed`);
  return parts.join(', ');
}

export async function learnCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...commonOptions,
    server: { type: 'string' },
    password: { type: 'string' },
    jobs: { type: 'string', default: '8' },
  });
  if (values.help) {
    process.stdout.write(LEARN_HELP);
    return 0;
  }
  const [cls, ...paths] = positionals;
  if (cls !== 'spam' && cls !== 'ham') throw new UsageError(`learn: the first argument must be spam or ham, not ${cls === undefined ? 'nothing' : `"${cls}"`}`);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`--jobs ${values.jobs}: expected a whole number from 1 to 256`);
  const plan = await planInputs(paths);
  const progress = new Progress({ label: `learn ${cls}`, totalBytes: plan.totalBytes });
  const onError = (name: string, message: string) => process.stderr.write(`borderpatrol: ${name}: ${message}\n`);

  let tally: LearnTally;
  if (values.server) {
    const password = adminPassword(values.password) ?? '';
    if (!password) throw new UsageError(`--server needs the admin password: ${PASSWORD_HINT}`);
    // The server applies its own size limit (and answers 413 over it).
    tally = await runLearn(remoteLearner(values.server, password, cls), plan, Number.MAX_SAFE_INTEGER, { jobs, progress, onError }).catch((err: Error) => {
      if (err instanceof LearnAbort) throw new UsageError(err.message);
      throw err;
    });
  } else {
    const engine = await openEngine({ policiesDir: values.policies, overrides: overridesFrom(values), access: 'write', command: 'learn' });
    try {
      tally = await runLearn(localLearner(engine, cls), plan, engine.policy.policy.limits.max_message_size, { jobs, progress, onError });
    } finally {
      await engine.close();
    }
  }
  progress.done(tallyText(tally));
  return tally.failed > 0 ? 1 : 0;
}
