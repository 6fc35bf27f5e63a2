import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';

const run = promisify(execFile);

/**
 * A real, private Postfix instance for tests: its own config, queue and data directories
 * in a temp dir, listening only on loopback ports, delivering to maildirs under the temp
 * dir (virtual delivery for the users given) and never sending mail anywhere else
 * (default_transport = error).
 */
export interface PostfixOptions {
  /** Mail domain Postfix delivers for (default example.com). */
  domain?: string;
  /** Local parts with a mailbox (default user, other). Anyone else: 550 5.1.1 at RCPT. */
  users?: string[];
  /** Extra main.cf settings. */
  main?: Record<string, string>;
  /**
   * Extra master.cf lines; {PORT:name} placeholders are replaced by free ports, readable
   * afterwards from instance.ports[name].
   */
  master?: string;
  /** Free-port names to allocate for `master` placeholders. */
  portNames?: string[];
  /**
   * A milter on a loopback port for the public smtpd (smtpd_milters = inet:127.0.0.1:PORT),
   * with protocol 6 and milter_default_action = tempfail unless `main` says otherwise.
   */
  milter?: { port: number };
}

export interface PostfixInstance {
  dir: string;
  confDir: string;
  /** The smtpd listener Borderpatrol relays to (the 10025 role). */
  port: number;
  ports: Record<string, number>;
  domain: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Full messages delivered to a mailbox, oldest first. */
  messages(user: string): Promise<string[]>;
  /** Wait until a mailbox has at least n messages. */
  waitForMessages(user: string, n: number, timeoutMs?: number): Promise<string[]>;
  /** The mail log (Postfix writes it itself: maillog_file). */
  log(): Promise<string>;
  /** Run postconf -e in this instance (then call reload()). */
  postconf(settings: Record<string, string>): Promise<void>;
  reload(): Promise<void>;
}

export async function postfixAvailable(): Promise<boolean> {
  try {
    await fs.access('/usr/sbin/postfix');
    return true;
  } catch {
    return false;
  }
}

export async function startPostfix(options: PostfixOptions = {}): Promise<PostfixInstance> {
  const domain = options.domain ?? 'example.com';
  const users = options.users ?? ['user', 'other'];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-postfix-'));
  // Postfix daemons run as the postfix user and must reach the queue under the temp dir.
  await fs.chmod(dir, 0o755);
  const confDir = path.join(dir, 'conf');
  const mailDir = path.join(dir, 'mail');
  await fs.mkdir(confDir);
  await fs.mkdir(path.join(dir, 'queue'));
  await fs.mkdir(path.join(dir, 'data'));
  await fs.mkdir(mailDir, { mode: 0o777 });
  await fs.chmod(mailDir, 0o777);
  await run('chown', ['postfix', path.join(dir, 'data')]);
  const port = await freePort();
  const ports: Record<string, number> = {};
  for (const name of options.portNames ?? []) ports[name] = await freePort();

  await fs.writeFile(path.join(confDir, 'vmailbox'), users.map((u) => `${u}@${domain} ${domain}/${u}/`).join('\n') + '\n');
  const main: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: path.join(dir, 'queue'),
    data_directory: path.join(dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    myhostname: 'postfix.test',
    mydomain: 'test',
    mydestination: '',
    mynetworks: '127.0.0.0/8',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    virtual_mailbox_domains: domain,
    virtual_mailbox_base: mailDir,
    virtual_mailbox_maps: `texthash:${path.join(confDir, 'vmailbox')}`,
    virtual_uid_maps: 'static:65534',
    virtual_gid_maps: 'static:65534',
    default_transport: 'error:outbound mail is disabled in this test instance',
    relay_transport: 'error:outbound mail is disabled in this test instance',
    smtpd_authorized_xforward_hosts: '127.0.0.0/8',
    smtputf8_enable: 'yes',
    maillog_file: path.join(dir, 'maillog'),
    // Postfix only writes its log under these prefixes (default /var).
    maillog_file_prefixes: dir,
    biff: 'no',
    smtpd_banner: '$myhostname ESMTP test-postfix',
    // Tests stop and start Postfix; don't make them wait for its backoff timers.
    queue_run_delay: '1s',
    minimal_backoff_time: '1s',
    maximal_backoff_time: '2s',
    ...(options.milter ? { milter_protocol: '6', milter_default_action: 'tempfail' } : {}),
    ...options.main,
    ...(options.milter ? { smtpd_milters: `inet:127.0.0.1:${options.milter.port}` } : {}),
  };
  await fs.writeFile(path.join(confDir, 'main.cf'), Object.entries(main).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  let extra = options.master ?? '';
  for (const [name, p] of Object.entries(ports)) extra = extra.split(`{PORT:${name}}`).join(String(p));
  const master = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    extra,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'local unix - n n - - local',
    'virtual unix - n n - - virtual',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ].join('\n');
  await fs.writeFile(path.join(confDir, 'master.cf'), master + '\n');

  const postfix = (...args: string[]) => run('/usr/sbin/postfix', ['-c', confDir, ...args], { timeout: 30_000 });
  const instance: PostfixInstance = {
    dir,
    confDir,
    port,
    ports,
    domain,
    async start() {
      await postfix('start');
      await waitForPort(port);
    },
    async stop() {
      await postfix('stop').catch(() => undefined);
      // postfix stop returns before every daemon has exited; wait for the listener to go.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const open = await waitForPort(port, '127.0.0.1', 1).then(
          () => true,
          () => false,
        );
        if (!open) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async messages(user: string) {
      const newDir = path.join(mailDir, domain, user, 'new');
      let names: string[];
      try {
        names = await fs.readdir(newDir);
      } catch {
        return [];
      }
      const withTimes = await Promise.all(names.map(async (n) => ({ n, t: (await fs.stat(path.join(newDir, n))).mtimeMs })));
      withTimes.sort((a, b) => a.t - b.t || a.n.localeCompare(b.n));
      return Promise.all(withTimes.map(({ n }) => fs.readFile(path.join(newDir, n), 'latin1')));
    },
    async waitForMessages(user: string, n: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const msgs = await instance.messages(user);
        if (msgs.length >= n) return msgs;
        if (Date.now() > deadline) throw new Error(`mailbox ${user}: ${msgs.length} of ${n} messages after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async log() {
      return fs.readFile(path.join(dir, 'maillog'), 'utf8').catch(() => '');
    },
    async postconf(settings: Record<string, string>) {
      for (const [k, v] of Object.entries(settings)) await run('/usr/sbin/postconf', ['-c', confDir, '-e', `${k}=${v}`]);
    },
    async reload() {
      await postfix('reload');
    },
  };
  try {
    await instance.start();
  } catch (err) {
    await instance.stop();
    throw new Error(`postfix did not start: ${(err as Error).message}\n${await instance.log()}`);
  }
  const originalStop = instance.stop;
  instance.stop = async () => {
    await originalStop();
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  // Keep a stop that leaves the files (for the restart tests) available as start/stop pairs:
  // stop() above removes the directory, so tests that restart use pause()/start().
  (instance as PostfixInstance & { pause: () => Promise<void> }).pause = originalStop;
  return instance;
}
