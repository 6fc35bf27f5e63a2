import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { startBorderpatrol, swaks, type TestServer } from '../helpers/borderpatrol.js';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { prepareDovecot, sievec, MAIL_USER, type DovecotInstance } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap.js';

/**
 * The whole learning loop of docs/dovecot-imapsieve.md on loopback, with the files of
 * docs/sieve/ as an admin installs them (only /etc/dovecot/sieve and the admin port are
 * replaced): Borderpatrol in front of Postfix, Postfix delivering over LMTP to Dovecot,
 * the Sieve rule filing flagged mail into Junk, and imapsieve training Borderpatrol through
 * rspamc when a user moves mail.
 */

const PASSWORD = 'dovecot-learn-secret';
const SIEVE_DOCS = path.resolve('docs/sieve');
let server: TestServer;
let pf: PostfixInstance;
let dovecot: DovecotInstance & { start(): Promise<void> };
let sieveDir: string;

/** A file of docs/ with the machine's paths and ports of this test. */
async function installed(name: string, dir = SIEVE_DOCS): Promise<string> {
  const text = await fs.readFile(path.join(dir, name), 'utf8');
  return text.replaceAll('/etc/dovecot/sieve', sieveDir).replaceAll('127.0.0.1:11334', `127.0.0.1:${server.adminPort}`);
}

