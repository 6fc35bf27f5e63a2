#!/usr/bin/env node
import { serveCommand } from './cluster/serve.js';
import { scanCommand } from './cli/scan.js';
import { learnCommand } from './cli/learn.js';
import { fuzzyCommand } from './cli/fuzzy.js';
import { policyCommand } from './cli/policy.js';
import { listCommand } from './cli/list.js';
import { greylistCommand } from './cli/greylist.js';
import { statsCommand } from './cli/stats.js';
import { UsageError } from './cli/common.js';
import { VERSION } from './observability/version.js';

type Command = (args: string[]) => Promise<number>;

/** Subcommands, each in src/cli/NAME.ts, with the line the top-level help gives it. */
const COMMANDS: Record<string, { run: Command; summary: string }> = {
  serve: { run: serveCommand, summary: 'run the SMTP proxy in front of Postfix' },
  policy: { run: policyCommand, summary: 'check, show, set or try out (whatif) the policy' },
  list: { run: listCommand, summary: 'add, remove or show entries of the allow/deny lists' },
  greylist: { run: greylistCommand, summary: 'list or release greylisted senders' },
  scan: { run: scanCommand, summary: 'score messages as the server would, without sending them' },
  learn: { run: learnCommand, summary: 'train Bayes with spam or ham messages' },
  fuzzy: { run: fuzzyCommand, summary: 'add or delete fuzzy signatures of spam (or ham) messages' },
  stats: { run: statsCommand, summary: "a running server's verdict counts for the last hour" },
};

const HELP = `Usage: borderpatrol <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

  help COMMAND  a command's options (the same as borderpatrol COMMAND --help)
  --version     print the version

The admin password, for the commands that talk to a running server and for serve itself,
is read from $BORDERPATROL_PASSWORD or from the file $BORDERPATROL_PASSWORD_FILE names.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`borderpatrol ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined) {
    const command = COMMANDS[rest[0]];
    if (!command) throw new UsageError(`help: unknown command "${rest[0]}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return command.run(['--help']);
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`borderpatrol: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  return command.run(rest);
}

// A reader that stops early (`borderpatrol greylist list | head -1`) closes the pipe: that
// is the reader's choice, not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

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
