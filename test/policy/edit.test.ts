import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setYamlValue } from '../../src/policy/yaml-edit.js';
import { addListEntryText, removeListEntryText, EDIT_LOCK_FILE } from '../../src/policy/edit.js';
import { withFileLock } from '../../src/policy/file-lock.js';
import { parseListText } from '../../src/policy/lists.js';
import { BASE_FILES, cli, tempPolicies } from './helpers.js';

const made: string[] = [];
after(async () => {
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

async function policies(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempPolicies({ ...BASE_FILES, ...files });
  made.push(dir);
  return dir;
}

const SERVER = `# Borderpatrol server policy.

hostname: mx.example.com   # the greeting name

relay:
  host: 127.0.0.1
  port: 10025      # Postfix's reinjection listener
  # keep this comment

limits:
  max_recipients: 100
`;

describe('editing YAML text in place', () => {
  test('a changed scalar keeps its trailing comment and alignment; nothing else moves', () => {
    const out = setYamlValue(SERVER, ['relay', 'port'], 2525);
    assert.equal(out, SERVER.replace('port: 10025      #', 'port: 2525      #'));
  });

  test('a new key goes after the last key of its mapping, at its indentation', () => {
    const out = setYamlValue(SERVER, ['relay', 'pool_size'], 4);
    assert.equal(out, SERVER.replace('  # keep this comment\n', '  pool_size: 4\n  # keep this comment\n'));
  });

  test('a new section is appended; strings are quoted only where YAML needs it', () => {
    assert.equal(setYamlValue(SERVER, ['store', 'prefix'], 'bp:'), SERVER + 'store:\n  prefix: "bp:"\n');
    assert.equal(setYamlValue('', ['reject'], 20), 'reject: 20\n');
    assert.equal(setYamlValue('# only a comment', ['reject'], 20), '# only a comment\nreject: 20\n');
  });

  test('lists are rewritten in their own style', () => {
    assert.equal(setYamlValue('a: [x, y]  # c\n', ['a'], ['z']), 'a: [z]  # c\n');
    assert.equal(setYamlValue('# d\nlocal_domains:\n  - a.example\nx: 1\n', ['local_domains'], ['b.example', 'c.example']), '# d\nlocal_domains:\n  - b.example\n  - c.example\nx: 1\n');
  });
});

describe('editing list text', () => {
  const LIST = '# Spam domains\n\nold.example   # 2019\n# trailing note';

  test('add appends VALUE  # COMMENT and keeps everything else', () => {
    const r = addListEntryText(LIST, 'spam.example', 'ticket 42');
    assert.equal(r.text, LIST + '\nspam.example  # ticket 42\n');
    assert.deepEqual(r.info, { line: 5, already: false });
  });

  test('add of a present value (any case) changes nothing', () => {
    assert.deepEqual(addListEntryText(LIST, 'OLD.example'), { text: null, info: { line: 3, already: true } });
  });

  test('remove drops only the entry line', () => {
    const r = removeListEntryText(LIST, 'old.example');
    assert.equal(r.text, '# Spam domains\n\n# trailing note');
    assert.equal(r.info.removed, 1);
    assert.deepEqual(removeListEntryText(LIST, 'absent.example'), { text: null, info: { removed: 0 } });
  });
});

describe('borderpatrol policy set', () => {
  test('changes one value, keeps every comment, and reports the file', async () => {
    const dir = await policies({ 'server.yaml': SERVER + 'local_domains: [example.com]\n' });
    const r = await cli(['policy', 'set', 'relay.port', '2525', '--policies', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /server\.yaml: relay\.port = 2525 \(was 10025\)/);
    assert.equal(await fs.readFile(path.join(dir, 'server.yaml'), 'utf8'), (SERVER + 'local_domains: [example.com]\n').replace('port: 10025', 'port: 2525'));
    const a = await cli(['policy', 'set', 'actions.reject', '20', '--policies', dir]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(await fs.readFile(path.join(dir, 'actions.yaml'), 'utf8'), (BASE_FILES['actions.yaml'] as string).replace('reject: 15', 'reject: 20'));
    const again = await cli(['policy', 'set', 'actions.reject', '20', '--policies', dir]);
    assert.match(again.stdout, /actions\.reject is already 20/);
  });

  test('refuses an invalid value with file:line and writes nothing', async () => {
    const dir = await policies();
    const before = await fs.readFile(path.join(dir, 'actions.yaml'), 'utf8');
    const [r, t, unknown] = await Promise.all([
      cli(['policy', 'set', 'actions.reject', '3', '--policies', dir]),
      cli(['policy', 'set', 'limits.max_recipients', 'many', '--policies', dir]),
      cli(['policy', 'set', 'actions.rejekt', '3', '--policies', dir]),
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `${dir}/actions.yaml:2:9: reject must be a number greater than add_header (6)`);
    assert.equal(t.code, 1);
    assert.match(t.stderr, /server\.yaml:\d+:\d+: limits\.max_recipients must be a number, got "many"/);
    assert.equal(await fs.readFile(path.join(dir, 'actions.yaml'), 'utf8'), before);
    assert.doesNotMatch(await fs.readFile(path.join(dir, 'server.yaml'), 'utf8'), /many/);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown key "actions\.rejekt" \(did you mean "actions\.reject"\?\)/);
    const usage = await cli(['policy', 'set', 'actions.reject', '--policies', dir]);
    assert.equal(usage.code, 2);
  });

  test('a check section gets its own file under checks/', async () => {
    const dir = await policies();
    const r = await cli(['policy', 'set', 'access.reasons.deny_ips', 'Not from there', '--policies', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fs.readFile(path.join(dir, 'checks', 'access.yaml'), 'utf8'), 'reasons:\n  deny_ips: Not from there\n');
  });
});

describe('borderpatrol list', () => {
  test('list add on a commented file keeps the comments and appends the entry', async () => {
    const dir = await policies();
    const file = path.join(dir, 'lists', 'deny_sender_domains.txt');
    const before = await fs.readFile(file, 'utf8');
    const r = await cli(['list', 'add', 'deny_sender_domains', 'spam.example', '--comment', 'seen in ticket 7', '--policies', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^added spam\.example to deny_sender_domains \(.*deny_sender_domains\.txt:4\)$/m);
    assert.equal(await fs.readFile(file, 'utf8'), before + 'spam.example  # seen in ticket 7\n');
    const again = await cli(['list', 'add', 'deny_sender_domains', 'Spam.Example', '--policies', dir]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already on deny_sender_domains/);
    const show = await cli(['list', 'show', 'deny_sender_domains', '--policies', dir]);
    assert.equal(show.stdout, 'old-spammer.example  # since 2019\nspam.example  # seen in ticket 7\n');
  });

  test('entries are checked against the list kind; unknown lists are usage errors', async () => {
    const dir = await policies();
    const [bad, unknown] = await Promise.all([
      cli(['list', 'add', 'deny_ips', '10.0.0.0/40', '--policies', dir]),
      cli(['list', 'add', 'deny_ip', '10.0.0.1', '--policies', dir]),
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /lists\/deny_ips\.txt: "10\.0\.0\.0\/40" is not an IP address or CIDR; nothing written/);
    await assert.rejects(fs.access(path.join(dir, 'lists', 'deny_ips.txt')));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown list "deny_ip" \(did you mean deny_ips\?\)/);
  });

  test('remove of an absent value says so and exits 1; remove of a present one keeps the rest', async () => {
    const dir = await policies();
    const absent = await cli(['list', 'remove', 'deny_sender_domains', 'never.example', '--policies', dir]);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /never\.example is not on deny_sender_domains .*nothing removed/);
    const r = await cli(['list', 'remove', 'deny_sender_domains', 'old-spammer.example', '--policies', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fs.readFile(path.join(dir, 'lists', 'deny_sender_domains.txt'), 'utf8'), '# Domains we never take mail from.\n# One per line; "#" starts a comment.\n');
  });

  test('10 concurrent list add processes lose no entry', async () => {
    const dir = await policies();
    const file = path.join(dir, 'lists', 'deny_sender_domains.txt');
    const before = await fs.readFile(file, 'utf8');
    const values = Array.from({ length: 10 }, (_, i) => `spam${i}.example`);
    const results = await Promise.all(values.map((v) => cli(['list', 'add', 'deny_sender_domains', v, '--comment', `n${v}`, '--policies', dir])));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const text = await fs.readFile(file, 'utf8');
    assert.ok(text.startsWith(before), 'the comments and the old entry stay on top');
    const entries = parseListText(text).map((e) => e.value);
    assert.deepEqual([...entries].sort(), ['old-spammer.example', ...values].sort());
    assert.equal(entries.length, 11);
    await assert.rejects(fs.access(path.join(dir, EDIT_LOCK_FILE)), 'the lock is released');
    const leftovers = (await fs.readdir(path.join(dir, 'lists'))).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(leftovers, []);
  });
});

describe('the edit lock', () => {
  test('many holders in one process run one at a time', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-lock-'));
    made.push(dir);
    const counter = path.join(dir, 'n');
    await fs.writeFile(counter, '0');
    await Promise.all(
      Array.from({ length: 30 }, () =>
        withFileLock(path.join(dir, 'lock'), async () => {
          const n = Number(await fs.readFile(counter, 'utf8'));
          await new Promise((r) => setTimeout(r, 1));
          await fs.writeFile(counter, String(n + 1));
        }),
      ),
    );
    assert.equal(await fs.readFile(counter, 'utf8'), '30');
  });

  test('a lock left by a process that no longer exists is taken over', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-lock-'));
    made.push(dir);
    const lock = path.join(dir, 'lock');
    // A pid far above any pid_max: no such process.
    await fs.writeFile(lock, `${os.hostname()} 2147483646 ${Date.now()} dead\n`);
    const started = Date.now();
    assert.equal(await withFileLock(lock, async () => 'ran', { timeoutMs: 2000 }), 'ran');
    assert.ok(Date.now() - started < 1000);
  });

  test('a live holder makes a waiter give up after its timeout with a clear error', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-lock-'));
    made.push(dir);
    const lock = path.join(dir, 'lock');
    await fs.writeFile(lock, `${os.hostname()} ${process.pid} ${Date.now()} alive\n`);
    await assert.rejects(withFileLock(lock, async () => 'ran', { timeoutMs: 200 }), /locked by another edit .*gave up after 200 ms/);
  });
});

describe('edits keep the file as the service needs it', () => {
  const asRoot = process.getuid?.() === 0;

  test('a root edit of a file owned by the service user (0640) keeps uid:gid and mode', async () => {
    const dir = await policies();
    const file = path.join(dir, 'lists', 'deny_sender_domains.txt');
    const serverFile = path.join(dir, 'server.yaml');
    // As root (as CI runs) the files belong to another user first, as a service user's would.
    const owner = asRoot ? { uid: 65534, gid: 65534 } : { uid: process.getuid!(), gid: process.getgid!() };
    for (const f of [file, serverFile]) {
      await fs.chown(f, owner.uid, owner.gid);
      await fs.chmod(f, 0o640);
    }
    const add = await cli(['list', 'add', 'deny_sender_domains', 'spam.example', '--policies', dir]);
    assert.equal(add.code, 0, add.stderr);
    const set = await cli(['policy', 'set', 'limits.max_recipients', '50', '--policies', dir]);
    assert.equal(set.code, 0, set.stderr);
    for (const f of [file, serverFile]) {
      const st = await fs.stat(f);
      assert.deepEqual({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, { ...owner, mode: 0o640 }, f);
    }
    assert.match(await fs.readFile(file, 'utf8'), /^spam\.example$/m);
    assert.match(await fs.readFile(serverFile, 'utf8'), /max_recipients: 50/);
  });

  test('a symlinked list is written through: the link stays, its target changes', async () => {
    const dir = await policies();
    const shared = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-shared-list-'));
    made.push(shared);
    const target = path.join(shared, 'deny.txt');
    await fs.writeFile(target, '# shared between machines\nold.example\n');
    const link = path.join(dir, 'lists', 'deny_sender_domains.txt');
    await fs.rm(link);
    await fs.symlink(target, link);
    const r = await cli(['list', 'add', 'deny_sender_domains', 'new.example', '--policies', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await fs.lstat(link)).isSymbolicLink(), 'the link is still a link');
    assert.equal(await fs.readFile(target, 'utf8'), '# shared between machines\nold.example\nnew.example\n');
    assert.deepEqual((await fs.readdir(shared)).sort(), ['deny.txt'], 'no temp file left beside the target');
  });
});
