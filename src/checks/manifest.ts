import { z } from 'zod';

/**
 * What a check declares about itself, readable without loading its code: its name (the
 * folder, checks/NAME.yaml and the policy section), the checks it runs and the phase of
 * each, its policy section's schema and the symbols it may emit. policy/ builds the schema
 * and validates symbols.yaml from these alone; the code (index.ts beside each manifest)
 * is bound to its manifest with defineCheck (pipeline/check.ts).
 */

/**
 * The phases a check can run in, cheapest first. `postfilter` runs after the verdict
 * (ctx.verdict is set) and may only defer or refuse it: score-band greylisting lives there.
 */
export type Phase = 'connect' | 'helo' | 'mail' | 'rcpt' | 'data' | 'postfilter';
export const PHASES: readonly Phase[] = ['connect', 'helo', 'mail', 'rcpt', 'data', 'postfilter'];

/** A run's phase, or its phase with switches. */
export type RunSpec =
  | Phase
  | {
      phase: Phase;
      /**
       * Runs whatever its section's `enabled` says (its dry_run, on_error and timeout still
       * apply): score-band greylisting is switched by actions.greylist, not greylist.enabled.
       */
      ignoresEnabled: true;
    };

/** A symbol the admin names in a section (a content rule, a DNSBL zone), and where it stands in that section. */
export interface PolicySymbol {
  name: string;
  path: readonly PropertyKey[];
}

export interface CheckManifest<N extends string = string, S extends z.ZodType = z.ZodType, R extends string = string> {
  readonly name: N;
  /** Each check run this manifest stands for, with its phase; this order is run order within a phase. */
  readonly runs: Readonly<Record<R, RunSpec>>;
  readonly schema: S;
  /** Symbols it may emit whatever the policy says: each may have a score in symbols.yaml. */
  readonly symbols: readonly string[];
  /** Symbols named in its own section: each must have a score in symbols.yaml. */
  policySymbols?(section: z.output<S>): PolicySymbol[];
}

/** Keeps the literal name, run names and schema type, so policy/ gets a typed section per check. */
export function defineManifest<const N extends string, S extends z.ZodType, const R extends string>(m: CheckManifest<N, S, R>): CheckManifest<N, S, R> {
  return m;
}

/** A symbol as policy files name it (the same rule symbols.yaml keys follow). */
export const symbolName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'symbol names are UPPER_CASE (A-Z, 0-9, _), starting with a letter');

/** `skip` fails open (log + metric), `tempfail` answers 451 4.3.0 when the check's backend fails. */
export const onError = z.enum(['skip', 'tempfail']);

/** The fields every check section carries; the runner reads them (see SectionSettings). */
export const checkBase = {
  enabled: z.boolean().default(true),
  /** Log and stamp what this check would do, but never let it reject or defer. */
  dry_run: z.boolean().default(false),
  on_error: onError.default('skip'),
  /** Milliseconds the check may take before it counts as failed. */
  timeout: z.number().int().positive().default(2000),
};

export interface SectionSettings {
  enabled: boolean;
  dry_run: boolean;
  on_error: z.output<typeof onError>;
  timeout: number;
}
