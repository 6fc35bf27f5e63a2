import type { z } from 'zod';
import type { TransactionContext } from './context.js';
import type { ForcedAction, SymbolHit } from '../decision/hits.js';
import type { CheckManifest, Phase, RunSpec } from '../checks/manifest.js';
import type { Store } from '../stores/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

export interface Outcome {
  hits?: SymbolHit[];
  force?: ForcedAction;
}

export const NO_HITS: Outcome = Object.freeze({});

/**
 * One check run, as the runner sees it. `section` is its manifest's name: the policy section
 * (checks/NAME.yaml) that carries enabled / dry_run / on_error / timeout. Checks never throw
 * to say "no": they return a forced action. A throw means the check itself failed; on_error
 * decides what follows.
 */
export interface Check {
  readonly name: string;
  readonly phase: Phase;
  readonly section: string;
  /** Runs whatever its section's `enabled` says (see RunSpec). */
  readonly ignoresEnabled?: boolean;
  run(ctx: TransactionContext): Promise<Outcome>;
}

export type CheckRun = (ctx: TransactionContext) => Promise<Outcome>;

/** What a check may use besides the context: built once per server by its composition root. */
export interface CheckDeps {
  store: Store;
  log: Logger;
  metrics: Metrics | null;
}

/** A check folder's code bound to its manifest. */
export interface CheckModule {
  readonly manifest: CheckManifest;
  create(deps: CheckDeps): Check[];
}

/**
 * Binds a check's code to its manifest: `create` gives one run function for each run the
 * manifest declares (the compiler holds the two to the same names); name, phase and policy
 * section come from the manifest alone.
 */
export function defineCheck<R extends string>(manifest: CheckManifest<string, z.ZodType, R>, create: (deps: CheckDeps) => Readonly<Record<R, CheckRun>>): CheckModule {
  return {
    manifest: manifest as CheckManifest,
    create: (deps) => {
      const runs = create(deps);
      return (Object.entries(manifest.runs) as Array<[R, RunSpec]>).map(([name, spec]) =>
        typeof spec === 'string'
          ? { name, phase: spec, section: manifest.name, run: runs[name] }
          : { name, phase: spec.phase, section: manifest.name, ignoresEnabled: spec.ignoresEnabled, run: runs[name] },
      );
    },
  };
}
