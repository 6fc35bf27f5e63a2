import { UsageError } from './common.js';
import { policyCheckCommand } from './policy-check.js';
import { policyShowCommand } from './policy-show.js';
import { policySetCommand } from './policy-set.js';
import { policyWhatifCommand } from './policy-whatif.js';

export const POLICY_HELP = `Usage: borderpatrol policy <check|show|set|whatif> [options]

  policy check [DIR]         validate a policies directory (exit 0 valid, 1 invalid)
  policy show [DIR]          print the effective policy, defaults included, as YAML
  policy set KEY VALUE       set one key in its file, validated, keeping comments
  policy whatif DIR          replay a running server's recent verdicts under a draft policy

Every subcommand takes --policies DIR (default ./policies) and --help.
`;

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  check: policyCheckCommand,
  show: policyShowCommand,
  set: policySetCommand,
  whatif: policyWhatifCommand,
};

export async function policyCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(POLICY_HELP);
    return sub ? 0 : 2;
  }
  const run = SUBCOMMANDS[sub];
  if (!run) throw new UsageError(`policy: unknown subcommand "${sub}"; use ${Object.keys(SUBCOMMANDS).join(', ')}`);
  return run(rest);
}
