import { UsageError } from './common.js';
import { PolicyError, formatProblem } from '../policy/errors.js';
import { EditError } from '../policy/edit.js';
import { LockTimeoutError } from '../policy/file-lock.js';

/** Options shared by the policy and list commands. */
export const policiesOption = {
  policies: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * The policies directory: given as --policies DIR, or as the optional first positional
 * where a command takes one (`policy check DIR`). Default ./policies.
 */
export function policiesDirOf(flag: string | undefined, positional?: string): string {
  if (flag !== undefined && positional !== undefined && flag !== positional) {
    throw new UsageError(`two policy directories given (${positional} and --policies ${flag}); give one`);
  }
  return positional ?? flag ?? './policies';
}

/**
 * Print what went wrong the way admins grep for it (file:line:col: problem, one a line on
 * stderr) and return the exit code: 1 for an invalid policy or a refused edit. Anything else
 * is a bug or an infrastructure failure and is re-thrown.
 */
export function reportFailure(err: unknown): number {
  if (err instanceof PolicyError) {
    for (const p of err.problems) process.stderr.write(formatProblem(p) + '\n');
    return 1;
  }
  if (err instanceof EditError || err instanceof LockTimeoutError) {
    process.stderr.write(`borderpatrol: ${err.message}\n`);
    return 1;
  }
  throw err;
}
