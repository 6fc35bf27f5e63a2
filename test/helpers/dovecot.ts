import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './ports.js';

const run = promisify(execFile);

/**
 * A private Dovecot for tests: its own config, base_dir, state and mail in a temp dir,
 * IMAP and LMTP on loopback ports, any user name with one password, mail stored as the
 * `nobody` user (Dovecot refuses mail as root). Started as root (Dovecot drops privileges
 * itself); nothing of the system's Dovecot configuration is read or touched.
 */
export interface DovecotInstance {
  dir: string;
  imapPort: number;
  lmtpPort: number;
  password: string;
  /** Where extra configuration goes before start: each file is included, in name order. */
  confD: string;
  log(): Promise<string>;
  stop(): Promise<void>;
}

const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of alive) p.kill('SIGKILL');
});

export const MAIL_USER = 'nobody';

/** Prepare a Dovecot: put configuration into `confD`, then call `start()`. */
export async function prepareDovecot(): Promise<DovecotInstance & { start(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-dovecot-'));
  // The mail user and Dovecot's own users must reach files under the temp dir.
  await fs.chmod(dir, 0o755);
  const confD = path.join(dir, 'conf.d');
  for (const d of ['run', 'state', 'home', 'conf.d']) await fs.mkdir(path.join(dir, d), { mode: 0o755 });
  await run('chown', [`${MAIL_USER}:`, path.join(dir, 'home')]);
  const { stdout: uid } = await run('id', ['-u', MAIL_USER]);
  const { stdout: gid } = await run('id', ['-g', MAIL_USER]);
  const imapPort = await freePort();
  const lmtpPort = await freePort();
  const password = 'dovecot-test-password';
  const logPath = path.join(dir, 'dovecot.log');
  const conf = `# A test instance: nothing outside ${dir} is read or written.
instance_name = ${path.basename(dir)}
base_dir = ${path.join(dir, 'run')}
state_dir = ${path.join(dir, 'state')}
log_path = ${logPath}
info_log_path = ${logPath}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
postmaster_address = postmaster@example.com
passdb {
  driver = static
  args = password=${password}
}
userdb {
  driver = static
  args = uid=${uid.trim()} gid=${gid.trim()} home=${path.join(dir, 'home')}/%n
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
}
!include_try ${confD}/*.conf
`;
  const confPath = path.join(dir, 'dovecot.conf');
  await fs.writeFile(confPath, conf);
  let child: ChildProcess | null = null;
  const log = () => fs.readFile(logPath, 'utf8').catch(() => '');
  return {
    dir,
    imapPort,
    lmtpPort,
    password,
    confD,
    log,
    async start() {
      const c = spawn('/usr/sbin/dovecot', ['-F', '-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      alive.add(c);
      let out = '';
      c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<never>((_, reject) => c.once('exit', (code) => reject(new Error(`dovecot exited (${code}): ${out}`))));
      exited.catch(() => undefined);
      try {
        await Promise.race([Promise.all([waitForPort(imapPort, '127.0.0.1', 20_000), waitForPort(lmtpPort, '127.0.0.1', 20_000)]), exited]);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await log()}`);
      }
    },
    async stop() {
      const c = child;
      if (c && c.exitCode === null) {
        const gone = new Promise((resolve) => c.once('exit', resolve));
        c.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (c.exitCode === null) c.kill('SIGKILL');
      }
      if (c) alive.delete(c);
      if (!process.env.BP_KEEP_DOVECOT) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Dovecot's own Sieve compiler, with this instance's configuration (its extensions). */
export async function sievec(instance: DovecotInstance, script: string): Promise<void> {
  await run('sievec', ['-c', path.join(instance.dir, 'dovecot.conf'), script]);
}
