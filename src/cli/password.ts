import fs from 'node:fs';
import { UsageError } from './common.js';

/**
 * The admin password for every command (serve included), from one place: `--password`
 * when a command has it, else `BORDERPATROL_PASSWORD`, else the first line of the file
 * named by `BORDERPATROL_PASSWORD_FILE` (a Docker or systemd secret). The environment keeps
 * it out of the process list, where a command-line argument would show it to every user.
 */
export function adminPassword(flag?: string): string | undefined {
  if (flag) return flag;
  const direct = process.env.BORDERPATROL_PASSWORD;
  if (direct) return direct;
  const file = process.env.BORDERPATROL_PASSWORD_FILE;
  if (!file) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`BORDERPATROL_PASSWORD_FILE ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (!password) throw new UsageError(`BORDERPATROL_PASSWORD_FILE ${file}: line 1: the file is empty`);
  return password;
}

/** What to say when a command needs the password and has none. */
export const PASSWORD_HINT = '--password PW, $BORDERPATROL_PASSWORD or $BORDERPATROL_PASSWORD_FILE';
