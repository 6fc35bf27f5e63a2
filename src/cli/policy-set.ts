import { stringify } from 'yaml';
import { parse, UsageError } from './common.js';
import { policiesDirOf, policiesOption, reportFailure } from './policy-errors.js';
import { setPolicyKey } from '../policy/edit.js';

export const POLICY_SET_HELP = `Usage: borderpatrol policy set KEY VALUE [--policies DIR]

Set one key in the file that holds it (actions.reject → actions.yaml, limits.max_recipients
→ server.yaml, greylist.delay → checks/greylist.yaml), keeping comments and layout. The
whole policy is validated before anything is written; the file is replaced atomically and a
running server picks the change up within seconds.

  VALUE is read as YAML: 20, 2.5, true, null, text. A list key takes a comma list:
  policy set local_domains example.com,example.net

Examples:
  borderpatrol policy set actions.reject 20
  borderpatrol policy set dry_run true
`;

function show(v: unknown): string {
  return v === undefined ? 'not set' : stringify(v, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trimEnd();
}

export async function policySetCommand(args: string[]): Promise<number> {
  // A negative number is a value, not an option: `policy set symbols.X.score -5`.
  const NUMBER_MARK = '\u0000';
  const marked = args.map((a) => (/^-\d/.test(a) ? NUMBER_MARK + a : a));
  const parsed = parse(marked, policiesOption);
  const values = parsed.values;
  const positionals = parsed.positionals.map((a) => (a.startsWith(NUMBER_MARK) ? a.slice(1) : a));
  if (values.help) {
    process.stdout.write(POLICY_SET_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`policy set takes KEY and VALUE (e.g. policy set actions.reject 20), got ${positionals.length} arguments`);
  const [key, value] = positionals as [string, string];
  const dir = policiesDirOf(values.policies);
  try {
    const r = await setPolicyKey(dir, key, value);
    if (!r.changed) process.stdout.write(`${r.file}: ${key} is already ${show(r.info.value)}\n`);
    else process.stdout.write(`${r.file}: ${key} = ${show(r.info.value)} (was ${show(r.info.previous)})\n`);
    return 0;
  } catch (err) {
    return reportFailure(err);
  }
}