before(async () => {
  dovecot = await prepareDovecot();
  pf = await startPostfix({ main: { virtual_transport: `lmtp:inet:127.0.0.1:${dovecot.lmtpPort}` } });
  server = await startBorderpatrol({
    relayPort: pf.port,
    set: { 'admin.password': PASSWORD },
    // A message with a broken Date scores 7: flagged (X-Spam-Flag: YES), neither refused nor greylisted.
    files: { 'symbols.yaml': 'INVALID_DATE:\n  score: 7\n', 'actions.yaml': 'reject: 15\ngreylist: null\nrewrite_subject: null\nadd_header: 6\n' },
  });

  sieveDir = path.join(dovecot.dir, 'sieve');
  await fs.mkdir(sieveDir, { mode: 0o755 });
  for (const name of ['learn.sh', 'report-spam.sieve', 'report-ham.sieve', 'spam-to-junk.sieve']) {
    await fs.writeFile(path.join(sieveDir, name), await installed(name), { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
  }
  for (const name of ['90-imapsieve.conf', '90-sieve-junk.conf']) await fs.writeFile(path.join(dovecot.confD, name), await installed(name));
  await setPassword(PASSWORD);
  for (const name of ['report-spam.sieve', 'report-ham.sieve', 'spam-to-junk.sieve']) await sievec(dovecot, path.join(sieveDir, name));
  await dovecot.start();
});

after(async () => {
  await server?.stop();
  await pf?.stop();
  await dovecot?.stop();
});

/** The password file as the docs say: readable by the mail user only. */
async function setPassword(password: string): Promise<void> {
  const file = path.join(sieveDir, 'borderpatrol.password');
  await fs.writeFile(file, `${password}\n`, { mode: 0o600 });
  execFileSync('chown', [`${MAIL_USER}:`, file]);
}

async function learned(): Promise<{ spam: number; ham: number }> {
  const stat = (await (await fetch(`http://127.0.0.1:${server.adminPort}/stat`)).json()) as { statfiles: Array<{ symbol: string; revision: number }> };
  const of = (symbol: string) => stat.statfiles.find((s) => s.symbol === symbol)?.revision ?? -1;
  return { spam: of('BAYES_SPAM'), ham: of('BAYES_HAM') };
}

async function send(subject: string, extra: string[] = []): Promise<void> {
  const r = await swaks([
    '--server', `127.0.0.1:${server.port}`,
    '--from', 'sender@origin.test',
    '--to', 'user@example.com',
    '--header', `Subject: ${subject}`,
    '--body', `The quarterly figures for ${subject} are attached below, with the notes from our meeting on Tuesday.`,
    ...extra,
  ]);
  assert.equal(r.code, 0, r.out);
}

/** Wait until the message with this Subject is in the mailbox; its UID. */
async function waitFor(imap: RawImap, mailbox: string, subject: string): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await imap.command(`SELECT "${mailbox}"`);
    const [uid] = await imap.search('Subject', subject);
    if (uid !== undefined) return uid;
    assert.ok(Date.now() < deadline, `"${subject}" never arrived in ${mailbox}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function move(imap: RawImap, from: string, subject: string, to: string): Promise<void> {
  await imap.command(`SELECT "${from}"`);
  const [uid] = await imap.search('Subject', subject);
  assert.ok(uid !== undefined, `"${subject}" is in ${from}`);
  await imap.command(`UID MOVE ${uid} "${to}"`);
}

test('the Junk rule the doc shows is the one installed', async () => {
  const doc = await fs.readFile('docs/dovecot-imapsieve.md', 'utf8');
  const block = /^```sieve\n([\s\S]*?)^```$/m.exec(doc)?.[1];
  assert.ok(block, 'docs/dovecot-imapsieve.md shows the rule');
  assert.ok((await fs.readFile(path.join(SIEVE_DOCS, 'spam-to-junk.sieve'), 'utf8')).includes(block));
});

test('flagged mail is filed into Junk; moves train Borderpatrol through rspamc; emptying Junk to Trash trains nothing', async () => {
  await send('plain report');
  await send('flagged offer', ['--header', 'Date: not a date at all']);
  const imap = await RawImap.connect(dovecot.imapPort);
  try {
    await imap.login('user@example.com', dovecot.password);
    await waitFor(imap, 'INBOX', 'plain report');
    await waitFor(imap, 'Junk', 'flagged offer');
    await imap.command('SELECT "INBOX"');
    assert.deepEqual(await imap.search('Subject', 'flagged offer'), [], 'the flagged message is only in Junk');
    assert.deepEqual(await learned(), { spam: 0, ham: 0 }, 'delivery trains nothing');

    // Out of Junk into the Inbox: the user says it is not spam.
    await move(imap, 'Junk', 'flagged offer', 'INBOX');
    assert.deepEqual(await learned(), { spam: 0, ham: 1 });

    // Into Junk: spam.
    await move(imap, 'INBOX', 'plain report', 'Junk');
    assert.deepEqual(await learned(), { spam: 1, ham: 1 });

    // Emptying Junk into the Trash says nothing about the message.
    await move(imap, 'Junk', 'plain report', 'Trash');
    await waitFor(imap, 'Trash', 'plain report');
    assert.deepEqual(await learned(), { spam: 1, ham: 1 });

    // A mistake undone: back into Junk moves its counts from ham to spam.
    await move(imap, 'INBOX', 'flagged offer', 'Junk');
    assert.deepEqual(await learned(), { spam: 2, ham: 0 });
  } finally {
    await imap.close();
  }
});

test('a failing learn is logged by Dovecot with the text docs/dovecot-imapsieve.md quotes', async () => {
  await setPassword('not the password');
  const imap = await RawImap.connect(dovecot.imapPort);
  try {
    await imap.login('user@example.com', dovecot.password);
    await move(imap, 'Trash', 'plain report', 'Junk');
    // What the doc says to run to see why.
    const byHand = await sh(path.join(sieveDir, 'learn.sh'), ['spam'], 'Subject: by hand\n\nA message.\n');
    assert.notEqual(byHand.code, 0);
    const doc = await installed('dovecot-imapsieve.md', path.resolve('docs'));
    const expected = /^# (learn\.sh: .*)$/m.exec(doc)?.[1];
    assert.ok(expected, 'the doc shows what the script prints');
    assert.equal(byHand.out.trim(), expected);
  } finally {
    await imap.close();
    await setPassword(PASSWORD);
  }
  assert.deepEqual(await learned(), { spam: 2, ham: 0 }, 'a wrong password trains nothing');
  const log = await dovecot.log();
  // The doc quotes them as an indented block, "…" standing for what differs per message.
  const doc = await installed('dovecot-imapsieve.md', path.resolve('docs'));
  const quoted = [...doc.matchAll(/^ {4}(imap\(.+)$/gm)].map((m) => m[1] as string);
  assert.ok(quoted.length >= 2, 'the doc quotes the log lines');
  for (const line of quoted) {
    const pattern = new RegExp(line.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^\\n]*'));
    assert.match(log, pattern, `Dovecot logged: ${line}`);
  }
});

test('two MX with separate stores: learn.sh trains each, and one that is down does not stop the other', async () => {
  const other = await startBorderpatrol({ relayPort: pf.port, set: { 'admin.password': PASSWORD } });
  const downPort = other.adminPort;
  try {
    const script = path.join(dovecot.dir, 'learn-two.sh');
    const text = (await installed('learn.sh')).replace(/^SERVERS=.*$/m, `SERVERS="127.0.0.1:${server.adminPort} 127.0.0.1:${other.adminPort}"`);
    await fs.writeFile(script, text, { mode: 0o755 });
    const before = await learned();
    const message = 'From: a@origin.test\nTo: user@example.com\nSubject: two mx\nMessage-ID: <two-mx@origin.test>\n\nA message for both machines, with some words to learn.\n';
    let r = await sh(script, ['spam'], message);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(await learned(), { ...before, spam: before.spam + 1 });
    const otherBayes = (await (await fetch(`http://127.0.0.1:${other.adminPort}/bayes`)).json()) as { learned: { spam: number; ham: number } };
    assert.deepEqual(otherBayes.learned, { spam: 1, ham: 0 });

    await other.stop();
    r = await sh(script, ['ham'], message);
    assert.equal(r.code, 0, `one server down, the other learned: ${r.out}`);
    assert.match(r.out, new RegExp(`learn\\.sh: 127\\.0\\.0\\.1:${downPort} did not learn the message as ham`));
    assert.deepEqual(await learned(), { spam: before.spam, ham: before.ham + 1 });

    await fs.writeFile(script, text.replace(/^SERVERS=.*$/m, `SERVERS="127.0.0.1:${downPort}"`), { mode: 0o755 });
    r = await sh(script, ['spam'], message);
    assert.notEqual(r.code, 0, 'no server learned it: a failure Dovecot logs');
  } finally {
    await other.stop();
  }
});

test('learn-borderpatrol.sh: the same with borderpatrol learn, the password from BORDERPATROL_PASSWORD_FILE', async () => {
  // npm test builds dist/ first; the script runs the installed command (bin/borderpatrol here).
  const script = path.join(dovecot.dir, 'learn-borderpatrol.sh');
  await fs.writeFile(script, (await installed('learn-borderpatrol.sh')).replaceAll('/usr/local/bin/borderpatrol', path.resolve('bin/borderpatrol')), { mode: 0o755 });
  const before = await learned();
  const r = await sh(script, ['spam'], 'From: b@origin.test\nTo: user@example.com\nSubject: without rspamc\nMessage-ID: <no-rspamc@origin.test>\n\nLearned through the borderpatrol command.\n');
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(await learned(), { ...before, spam: before.spam + 1 });
});

function sh(script: string, args: string[], input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('/bin/sh', [script, ...args], { timeout: 60_000, env: { ...process.env, BORDERPATROL_PASSWORD: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
    child.stdin?.end(input);
  });
}
