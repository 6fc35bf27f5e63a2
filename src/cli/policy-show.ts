import { stringify } from 'yaml';
import { parse, parseSet, UsageError } from './common.js';
import { policiesDirOf, policiesOption, reportFailure } from './policy-errors.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';

export const POLICY_SHOW_HELP = `Usage: borderpatrol policy show [DIR] [--policies DIR] [--set KEY=VALUE]

Print the effective policy (the files with every default filled in) as YAML.
Secrets (the admin password, a Redis password) are shown as "(hidden)".
`;

/** The policy with its secrets masked: the output ends up in tickets and chat. */
export function showablePolicy(policy: Readonly<Policy>): Policy {
  const copy = structuredClone(policy) as Policy;
  if (copy.admin.password) copy.admin.password = '(hidden)';
  if (copy.store.redis) copy.store.redis = copy.store.redis.replace(/\/\/([^@/]*):([^@/]*)@/, '//$1:(hidden)@');
  return copy;
}

export async function policyShowCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...policiesOption, set: { type: 'string', multiple: true, default: [] as string[] } });
  if (values.help) {
    process.stdout.write(POLICY_SHOW_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`policy show takes one directory, got ${positionals.length}`);
  const dir = policiesDirOf(values.policies, positionals[0]);
  try {
    const { compiled } = await loadPolicy(dir, { overrides: parseSet(values.set) });
    process.stdout.write(`# Effective policy of ${dir} (version ${compiled.version}), defaults included.\n`);
    process.stdout.write(stringify(showablePolicy(compiled.policy), { lineWidth: 0 }));
    return 0;
  } catch (err) {
    return reportFailure(err);
  }
}
