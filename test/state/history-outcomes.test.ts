import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import type { TestServer } from '../helpers/borderpatrol.js';
import type { HistoryEntry } from '../../src/history/record.js';
import type { Stats } from '../../src/history/stats.js';
import { replayHistory } from '../../src/history/whatif.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { waitUntil } from '../policy/helpers.js';
import { attempt, startMx } from './fixture.js';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
const SERVER = { 'greylist.enabled': 'true', 'greylist.delay': '300', 'recipient_verification.mode': 'list', 'admin.password': 'sekrit' };
const FILES = { 'lists/valid_recipients.txt': 'user@example.com\n' };

async function history(mx: TestServer): Promise<HistoryEntry[]> {
  const res = await fetch(`http://127.0.0.1:${mx.adminPort}/history?limit=50`, { headers: { Password: 'sekrit' } });
  return ((await res.json()) as { entries: HistoryEntry[] }).entries;
}

/** What history, stats and metrics say about refusals before DATA. */
describe('history of RCPT-time refusals', () => {
  let sink: SmtpSink;
  let mx: TestServer;
  before(async () => {
    sink = await startSmtpSink();
    mx = await startMx(sink.port, SERVER, FILES);
  });
  after(async () => {
    await mx?.stop();
    await sink?.stop();
  });

  it('keeps the refused recipient and names greylisting "greylist" in history, stats and metrics', async () => {
    const unknown = await attempt(mx.port, { from: 'probe@origin.test', rcpts: ['nosuchuser@example.com'] });
    assert.match(unknown.rcpts[0] ?? '', /^550 5\.1\.1 /);
    const grey = await attempt(mx.port, { from: 'new@origin.test', rcpts: ['user@example.com'] });
    assert.match(grey.rcpts[0] ?? '', /^451 4\.7\.1 Greylisted/);
    await waitUntil('two history entries', async () => (await history(mx)).length >= 2);
    const entries = await history(mx);
    const u = entries.find((e) => e.from === 'probe@origin.test');
    assert.deepEqual([u?.action, u?.refusal, u?.rcpts, u?.refusedRcpts], ['reject', 'unknown_recipient', [], ['nosuchuser@example.com']]);
    const g = entries.find((e) => e.from === 'new@origin.test');
    assert.deepEqual([g?.action, g?.refusal, g?.refusedRcpts], ['greylist', 'greylist', ['user@example.com']]);
    const stats = (await (await fetch(`http://127.0.0.1:${mx.adminPort}/stats`, { headers: { Password: 'sekrit' } })).json()) as Stats;
    assert.equal(stats.actions.greylist, 1);
    assert.equal(stats.actions.tempfail, undefined, 'one word per outcome');
    const metrics = await (await fetch(`http://127.0.0.1:${mx.adminPort}/metrics`)).text();
    assert.match(metrics, /^borderpatrol_transactions_total\{action="greylist"\} 1$/m);
    assert.doesNotMatch(metrics, /borderpatrol_transactions_total\{action="tempfail"\}/);
    const page = await (await fetch(`http://127.0.0.1:${mx.adminPort}/history/view`, { headers: { Password: 'sekrit' } })).text();
    assert.match(page, /<s title="refused">nosuchuser@example\.com<\/s>/);
  });
});

/** A trial week with greylisting on: the content verdict of a first attempt is not hidden behind "greylist". */
describe('dry-run with greylisting', () => {
  let sink: SmtpSink;
  let mx: TestServer;
  before(async () => {
    sink = await startSmtpSink();
    mx = await startMx(sink.port, { ...SERVER, dry_run: 'true' }, FILES);
  });
  after(async () => {
    await mx?.stop();
    await sink?.stop();
  });

  it('records what the content would have got, and whatif replays it', async () => {
    const spam = await attempt(mx.port, { from: 'first@spam.test', body: GTUBE });
    assert.equal(spam.rcpts[0], '250 2.1.5 Accepted', 'dry-run defers nothing');
    assert.match(spam.end ?? '', /^250 /);
    const ham = await attempt(mx.port, { from: 'first@ham.test' });
    assert.match(ham.end ?? '', /^250 /);
    await waitUntil('two history entries', async () => (await history(mx)).length >= 2);
    const entries = await history(mx);
    const s = entries.find((e) => e.from === 'first@spam.test');
    assert.equal(s?.wouldBe, 'reject', 'the content verdict, not the greylist deferral of the first attempt');
    assert.ok(s?.forced.some(([check, action, dryRun]) => check === 'greylist' && action === 'greylist' && dryRun), 'the deferral is still on record');
    const h = entries.find((e) => e.from === 'first@ham.test');
    assert.equal(h?.wouldBe, 'greylist', 'clean mail: the first attempt would have been deferred');
    const report = replayHistory(entries, defaultPolicy({ greylist: { enabled: true } }));
    const change = report.changes.find((c) => c.tx === s?.tx);
    assert.equal(change?.after, 'reject', 'whatif with dry-run off reports the reject');
  });
});
