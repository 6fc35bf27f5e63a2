import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadPolicy } from '../../src/policy/load.js';
import { replayHistory } from '../../src/history/whatif.js';
import type { HistoryEntry } from '../../src/history/record.js';
import { BASE_FILES, cli, tempPolicies } from './helpers.js';

const made: string[] = [];
after(async () => {
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

function entry(tx: string, fields: Partial<HistoryEntry>): HistoryEntry {
  return { time: '2026-11-01T10:00:00.000Z', tx, ip: '192.0.2.1', helo: 'client.test', from: `${tx.toLowerCase()}@sender.example`, rcpts: ['user@example.com'], size: 1000, action: 'accept', reply: '250 2.0.0 Ok', hits: [], forced: [], ...fields };
}

/** Recorded under a policy where both allow symbols scored -20 and access was in dry-run for T4. */
const HISTORY: HistoryEntry[] = [
  entry('T1', { action: 'accept', score: -20, hits: [['ALLOWLIST_IP', 1]] }),
  entry('T2', { action: 'accept', score: -20, hits: [['ALLOWLIST_SENDER', 1]] }),
  entry('T3', { action: 'reject', reply: '550 5.7.1 Sender domain refused by policy', forced: [['access_sender', 'reject', false, 'access']] }),
  entry('T4', { action: 'accept', score: 0, wouldBe: 'reject', forced: [['access_sender', 'reject', true, 'access']] }),
  entry('T5', { action: 'reject', reply: '554 5.7.1 Relay access denied', rcpts: [] }),
  entry('T6', { action: 'relay_refused', score: 1, reply: '451 4.3.0 try later' }),
  entry('T7', { action: 'accept', score: 5, hits: [['BAYES_SPAM', 0.5]] }),
];

const DRAFT_SYMBOLS = 'ALLOWLIST_IP:\n  score: 8\nALLOWLIST_SENDER:\n  score: 20\n';

async function draft(files: Record<string, string>): Promise<string> {
  const dir = await tempPolicies({ ...BASE_FILES, 'symbols.yaml': DRAFT_SYMBOLS, ...files });
  made.push(dir);
  return dir;
}

describe('policy whatif', () => {
  test('re-scores the recorded hits with the draft weights and re-judges forced actions', async () => {
    const { compiled } = await loadPolicy(await draft({}));
    const r = replayHistory(HISTORY, compiled);
    assert.equal(r.total, 7);
    assert.equal(r.skipped, 2, 'T5 (relaying) and T6 (downstream refusal) are not the policy’s to change');
    assert.equal(r.replayed, 5);
    assert.equal(r.changed, 3);
    assert.deepEqual(r.transitions, [
      { before: 'accept', after: 'reject', count: 2 },
      { before: 'accept', after: 'add_header', count: 1 },
    ]);
    assert.deepEqual(
      r.changes.map((c) => [c.tx, c.oldScore, c.newScore, c.after]),
      [
        ['T1', -20, 8, 'add_header'],
        ['T2', -20, 20, 'reject'],
        ['T4', 0, 0, 'reject'],
      ],
    );
    assert.equal(r.before.accept, 4);
    assert.equal(r.after.accept, 1, 'T7: a symbol the draft does not score counts 0');
  });

  test('a draft with dry-run on, or with the check switched off, lets the forced refusals through', async () => {
    const dry = replayHistory(HISTORY, (await loadPolicy(await draft({ 'server.yaml': BASE_FILES['server.yaml'] + 'dry_run: true\n' }))).compiled);
    assert.deepEqual(dry.transitions.find((t) => t.before === 'reject'), { before: 'reject', after: 'accept', count: 1 });
    const off = replayHistory(HISTORY, (await loadPolicy(await draft({ 'checks/access.yaml': 'enabled: false\n' }))).compiled);
    const t3 = off.changes.find((c) => c.tx === 'T3');
    assert.equal(t3?.after, 'accept');
    assert.equal(t3?.contentUnseen, true, 'refused at MAIL: its content was never scored');
  });

  test('the CLI reads a history file and prints counts, transitions and examples', async () => {
    const dir = await draft({});
    const file = path.join(dir, '..', path.basename(dir) + '-history.jsonl');
    made.push(file);
    await fs.writeFile(file, HISTORY.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const r = await cli(['policy', 'whatif', dir, '--history', file, '--examples', '2']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `${dir}: 3 of 5 replayed messages would change action (60.0%)`);
    assert.match(r.stdout, /^ {2}accept -> reject\s+2$/m);
    assert.match(r.stdout, /^ {2}accept -> add_header\s+1$/m);
    assert.match(r.stdout, /^ {2}2026-11-01T10:00:00\.000Z {2}tx T1 {2}from <t1@sender\.example> \[192\.0\.2\.1\] {2}score -20\.00 -> 8\.00 {2}accept -> add_header$/m);
    assert.equal((r.stdout.match(/ tx T\d/g) ?? []).length, 2, '--examples 2');
    assert.match(r.stderr, /replaying 7 entries/);
  });

  test('a broken history file is named with its line; a broken draft with its positions', async () => {
    const dir = await draft({});
    const file = path.join(dir, '..', path.basename(dir) + '-bad.jsonl');
    made.push(file);
    await fs.writeFile(file, JSON.stringify(HISTORY[0]) + '\n{"action": "accept"}\n');
    const r = await cli(['policy', 'whatif', dir, '--history', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /-bad\.jsonl:2: not a history entry: no "hits" list/);
    const broken = await draft({ 'actions.yaml': 'reject: 1\nadd_header: 6\n' });
    const b = await cli(['policy', 'whatif', broken, '--history', file]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /actions\.yaml:1:9: reject must be a number greater than add_header \(6\)/);
  });
});
