import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { cli, tempPolicies } from '../policy/helpers.js';
import { Scanner, testPolicy, message } from '../checks/helpers.js';
import { greetingWaits, openData } from './harness.js';

/**
 * Regexes the admin writes into content rules: a pattern that a backtracking engine runs in
 * exponential time must not hold the server, patterns that need backtracking are refused by
 * `policy check` with the file, line and reason, and the rules together keep to the
 * per-message budget (limits.max_content_rules_ms).
 */

const EVIL_RULE = `rules:
  - symbol: ADMIN_RULE
    type: subject
    match: regex
    pattern: '^(a+)+$'
`;

describe('admin-written content rules', () => {
  let sink: SmtpSink;
  let bp: TestServer;

  before(async () => {
    sink = await startSmtpSink();
    bp = await startBorderpatrol({
      relayPort: sink.port,
      set: { 'smtp.greet_delay': '0', 'recipient_verification.mode': 'none' },
      files: { 'checks/content.yaml': EVIL_RULE, 'symbols.yaml': 'ADMIN_RULE:\n  score: 1\n  description: admin rule\n' },
    });
  });

  after(async () => {
    await bp?.stop();
    await sink?.stop();
  });

  test('^(a+)+$ against a crafted subject: the message is answered at once and other clients are greeted meanwhile', async () => {
    const c = await openData(bp.port);
    const started = performance.now();
    c.write(`From: <sender@origin.test>\r\nSubject: ${'a'.repeat(29)}!\r\nMessage-ID: <evil-rule@origin.test>\r\n\r\nhi\r\n.\r\n`);
    const reply = c.reply(120_000);
    const waits = await greetingWaits(bp.port, reply);
    const r = await reply;
    const took = performance.now() - started;
    c.close();
    assert.equal(r.code, 250, r.text);
    assert.ok(took < 2000, `the message took ${took.toFixed(0)} ms to answer`);
    const worst = Math.max(...waits);
    assert.ok(worst < 500, `a new client waited ${worst.toFixed(0)} ms for its greeting`);
  });

  test('policy check refuses backreferences and lookaround, naming file, line and why', async () => {
    const dir = await tempPolicies({
      'server.yaml': 'local_domains: [example.com]\n',
      'symbols.yaml': 'BACKREF:\n  score: 1\nLOOK:\n  score: 1\n',
      'checks/content.yaml': `rules:
  - symbol: BACKREF
    type: subject
    match: regex
    pattern: '(a+)\\1'
  - symbol: LOOK
    type: body
    match: regex
    pattern: 'x(?!y)'
`,
    });
    try {
      const r = await cli(['policy', 'check', dir]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /checks\/content\.yaml:5:\d+: .*rule BACKREF: backreferences .* need a backtracking engine/);
      assert.match(r.stderr, /checks\/content\.yaml:9:\d+: .*rule LOOK: lookahead and lookbehind .* need a backtracking engine/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('the rules of one message keep to limits.max_content_rules_ms', async () => {
    // Forty rules that each read the whole 256 KB body; only the last one matches. Every
    // literal a rule needs is in the body (its marker on the first line, the rest all
    // over), so the literal prefilter cannot rule any of them out: RE2 reads the body 40 times.
    const rules = Array.from({ length: 40 }, (_, i) => `  - symbol: SLOW_${i}\n    type: body\n    match: regex\n    pattern: 'xyxy(?:x|y)+q[a-z ]*zz${i}\\b'\n    flags: i\n`).join('');
    const symbols = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`SLOW_${i}`, 1]));
    const markers = Array.from({ length: 40 }, (_, i) => `zz${i}`).join(' ') + '\r\n';
    const body = markers + 'xyxyxyxyxy xyxyxyxyxy xyxyxyxyxy xyxyxyxy\r\n'.repeat(6000) + 'xyxyxyq zz39';
    // The check's own timeout is out of the way: only the budget may cut the rules short.
    const files = { 'checks/content.yaml': `timeout: 60000\nrules:\n${rules}` };
    const tight = new Scanner(await testPolicy({ files, symbols, set: { 'limits.max_content_rules_ms': '30' } }));
    const cut = await tight.scan(message({ body }));
    const loose = new Scanner(await testPolicy({ files, symbols, set: { 'limits.max_content_rules_ms': '60000' } }));
    const whole = await loose.scan(message({ body }));
    assert.ok('SLOW_39' in whole.symbols, 'without a tight budget every rule runs');
    assert.ok(!('SLOW_39' in cut.symbols), 'with a 30 ms budget the last rules are skipped');
  });
});
