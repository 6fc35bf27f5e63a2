import { loadPolicy, type Override } from './load.js';
import { PolicyError, formatProblem, type PolicyProblem } from './errors.js';
import type { CompiledPolicy } from './compiled.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

export interface ReloadStatus {
  ok: boolean;
  version: string;
  loadedAt: string;
  /** Problems of the last attempt when it failed: the previous policy stays in force. */
  problems: PolicyProblem[];
}

/**
 * Holds the policy in force. A reload validates the whole directory first and swaps the
 * reference only when it is valid; a broken edit is logged and exposed, never applied.
 */
export class PolicyHolder {
  private current: CompiledPolicy;
  private lastProblems: PolicyProblem[] = [];
  private readonly listeners: Array<(p: CompiledPolicy) => void> = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    initial: CompiledPolicy,
    private readonly dir: string,
    private readonly overrides: readonly Override[],
    private readonly log: Logger,
    private readonly metrics: Metrics | null,
  ) {
    this.current = initial;
    metrics?.policyLoadedAt.set(initial.loadedAt.getTime() / 1000);
  }

  get(): CompiledPolicy {
    return this.current;
  }

  onChange(listener: (p: CompiledPolicy) => void): void {
    this.listeners.push(listener);
  }

  status(): ReloadStatus {
    return { ok: this.lastProblems.length === 0, version: this.current.version, loadedAt: this.current.loadedAt.toISOString(), problems: this.lastProblems };
  }

  /**
   * Load the directory again; returns true when a new valid policy is in force. Reloads run
   * one after another (watcher, SIGHUP and the admin API may ask at once), so an older read
   * can never replace a newer one.
   */
  reload(reason: string): Promise<boolean> {
    const run = this.queue.then(() => this.reloadNow(reason));
    this.queue = run.catch(() => false);
    return run;
  }

  private async reloadNow(reason: string): Promise<boolean> {
    try {
      const { compiled } = await loadPolicy(this.dir, { overrides: this.overrides });
      const changed = compiled.version !== this.current.version;
      this.lastProblems = [];
      this.metrics?.policyValid.set(1);
      if (!changed) return false;
      this.current = compiled;
      this.metrics?.policyReloads.inc({ result: 'applied' });
      this.metrics?.policyLoadedAt.set(compiled.loadedAt.getTime() / 1000);
      this.log.info({ event: 'policy_reloaded', reason, version: compiled.version }, 'policy reloaded');
      for (const l of this.listeners) l(compiled);
      return true;
    } catch (err) {
      const problems = err instanceof PolicyError ? err.problems : [{ file: this.dir, line: 0, col: 0, message: (err as Error).message }];
      this.lastProblems = problems;
      this.metrics?.policyValid.set(0);
      this.metrics?.policyReloads.inc({ result: 'rejected' });
      this.log.error(
        { event: 'policy_invalid', reason, problems: problems.map(formatProblem), version_in_force: this.current.version },
        'policy edit rejected; the previous policy stays in force',
      );
      return false;
    }
  }
}
