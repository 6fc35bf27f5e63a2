import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadPolicy } from '../../src/policy/load.js';
import { PolicyError, formatProblem } from '../../src/policy/errors.js';
import { BASE_FILES, cli, tempPolicies } from './helpers.js';

const made: string[] = [];

/** Load a policy dir made of BASE_FILES plus `files`, and return every problem as file:line:col text. */
async function problems(files: Record<string, string>): Promise<string[]> {
  const dir = await tempPolicies({ ...BASE_FILES, ...files });
  made.push(dir);
  try {
    await loadPolicy(dir);
    return [];
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${String(err)}`);
    return err.problems.map((p) => formatProblem(p).slice(dir.length + 1));
  }
}

after(async () => {
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

describe('policy validation names file, line, column and what was expected', () => {
  test('the shipped example policy is valid', async () => {
    const { compiled } = await loadPolicy(path.resolve('policies'));
    assert.ok(compiled.version.length > 0);
  });

  test('the base test policy is valid', async () => {
    assert.deepEqual(await problems({}), []);
  });

  test('overlapping thresholds, in the words of the issue', async () => {
    const p = await problems({ 'actions.yaml': '# thresholds\nadd_header: 6\ngreylist: null\nreject:  5\n' });
    assert.deepEqual(p, ['actions.yaml:4:10: reject must be a number greater than add_header (6)']);
  });

  test('threshold overlap is reported even when another file has errors too', async () => {
    const p = await problems({ 'actions.yaml': 'add_header: 6\nreject: 5\ngreylist: null\n', 'server.yaml': 'limits:\n  max_recipients: lots\n' });
    assert.ok(p.includes('actions.yaml:2:9: reject must be a number greater than add_header (6)'), p.join('\n'));
    assert.ok(p.includes('server.yaml:2:19: limits.max_recipients must be a number, got "lots"'), p.join('\n'));
  });

  test('greylist between add_header and reject', async () => {
    const p = await problems({ 'actions.yaml': 'add_header: 6\ngreylist: 20\nreject: 15\n' });
    assert.deepEqual(p, ['actions.yaml:2:11: greylist must be at least add_header (6) and below reject (15)']);
  });

  test('unknown keys, with a suggestion for a typo', async () => {
    const p = await problems({ 'server.yaml': 'limits:\n  max_recipient: 10\nfrobnicate: true\n' });
    assert.deepEqual(p, ['server.yaml:2:3: unknown key "limits.max_recipient" (did you mean "max_recipients"?)', 'server.yaml:3:1: unknown key "frobnicate"']);
  });

  test('wrong types say what was expected and what was found', async () => {
    const p = await problems({
      'server.yaml': 'dry_run: yes\nlocal_domains: example.com\nrelay:\n  port: "10025"\nlimits:\n  max_clients: 2.5\n',
    });
    assert.deepEqual(p, [
      'server.yaml:1:10: dry_run must be true or false, got "yes" (YAML 1.2 reads yes/no/on/off as text: write true or false)',
      'server.yaml:2:16: local_domains must be a list, got "example.com"',
      'server.yaml:4:9: relay.port must be a number, got "10025" (remove the quotes)',
      'server.yaml:6:16: limits.max_clients must be a whole number, got 2.5',
    ]);
  });

  test('numbers out of range and unknown choices', async () => {
    const p = await problems({ 'server.yaml': 'relay:\n  port: 70000\nsmtp:\n  bare_newline: fix\n' });
    assert.deepEqual(p, ['server.yaml:2:9: relay.port must be at most 65535, got 70000', 'server.yaml:4:17: smtp.bare_newline must be one of reject, normalize, got "fix"']);
  });

  test('bad CIDRs in YAML and in list files', async () => {
    const p = await problems({
      'server.yaml': 'smtp:\n  trusted_networks: [127.0.0.0/8, 10.0.0.0/33]\n',
      'lists/deny_ips.txt': '# bad ones below\n192.0.2.0/24\n  300.1.2.3   # typo\n',
    });
    assert.deepEqual(p, [
      'server.yaml:2:35: smtp.trusted_networks[1] must be an IP address or CIDR (e.g. 192.0.2.0/24), got "10.0.0.0/33"',
      'lists/deny_ips.txt:3:3: "300.1.2.3" is not an IP address or CIDR',
    ]);
  });

  test('unknown symbols, and symbols with a wrong name or score', async () => {
    const p = await problems({ 'symbols.yaml': 'ALLOWLIST_IP:\n  score: -20\nALLOWLIST_IPS:\n  score: 1\nlower_case:\n  score: 2\nALLOWLIST_SENDER:\n  score: high\n' });
    assert.deepEqual(p, [
      'symbols.yaml:5:1: lower_case: symbol names are UPPER_CASE (A-Z, 0-9, _), starting with a letter',
      'symbols.yaml:8:10: ALLOWLIST_SENDER.score must be a number, got "high"',
    ]);
    const q = await problems({ 'symbols.yaml': 'ALLOWLIST_IP:\n  score: -20\nALLOWLIST_IPS:\n  score: 1\n' });
    assert.deepEqual(q, ['symbols.yaml:3:1: unknown symbol "ALLOWLIST_IPS": no check emits it (did you mean ALLOWLIST_IP?)']);
  });

  test('an unknown symbol is reported together with errors in other files', async () => {
    const p = await problems({ 'symbols.yaml': 'NOT_A_SYMBOL:\n  score: 1\n', 'server.yaml': 'relay:\n  port: x\n' });
    assert.ok(p.includes('symbols.yaml:1:1: unknown symbol "NOT_A_SYMBOL": no check emits it'), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('server.yaml:2:9: relay.port must be a number')), p.join('\n'));
  });

  test('YAML syntax errors carry their position', async () => {
    const p = await problems({ 'actions.yaml': 'reject: 15\nadd_header: [6\ngreylist: null\n' });
    assert.equal(p.length > 0, true);
    assert.match(p[0] ?? '', /^actions\.yaml:3:1: YAML syntax error: /);
    const dup = await problems({ 'actions.yaml': 'reject: 15\nreject: 16\n' });
    assert.deepEqual(dup, ['actions.yaml:2:1: YAML: this key already appears above in the same mapping']);
    const tabs = await problems({ 'server.yaml': 'relay:\n\tport: 1\n' });
    assert.match(tabs[0] ?? '', /^server\.yaml:2:1: /);
  });

  test('unknown list files and unknown check files are named', async () => {
    const p = await problems({ 'lists/deny_ip.txt': '192.0.2.1\n', 'checks/grylist.yaml': 'enabled: true\n' });
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p.find((l) => l.startsWith('lists/')) ?? '', /^lists\/deny_ip\.txt: unknown list "deny_ip" \(did you mean deny_ips\.txt\?\); known lists: /);
    assert.match(p.find((l) => l.startsWith('checks/')) ?? '', /^checks\/grylist\.yaml:1:1: unknown check "grylist": files in checks\/ are named after a check/);
  });

  test('a section may not be both in server.yaml and in its own file', async () => {
    const p = await problems({ 'server.yaml': BASE_FILES['server.yaml'] + 'actions:\n  reject: 20\n' });
    assert.equal(p.length, 1);
    assert.match(p[0] ?? '', /^server\.yaml:8:1: actions belongs in .*actions\.yaml$/);
  });

  test('a section whose lines are all commented out means the defaults', async () => {
    assert.deepEqual(await problems({ 'server.yaml': BASE_FILES['server.yaml'] + 'limits:\n#  max_recipients: 10\n' }), []);
  });

  test('a missing directory is an error, not an empty policy', async () => {
    await assert.rejects(loadPolicy(path.join(os.tmpdir(), 'bp-no-such-dir-' + process.pid)), (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      assert.match(err.problems[0]?.message ?? '', /cannot read the policies directory/);
      return true;
    });
  });
});

describe('borderpatrol policy check', () => {
  test('valid: exit 0 and a one-line summary', async () => {
    const dir = await tempPolicies(BASE_FILES);
    made.push(dir);
    const r = await cli(['policy', 'check', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^.*: valid \(version [0-9a-f]{12}, 1 symbols, 1 lists with 1 entries, 1 local domains\)\n$/);
  });

  test('invalid: exit 1 and every error on its own line, as the issue shows it', async () => {
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-check-'));
    made.push(parent);
    await tempPolicies({ ...BASE_FILES, 'actions.yaml': '# thresholds\nadd_header: 6\ngreylist: null\nreject:  5\n', 'lists/deny_ips.txt': 'nope\n' }, parent);
    const r = await cli(['policy', 'check', '--policies', 'policies'], { cwd: parent });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      'policies/actions.yaml:4:10: reject must be a number greater than add_header (6)',
      'policies/lists/deny_ips.txt:1:1: "nope" is not an IP address or CIDR',
      'policies: not valid (2 problems)',
    ]);
  });

  test('usage errors exit 2', async () => {
    const r = await cli(['policy', 'check', 'a', 'b']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /takes one directory/);
  });

  test('policy show prints the effective policy with defaults, secrets hidden', async () => {
    const dir = await tempPolicies(BASE_FILES);
    made.push(dir);
    const r = await cli(['policy', 'show', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^  max_recipients: 100$/m, 'a default that is in no file');
    assert.match(r.stdout, /^  reject: 15$/m);
    assert.match(r.stdout, /^  password: \(hidden\)$/m);
    assert.doesNotMatch(r.stdout, /test-password/);
  });
});
