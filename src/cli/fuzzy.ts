import { commonOptions, overridesFrom, parse, UsageError } from './common.js';
import { openEngine } from './engine.js';
import { planInputs, readInputs } from './inputs.js';
import { fuzzyFlag, FuzzyFlagError, fuzzyLearn, type FuzzyLearnResult } from '../checks/fuzzy/learn.js';

export const FUZZY_HELP = `Usage: borderpatrol fuzzy add|del [options] FILE|DIR|mbox|- ...

Store (add) or forget (del) the fuzzy signatures of messages, so copies of them score
FUZZY_DENIED (flag 1, the default), FUZZY_PROB (flag 2) or FUZZY_WHITE (flag 3).

  --flag N            1 spam, 2 probable spam, 3 ham (default 1)
  --weight W          stored with the signature (default 1)
  --policies DIR      policy directory (default ./policies)
  --redis URL         the Redis store a server uses
  --data-dir DIR      the embedded store in DIR
  --set KEY=VALUE     override any policy key by its dotted path (repeatable)

While a server runs on the embedded store, it is the data dir's one writer: add signatures
through it with rspamc (rspamc -h HOST:PORT -P PASSWORD fuzzy_add -f 1 FILE).
`;

export async function fuzzyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...commonOptions, flag: { type: 'string', default: '1' }, weight: { type: 'string', default: '1' } });
  if (values.help) {
    process.stdout.write(FUZZY_HELP);
    return 0;
  }
  const [op, ...paths] = positionals;
  if (op !== 'add' && op !== 'del') throw new UsageError(`fuzzy: the first argument must be add or del, not ${op === undefined ? 'nothing' : `"${op}"`}`);
  let flag: number;
  try {
    flag = fuzzyFlag(values.flag);
  } catch (err) {
    if (err instanceof FuzzyFlagError) throw new UsageError(`--${err.message}`);
    throw err;
  }
  const weight = Number(values.weight);
  if (!Number.isFinite(weight) || weight <= 0) throw new UsageError(`--weight ${values.weight}: expected a positive number`);
  const plan = await planInputs(paths);
  const engine = await openEngine({ policiesDir: values.policies, overrides: overridesFrom(values), access: 'write', command: 'fuzzy' });
  const tally: Record<FuzzyLearnResult | 'skipped', number> = { added: 0, deleted: 0, not_found: 0, too_short: 0, skipped: 0 };
  try {
    const policy = engine.policy.policy;
    for await (const input of readInputs(plan, policy.limits.max_message_size)) {
      if (input.oversized) {
        tally.skipped++;
        process.stderr.write(`borderpatrol: ${input.name}: over limits.max_message_size, skipped\n`);
        continue;
      }
      const { result } = await fuzzyLearn(engine.store, input.raw, { op, flag, weight, parse: policy.limits, minWords: policy.fuzzy.min_words });
      tally[result]++;
      if (result === 'too_short') process.stderr.write(`borderpatrol: ${input.name}: fewer than fuzzy.min_words (${policy.fuzzy.min_words}) words, no signature\n`);
    }
  } finally {
    await engine.close();
  }
  const parts = op === 'add' ? [`${tally.added} added`] : [`${tally.deleted} deleted`, `${tally.not_found} not stored`];
  if (tally.too_short) parts.push(`${tally.too_short} too short`);
  if (tally.skipped) parts.push(`${tally.skipped} skipped`);
  process.stderr.write(`fuzzy ${op}: ${parts.join(', ')}\n`);
  return 0;
}
