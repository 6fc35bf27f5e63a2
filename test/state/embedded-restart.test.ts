import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { attempt, sleep, startMx } from './fixture.js';

/** Without Redis, one machine keeps its greylist (and Bayes) state in its data dir across restarts. */
describe('embedded store across a restart', () => {
  let sink: SmtpSink;
  let policiesDir: string;
  before(async () => {
    sink = await startSmtpSink();
    policiesDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-policies-'));
  });
  after(async () => {
    await sink?.stop();
    await fs.rm(policiesDir, { recursive: true, force: true });
  });

  const set = { 'greylist.enabled': 'true', 'greylist.delay': '2' };

  it('accepts the retry after a restart in between', async () => {
    const first = await startMx(sink.port, set, {}, policiesDir);
    try {
      assert.match((await attempt(first.port, { from: 'restart@origin.test' })).rcpts[0] ?? '', /^451 4\.7\.1 Greylisted/);
      // A triplet that passes before the restart must stay passed after it.
      assert.match((await attempt(first.port, { from: 'passed@origin.test' })).rcpts[0] ?? '', /^451 4\.7\.1/);
      await sleep(2100);
      assert.equal((await attempt(first.port, { from: 'passed@origin.test' })).rcpts[0], '250 2.1.5 Accepted');
    } finally {
      await first.stop();
    }
    const files = await fs.readdir(path.join(policiesDir, '.data'));
    assert.ok(files.includes('store.sqlite'), `the database is in the data dir: ${files.join(', ')}`);
    assert.ok(!files.includes('writer.pid'), 'a clean stop leaves no holder behind');
    const second = await startMx(sink.port, set, {}, policiesDir);
    try {
      const retry = await attempt(second.port, { from: 'restart@origin.test' });
      assert.equal(retry.rcpts[0], '250 2.1.5 Accepted', 'the delay counted across the restart');
      assert.match(retry.end ?? '', /^250 /);
      assert.equal((await attempt(second.port, { from: 'passed@origin.test' })).rcpts[0], '250 2.1.5 Accepted');
      assert.match((await attempt(second.port, { from: 'stranger@origin.test' })).rcpts[0] ?? '', /^451 4\.7\.1/, 'an unknown triplet is still greylisted');
    } finally {
      await second.stop();
    }
  });

  it('keeps a score-band deferral across a restart', async () => {
    const files = { 'symbols.yaml': 'ALLOWLIST_IP:\n  score: 12\n', 'lists/allow_ips.txt': '127.0.0.1\n' };
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-policies-'));
    try {
      const msg = { from: 'band@origin.test', messageId: 'band-restart@origin.test' };
      const first = await startMx(sink.port, set, files, dir);
      try {
        assert.match((await attempt(first.port, msg)).end ?? '', /^451 4\.7\.1 Greylisted, please try again in 2 seconds$/);
        assert.match((await attempt(first.port, msg)).end ?? '', /^451 4\.7\.1 Greylisted, please try again in [12] seconds$/, 'too early');
      } finally {
        await first.stop();
      }
      await sleep(2100);
      const second = await startMx(sink.port, set, {}, dir);
      try {
        assert.match((await attempt(second.port, msg)).end ?? '', /^250 /);
      } finally {
        await second.stop();
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
