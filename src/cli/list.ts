import fs from 'node:fs/promises';
import path from 'node:path';
import { parse, UsageError } from './common.js';
import { policiesDirOf, policiesOption, reportFailure } from './policy-errors.js';
import { addListEntry, listFile, listKind, removeListEntry } from '../policy/edit.js';
import { LIST_KINDS, parseListText } from '../policy/lists.js';

export const LIST_HELP = `Usage: borderpatrol list add LIST VALUE [--comment TEXT] [--policies DIR]
       borderpatrol list remove LIST VALUE [--policies DIR]
       borderpatrol list show LIST [--policies DIR]

Edit the allow and deny lists in DIR/lists/LIST.txt. Entries are checked against the list's
kind (IP/CIDR, domain, address), comments and layout are kept, the whole policy is validated
before writing, and a running server applies the change within seconds.

Lists: ${Object.entries(LIST_KINDS)
  .map(([name, kind]) => `${name} (${kind})`)
  .join(', ')}

Examples:
  borderpatrol list add deny_sender_domains spam.example --comment "ticket 4711"
  borderpatrol list remove deny_ips 192.0.2.0/24
`;

export async function listCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...policiesOption, comment: { type: 'string' } });
  if (values.help || positionals.length === 0) {
    process.stdout.write(LIST_HELP);
    return values.help ? 0 : 2;
  }
  const [op, list, value, ...extra] = positionals;
  if (op !== 'add' && op !== 'remove' && op !== 'show') throw new UsageError(`list: unknown action "${op}"; use add, remove or show`);
  if (!list) throw new UsageError(`list ${op}: name the list (${Object.keys(LIST_KINDS).join(', ')})`);
  const wantsValue = op !== 'show';
  if (wantsValue && value === undefined) throw new UsageError(`list ${op} ${list}: give the value to ${op}`);
  if (extra.length > 0 || (!wantsValue && value !== undefined)) throw new UsageError(`list ${op}: too many arguments`);
  if (values.comment !== undefined && op !== 'add') throw new UsageError('--comment goes with list add');
  try {
    listKind(list);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const dir = policiesDirOf(values.policies);
  try {
    if (op === 'show') return await showList(dir, list);
    if (op === 'add') {
      const r = await addListEntry(dir, list, value as string, values.comment);
      const where = `${r.file}:${r.info.line}`;
      process.stdout.write(r.info.already ? `${value} is already on ${list} (${where})\n` : `added ${value} to ${list} (${where})\n`);
      return 0;
    }
    const r = await removeListEntry(dir, list, value as string);
    if (r.info.removed === 0) {
      process.stderr.write(`borderpatrol: ${value} is not on ${list} (${r.file}); nothing removed\n`);
      return 1;
    }
    process.stdout.write(`removed ${value} from ${list} (${r.file})\n`);
    return 0;
  } catch (err) {
    return reportFailure(err);
  }
}

/** One entry per line, with its comment: the same shape the file has, minus comment-only lines. */
async function showList(dir: string, list: string): Promise<number> {
  const file = path.join(dir, listFile(list));
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    process.stderr.write(`${file} does not exist: the list is empty\n`);
  }
  for (const e of parseListText(text)) process.stdout.write(e.comment ? `${e.value}  # ${e.comment}\n` : `${e.value}\n`);
  return 0;
}
