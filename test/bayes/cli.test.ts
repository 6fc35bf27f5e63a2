import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { cli } from '../policy/helpers.js';
import { policyDir, cleanupPolicies } from './helpers.js';
import { hamMessage, spamMessage } from './synthetic.js';
import { Progress } from '../../src/cli/progress.js';
import { splitMbox } from '../../src/cli/inputs.js';

let work: string;
let policies: string;
let dataDir: string;
const N = 25;

before(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-bayes-cli-'));
  policies = await policyDir({ 'checks/bayes.yaml': 'min_learns: 20\n' });
  dataDir = path.join(work, 'data');
  await fs.mkdir(path.join(work, 'spam'));
  for (let i = 0; i < N; i++) await fs.writeFile(path.join(work, 'spam', `s${String(i).padStart(3, '0')}.eml`), spamMessage({ seed: i }).replace(/\r\n/g, '\n'));
  // Ham as an mbox, one body line needing the ">From " escape.
  const mbox = Array.from({ length: N }, (_, i) => {
    const msg = hamMessage({ seed: i, body: i === 3 ? 'Hi,\r\n\r\nFrom the desk of Anna: notes attached.\r\n' : undefined }).replace(/\r\n/g, '\n');
    return `From anna@work.example.org Mon Mar  2 11:00:00 2026\n${msg.replace(/^From /gm, '>From ')}\n`;
  }).join('');
  await fs.writeFile(path.join(work, 'ham.mbox'), mbox);
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
  await cleanupPolicies();
});

const common = () => ['--policies', policies, '--data-dir', dataDir];

test('learn spam DIR and learn ham MBOX report progress on stderr and write the store', async () => {
  const spam = await cli(['learn', 'spam', path.join(work, 'spam'), ...common()]);
  assert.equal(spam.code, 0, spam.stderr);
  assert.match(spam.stderr, new RegExp(`learn spam: ${N} messages, [\\d.]+ msg/s, in 0:\\d\\d, ${N} learned, 0 moved from the other class, 0 already learned`));
  assert.equal(spam.stdout, '');

  const ham = await cli(['learn', 'ham', path.join(work, 'ham.mbox'), ...common()]);
  assert.equal(ham.code, 0, ham.stderr);
  assert.match(ham.stderr, new RegExp(`learn ham: ${N} messages, .*${N} learned`), 'the mbox was split into its messages');

  // The same mbox message as a plain file (unescaped, CRLF) is the same message.
  const single = path.join(work, 'ham3.eml');
  await fs.writeFile(single, hamMessage({ seed: 3, body: 'Hi,\r\n\r\nFrom the desk of Anna: notes attached.\r\n' }));
  const again = await cli(['learn', 'ham', single, ...common()]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 learned, 0 moved from the other class, 1 already learned/);

  const moved = await cli(['learn', 'spam', single, ...common()]);
  assert.match(moved.stderr, /0 learned, 1 moved from the other class/);
  const back = await cli(['learn', 'ham', single, ...common()]);
  assert.match(back.stderr, /0 learned, 1 moved from the other class/);
});

test('scan --json prints one object per message with file, action, score and symbols, from the same store', async () => {
  const spamFile = path.join(work, 'probe-spam.eml');
  const hamFile = path.join(work, 'probe-ham.eml');
  await fs.writeFile(spamFile, spamMessage({ seed: 900 }));
  await fs.writeFile(hamFile, hamMessage({ seed: 900 }));
  const r = await cli(['scan', '--json', '--ip', '192.0.2.10', '--helo', 'mail.sender.example', '--from', 'x@sender.example', '--rcpt', 'user@example.com', spamFile, hamFile, ...common()]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l).sort(), ['action', 'file', 'score', 'symbols']);
    assert.equal(typeof l.score, 'number');
    assert.equal(typeof l.action, 'string');
    const symbols = l.symbols as Record<string, number>;
    assert.equal(l.score, Math.round(Object.values(symbols).reduce((s, v) => s + v, 0) * 100) / 100, 'the score is the sum of the symbols');
  }
  assert.equal(lines[0]?.file, spamFile);
  assert.ok(((lines[0]?.symbols as Record<string, number>).BAYES_SPAM ?? 0) > 5, r.stdout);
  assert.ok(((lines[1]?.symbols as Record<string, number>).BAYES_HAM ?? 0) < -2.5, r.stdout);

  const text = await cli(['scan', spamFile, ...common()]);
  assert.match(text.stdout, new RegExp(`^${spamFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\w+ score=[\\d.-]+ .*BAYES_SPAM\\(`));
});

test('bad command lines get a clear answer naming the problem', async () => {
  const missing = await cli(['scan', path.join(work, 'nope.eml'), ...common()]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.eml: no such file or directory/);
  const cls = await cli(['learn', 'junk', path.join(work, 'spam'), ...common()]);
  assert.equal(cls.code, 2);
  assert.match(cls.stderr, /first argument must be spam or ham, not "junk"/);
  const ip = await cli(['scan', '--ip', 'not-an-ip', path.join(work, 'ham.mbox'), ...common()]);
  assert.equal(ip.code, 2);
  assert.match(ip.stderr, /--ip not-an-ip: not an IP address/);
});

test('progress: percentage and ETA from bytes while running, a summary at the end', () => {
  let now = 0;
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const p = new Progress({ label: 'learn spam', totalBytes: 1000, stream: out, lineInterval: 1000, now: () => now });
  for (let i = 0; i < 4; i++) {
    now += 500;
    p.tick(100);
  }
  p.done('4 learned');
  const lines = text.trim().split('\n');
  assert.equal(lines.length, 3, text);
  assert.equal(lines[0], 'learn spam: 2 messages, 2.0 msg/s, 20%, ETA 0:04');
  assert.equal(lines[1], 'learn spam: 4 messages, 2.0 msg/s, 40%, ETA 0:03');
  assert.equal(lines[2], 'learn spam: 4 messages, 2.0 msg/s, in 0:02, 4 learned');
});

test('mbox splitting: From lines only after an empty line, ">From " unescaped, CRLF out', async () => {
  const mbox = 'From a@b Mon Mar  2 2026\nSubject: one\n\nbody\nFrom inside a paragraph stays\n>From escaped\n\nFrom c@d Mon Mar  2 2026\nSubject: two\n\nsecond\n';
  const out = [];
  for await (const m of splitMbox(Readable.from([Buffer.from(mbox)]), 'box', 1_000_000)) out.push(m);
  assert.equal(out.length, 2);
  assert.equal(out[0]?.name, 'box#1');
  assert.equal(out[0]?.raw.toString(), 'Subject: one\r\n\r\nbody\r\nFrom inside a paragraph stays\r\nFrom escaped\r\n');
  assert.equal(out[1]?.raw.toString(), 'Subject: two\r\n\r\nsecond\r\n');
  const big = [];
  for await (const m of splitMbox(Readable.from([Buffer.from(mbox)]), 'box', 30)) big.push(m);
  assert.deepEqual(
    big.map((m) => m.oversized ?? false),
    [true, false],
    'a message over the size limit is flagged, not kept',
  );
});
