import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadPolicy, defaultPolicy } from '../../src/policy/load.js';
import { PolicyError, formatProblem } from '../../src/policy/errors.js';
import { recipientVerification, checksRelay, isFilterMode, isAfterQueue, isMilterMode } from '../../src/policy/mode.js';
import { afterQueueOutcome, commandHandling } from '../../src/decision/after-queue.js';
import { Replies } from '../../src/decision/replies.js';
import type { Verdict } from '../../src/decision/verdict.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function load(serverYaml: string) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-modes-'));
  dirs.push(dir);
  await fs.writeFile(path.join(dir, 'server.yaml'), serverYaml);
  return loadPolicy(dir);
}

function verdict(action: Verdict['action'], score: number): Verdict {
  return { action, wouldBe: action, dryRun: false, score, hits: [], reply: action === 'reject' ? Replies.spam() : null, forcedBy: null, reason: `score ${score}` };
}

describe('what the deployment mode changes', () => {
  test('a filter mode without smtp.xforward_hosts is refused at load, naming the key', async () => {
    await assert.rejects(load('mode: content_filter\n'), (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      const text = err.problems.map(formatProblem).join('\n');
      assert.match(text, /server\.yaml.*smtp\.xforward_hosts.*mode content_filter needs the address of the Postfix/);
      return true;
    });
    const { compiled } = await load('mode: proxy_filter\nsmtp:\n  xforward_hosts: [127.0.0.1]\n');
    assert.equal(compiled.policy.mode, 'proxy_filter');
  });

  test('relay check, recipient verification and after-queue handling per mode', () => {
    const mx = defaultPolicy({}).policy;
    const cf = defaultPolicy({ mode: 'content_filter', smtp: { xforward_hosts: ['127.0.0.1'] } }).policy;
    const pf = defaultPolicy({ mode: 'proxy_filter', smtp: { xforward_hosts: ['127.0.0.1'] } }).policy;
    // Milter: Postfix asks before it queues and delivers itself; it needs no XFORWARD peers.
    const mi = defaultPolicy({ mode: 'milter' }).policy;
    assert.deepEqual([mx, cf, pf, mi].map(checksRelay), [true, false, false, false]);
    assert.deepEqual([mx, cf, pf, mi].map(isFilterMode), [false, true, true, false]);
    assert.deepEqual([mx, cf, pf, mi].map(isMilterMode), [false, false, false, true]);
    assert.deepEqual([mx, cf, pf, mi].map(isAfterQueue), [false, true, false, false]);
    assert.deepEqual([mx, cf, pf, mi].map(recipientVerification), ['postfix', 'none', 'none', 'none']);
    assert.deepEqual(mi.milter.peers, ['127.0.0.1', '::1']);
    // An explicit choice wins over auto.
    assert.equal(recipientVerification(defaultPolicy({ mode: 'proxy_filter', smtp: { xforward_hosts: ['127.0.0.1'] }, recipient_verification: { mode: 'list' } }).policy), 'list');
  });

  test('after the queue a reject is discarded or stamped, a greylist falls back to the score, a tempfail stays', () => {
    const discard = defaultPolicy({ mode: 'content_filter', smtp: { xforward_hosts: ['127.0.0.1'], after_queue_reject: 'discard' } });
    const tag = defaultPolicy({ mode: 'content_filter', smtp: { xforward_hosts: ['127.0.0.1'], after_queue_reject: 'add_header' } });
    const mx = defaultPolicy({});

    const d = afterQueueOutcome(verdict('reject', 20), discard, 'TX1');
    assert.equal(d.kind, 'discard');
    assert.ok(d.kind === 'discard' && d.reply.code === 250 && /discarded by policy, id=TX1/.test(d.reply.text));

    const t = afterQueueOutcome(verdict('reject', 20), tag, 'TX2');
    assert.equal(t.kind, 'deliver');
    assert.ok(t.kind === 'deliver' && t.verdict.action === 'add_header' && t.verdict.reply === null && t.wouldBe === 'reject');

    // Score 11 is in the greylist band (10..15) and above add_header (6).
    const g = afterQueueOutcome(verdict('greylist', 11), tag, 'TX3');
    assert.ok(g.kind === 'deliver' && g.verdict.action === 'add_header' && g.wouldBe === 'greylist');
    const g0 = afterQueueOutcome(verdict('greylist', 0), tag, 'TX4');
    assert.ok(g0.kind === 'deliver' && g0.verdict.action === 'accept');

    assert.equal(afterQueueOutcome(verdict('soft_reject', 0), discard, 'TX5').kind, 'as_is');
    assert.equal(afterQueueOutcome(verdict('accept', 0), discard, 'TX6').kind, 'as_is');
    assert.equal(afterQueueOutcome(verdict('reject', 20), mx, 'TX7').kind, 'as_is');

    const reject = { action: 'reject' as const, reply: Replies.spam(), reason: 'deny' };
    const tempfail = { action: 'tempfail' as const, reply: Replies.policyTempfail(), reason: 'down' };
    const greylist = { action: 'greylist' as const, reply: Replies.greylisted(60), reason: 'new' };
    assert.equal(commandHandling(reject, 'mail', mx), 'answer');
    assert.equal(commandHandling(reject, 'mail', discard), 'carry');
    assert.equal(commandHandling(reject, 'rcpt', discard), 'drop_recipient');
    assert.equal(commandHandling(reject, 'rcpt', tag), 'carry');
    assert.equal(commandHandling(tempfail, 'rcpt', discard), 'answer');
    assert.equal(commandHandling(greylist, 'rcpt', discard), 'ignore');
  });
});
