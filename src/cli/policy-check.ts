import { parse, parseSet, UsageError } from './common.js';
import { policiesDirOf, policiesOption, reportFailure } from './policy-errors.js';
import { loadPolicy } from '../policy/load.js';
import { PolicyError } from '../policy/errors.js';

export const POLICY_CHECK_HELP = `Usage: borderpatrol policy check [DIR] [--policies DIR] [--set KEY=VALUE]

Validate a policies directory without starting anything. Exit 0 with a one-line summary
when it is valid; exit 1 with every problem, one per line (file:line:column: problem).
`;

export async function policyCheckCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...policiesOption, set: { type: 'string', multiple: true, default: [] as string[] } });
  if (values.help) {
    process.stdout.write(POLICY_CHECK_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`policy check takes one directory, got ${positionals.length}`);
  const dir = policiesDirOf(values.policies, positionals[0]);
  try {
    const { compiled } = await loadPolicy(dir, { overrides: parseSet(values.set) });
    const p = compiled.policy;
    const lists = Object.values(p.lists);
    const entries = lists.reduce((n, l) => n + l.length, 0);
    const facts = [
      `version ${compiled.version}`,
      `${Object.keys(p.symbols).length} symbols`,
      `${lists.length} lists with ${entries} entries`,
      `${p.local_domains.length} local domains`,
      ...(p.dry_run ? ['dry-run on'] : []),
    ];
    process.stdout.write(`${dir}: valid (${facts.join(', ')})\n`);
    return 0;
  } catch (err) {
    const code = reportFailure(err);
    const n = err instanceof PolicyError ? err.problems.length : 1;
    process.stderr.write(`${dir}: not valid (${n} problem${n === 1 ? '' : 's'})\n`);
    return code;
  }
}
