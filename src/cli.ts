#!/usr/bin/env node
import { serveCommand } from './cluster/serve.js';
import { scanCommand } from './cli/scan.js';
import { learnCommand } from './cli/learn.js';
import { policyCommand } from './cli/policy.js';
import { listCommand } from './cli/list.js';
import { greylistCommand } from './cli/greylist.js';
import { statsCommand } from './cli/stats.js';
import { UsageError } from './cli/common.js';

type Command = (args: string[]) => Promise<number>;

/** Subcommands; each lives in src/cli/NAME.ts. */
const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  greylist: greylistCommand,
  policy: policyCommand,
  list: listCommand,
  scan: scanCommand,
  learn: learnCommand,
  stats: statsCommand,
};

const HELP = `Usage: borderpatrol <command> [options]

Commands:
  serve            run the SMTP proxy
${Object.keys(COMMANDS)
  .filter((c) => c !== 'serve')
  .map((c) => `  ${c}`)
  .join('\n')}

Run "borderpatrol <command> --help" for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`borderpatrol: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`borderpatrol: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`borderpatrol: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
