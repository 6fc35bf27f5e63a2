import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { policySchema } from './schema.js';
import type { SourceMap } from './source-map.js';
import { PolicyError } from './errors.js';
import { compilePolicy, type CompiledPolicy } from './compiled.js';
import { PolicyFiles, readPolicyFiles } from './files.js';
import { applyOverrides, type Override } from './overrides.js';
import { sortProblems, symbolProblems, symbolProblemsDespite, zodProblems } from './problems.js';

export type { Override } from './overrides.js';

export interface LoadOptions {
  overrides?: readonly Override[];
  /**
   * File contents that stand in for what is on disk, keyed by path relative to the policies
   * directory (null = the file is gone). `policy set` and `list add` validate the policy as
   * it would be after their edit this way, before writing anything.
   */
  files?: ReadonlyMap<string, string | null>;
}

export interface LoadedPolicy {
  compiled: CompiledPolicy;
  sources: SourceMap;
}

async function checkDirectory(dir: string, files: LoadOptions['files']): Promise<void> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new PolicyError([{ file: dir, line: 0, col: 0, message: 'not a directory' }]);
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    // An overlay alone (a policy being created from nothing) needs no directory yet.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && files && files.size > 0) return;
    throw new PolicyError([{ file: dir, line: 0, col: 0, message: `cannot read the policies directory: ${(err as Error).message}` }]);
  }
}

/**
 * Load, validate and compile a policies directory. Throws PolicyError listing every
 * problem with file:line:col; never returns a half-valid policy.
 */
export async function loadPolicy(dir: string, options: LoadOptions = {}): Promise<LoadedPolicy> {
  await checkDirectory(dir, options.files);
  const { raw, sources, problems, hash } = await readPolicyFiles(new PolicyFiles(dir, options.files));
  const fallback = path.join(dir, 'server.yaml');
  if (options.overrides?.length) applyOverrides(raw, options.overrides, sources);
  const result = policySchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    problems.push(...zodProblems(result.error, sources, fallback));
    problems.push(...symbolProblemsDespite(result.error, raw, sources, fallback));
  } else problems.push(...symbolProblems(result.data, sources, fallback, true));
  if (problems.length > 0 || !result.success) throw new PolicyError(sortProblems(problems));
  const overridesHash = options.overrides?.map((o) => `${o.key}=${o.value}`).join('\n') ?? '';
  const version = crypto.createHash('sha256').update(hash).update(overridesHash).digest('hex').slice(0, 12);
  return { compiled: compilePolicy(result.data, path.resolve(dir), version), sources };
}

/** The built-in defaults alone (for unit tests and tools that run without a policies dir). */
export function defaultPolicy(overrides: Partial<Record<string, unknown>> = {}): CompiledPolicy {
  const parsed = policySchema.parse(overrides);
  return compilePolicy(parsed, '', 'defaults');
}
