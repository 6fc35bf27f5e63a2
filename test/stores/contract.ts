import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { GreylistOptions, Store } from '../../src/stores/types.js';

/**
 * What every Store must do, run against each implementation (memory, Redis standalone,
 * Redis Cluster). Delays are whole seconds because Redis keeps time itself.
 */
export function storeContract(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await open());
      await store.ready();
    });
    after(async () => close());

    const uid = () => crypto.randomBytes(5).toString('hex');
    const group = () => `198.51.${Math.floor(Math.random() * 250)}.0/24-${uid()}`;
    const opts = (o: Partial<GreylistOptions> = {}): GreylistOptions => ({ delay: 1, retryWindow: 60, passTtl: 60, autoAllowAfter: 0, autoAllowTtl: 60, ...o });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    it('greylists a new triplet, defers an early retry, passes one after the delay, then knows it', async () => {
      const g = group();
      assert.deepEqual(await store.greylistCheck(g, 'a@x.org|b@example.com', opts({ delay: 1 })), { state: 'new', retryAfter: 1 });
      const early = await store.greylistCheck(g, 'a@x.org|b@example.com', opts({ delay: 1 }));
      assert.equal(early.state, 'early');
      assert.ok(early.retryAfter >= 1 && early.retryAfter <= 1, `retryAfter ${early.retryAfter}`);
      await sleep(1100);
      assert.deepEqual(await store.greylistCheck(g, 'a@x.org|b@example.com', opts({ delay: 1 })), { state: 'passed', retryAfter: 0 });
      assert.deepEqual(await store.greylistCheck(g, 'a@x.org|b@example.com', opts({ delay: 1 })), { state: 'known', retryAfter: 0 });
      // Another triplet of the same group is still new.
      assert.equal((await store.greylistCheck(g, 'a@x.org|c@example.com', opts())).state, 'new');
    });

    it('gives exactly one "new" among 50 concurrent first attempts', async () => {
      const g = group();
      const results = await Promise.all(Array.from({ length: 50 }, () => store.greylistCheck(g, 'race@x.org|r@example.com', opts({ delay: 30 }))));
      const states = results.map((r) => r.state);
      assert.equal(states.filter((s) => s === 'new').length, 1, states.join(','));
      assert.equal(states.filter((s) => s === 'early').length, 49);
    });

    it('forgets a triplet not retried within the retry window', async () => {
      const g = group();
      assert.equal((await store.greylistCheck(g, 'w@x.org|w@example.com', opts({ delay: 5, retryWindow: 1 }))).state, 'new');
      await sleep(1200);
      assert.equal((await store.greylistCheck(g, 'w@x.org|w@example.com', opts({ delay: 5, retryWindow: 1 }))).state, 'new');
    });

    it('forgets a passed triplet after its pass TTL', async () => {
      const g = group();
      const o = opts({ delay: 1, passTtl: 1 });
      await store.greylistCheck(g, 'p@x.org|p@example.com', o);
      await sleep(1100);
      assert.equal((await store.greylistCheck(g, 'p@x.org|p@example.com', o)).state, 'passed');
      await sleep(1200);
      assert.equal((await store.greylistCheck(g, 'p@x.org|p@example.com', o)).state, 'new');
    });

    it('auto-allows a group after N passed triplets', async () => {
      const g = group();
      const o = opts({ delay: 1, autoAllowAfter: 2 });
      await Promise.all(['1', '2'].map((i) => store.greylistCheck(g, `s${i}@x.org|r@example.com`, o)));
      assert.equal((await store.greylistCheck(g, 's3@x.org|r@example.com', o)).state, 'new');
      await sleep(1100);
      assert.equal((await store.greylistCheck(g, 's1@x.org|r@example.com', o)).state, 'passed');
      assert.equal((await store.greylistCheck(g, 's4@x.org|r@example.com', o)).state, 'new', 'one pass is not enough');
      assert.equal((await store.greylistCheck(g, 's2@x.org|r@example.com', o)).state, 'passed');
      assert.deepEqual(await store.greylistCheck(g, 's5@x.org|r@example.com', o), { state: 'allowed', retryAfter: 0 });
      // Other groups are not affected; with auto-allow off the group is not consulted.
      assert.equal((await store.greylistCheck(group(), 's5@x.org|r@example.com', o)).state, 'new');
      assert.equal((await store.greylistCheck(g, 's6@x.org|r@example.com', opts({ autoAllowAfter: 0 }))).state, 'new');
    });

    it('with confirmLater, a due retry records nothing until confirmed, and counts once toward auto-allow', async () => {
      const g = group();
      const o = opts({ delay: 1, autoAllowAfter: 1, confirmLater: true });
      assert.equal((await store.greylistCheck(g, 'd@x.org|r@example.com', o)).state, 'new');
      await sleep(1100);
      assert.deepEqual(await store.greylistCheck(g, 'd@x.org|r@example.com', o), { state: 'due', retryAfter: 0 });
      assert.equal((await store.greylistCheck(g, 'd@x.org|r@example.com', o)).state, 'due', 'an unconfirmed retry is not a pass');
      assert.equal((await store.greylistCheck(g, 'e@x.org|r@example.com', o)).state, 'new', 'nor does it count toward auto-allow');
      const confirms = await Promise.all(Array.from({ length: 5 }, () => store.greylistConfirm(g, 'd@x.org|r@example.com', o)));
      assert.equal(confirms.filter(Boolean).length, 1, 'concurrent confirmations pass it once');
      assert.deepEqual(await store.greylistCheck(g, 'f@x.org|r@example.com', o), { state: 'allowed', retryAfter: 0 });
      assert.equal((await store.greylistCheck(g, 'd@x.org|r@example.com', opts())).state, 'known');
      assert.equal(await store.greylistConfirm(g, 'nobody@x.org|r@example.com', o), false, 'an unknown entry is not created');
      assert.equal((await store.greylistCheck(g, 'nobody@x.org|r@example.com', opts({ autoAllowAfter: 0 }))).state, 'new');
    });

    it('refuses a group that would break the key layout', async () => {
      await assert.rejects(store.greylistCheck('a|b', 'x', opts()));
      await assert.rejects(store.greylistCheck('a}b', 'x', opts()));
      await assert.rejects(store.greylistCheck('', 'x', opts()));
    });

    it('lists entries by substring and releases one', async () => {
      const marker = uid();
      const g = group();
      await store.greylistCheck(g, `list-${marker}@x.org|r@example.com`, opts({ delay: 300 }));
      await store.greylistCheck(g, `other@x.org|r@example.com`, opts({ delay: 300 }));
      const listed = await store.greylistList(marker, 10);
      assert.equal(listed.length, 1);
      const entry = listed[0]!;
      assert.equal(entry.key, `${g}|list-${marker}@x.org|r@example.com`);
      assert.equal(entry.passed, false);
      assert.ok(entry.ttl > 50 && entry.ttl <= 60, `ttl ${entry.ttl}`);
      assert.ok(Math.abs(entry.firstSeen - Date.now()) < 60_000, `firstSeen ${entry.firstSeen}`);
      assert.equal(await store.greylistRelease(entry.key, 120), true);
      assert.equal((await store.greylistList(marker, 10))[0]?.passed, true);
      assert.equal((await store.greylistCheck(g, `list-${marker}@x.org|r@example.com`, opts({ delay: 300 }))).state, 'known');
      assert.equal(await store.greylistRelease(`${g}|nobody-${marker}@x.org|r@example.com`, 120), false);
      assert.equal(await store.greylistRelease('no-bar-in-key', 120), false);
      const many = await store.greylistList('', 1);
      assert.equal(many.length, 1, 'the limit is honoured');
    });

    it('counts with a time to live', async () => {
      const k = `cnt-${uid()}`;
      assert.equal(await store.counterGet(k), 0);
      assert.equal(await store.counterIncrement(k, 1), 1);
      assert.equal(await store.counterIncrement(k, 1), 2);
      assert.equal(await store.counterGet(k), 2);
      await sleep(1200);
      assert.equal(await store.counterGet(k), 0);
    });

    it('learns Bayes tokens once per message and moves them when relearned', async () => {
      const t = (s: string) => `${s}-${uid()}`;
      const [a, b, c] = [t('a'), t('b'), t('c')];
      const digest = uid();
      const totals0 = await store.bayesTotals();
      assert.equal(await store.bayesLearn(digest, [a, b, a], 'spam'), 'learned');
      assert.deepEqual(await store.bayesGetTokens([a, b, c]), [
        { spam: 1, ham: 0 },
        { spam: 1, ham: 0 },
        { spam: 0, ham: 0 },
      ]);
      assert.equal(await store.bayesLearn(digest, [a, b], 'spam'), 'already_learned');
      assert.deepEqual((await store.bayesGetTokens([a]))[0], { spam: 1, ham: 0 });
      const totals1 = await store.bayesTotals();
      assert.equal(totals1.spam, totals0.spam + 1);
      assert.equal(await store.bayesLearn(digest, [a, b], 'ham'), 'relearned');
      assert.deepEqual(await store.bayesGetTokens([a, b]), [
        { spam: 0, ham: 1 },
        { spam: 0, ham: 1 },
      ]);
      const totals2 = await store.bayesTotals();
      assert.deepEqual(totals2, { spam: totals0.spam, ham: totals0.ham + 1 });
      assert.deepEqual(await store.bayesGetTokens([]), []);
    });

    it('reads many Bayes tokens in one call', async () => {
      const tokens = Array.from({ length: 2500 }, (_v, i) => `bulk${i}-${uid()}`);
      assert.equal(await store.bayesLearn(uid(), tokens, 'ham'), 'learned');
      const counts = await store.bayesGetTokens(tokens);
      assert.equal(counts.length, 2500);
      assert.ok(counts.every((c) => c.ham === 1 && c.spam === 0));
    });

    it('stores fuzzy signatures, finds the best agreeing one, replaces and deletes them', async () => {
      const sig = (base: number) => Array.from({ length: 32 }, (_, i) => (base * 1000 + i) >>> 0);
      const a = sig(1 + Math.floor(Math.random() * 1e6));
      const b = sig(2 + Math.floor(Math.random() * 1e6));
      const da = `a-${uid()}`;
      const db = `b-${uid()}`;
      await store.fuzzyAdd(da, a, 1, 10);
      assert.equal(store.fuzzyAny(), true, 'a signature added here is known at once');
      await store.fuzzyAdd(db, b, 3, 1);
      // A copy agreeing on 20 of 32 min-hashes with a, on none with b.
      const near = a.map((v, i) => (i < 20 ? v : v + 7));
      assert.deepEqual(await store.fuzzyFind(near, 16), { digest: da, flag: 1, weight: 10, matched: 20 });
      assert.equal(await store.fuzzyFind(near, 21), null, 'below the least agreement');
      assert.equal((await store.fuzzyFind(b, 32))?.flag, 3);
      // The same digest again changes flag and weight only.
      await store.fuzzyAdd(da, a, 2, 5);
      assert.deepEqual(await store.fuzzyFind(a, 32), { digest: da, flag: 2, weight: 5, matched: 32 });
      assert.equal(await store.fuzzyDelete(da, a), true);
      assert.equal(await store.fuzzyDelete(da, a), false);
      assert.equal(await store.fuzzyFind(near, 1), null);
      assert.equal(store.fuzzyAny(), true, 'one is still stored');
      assert.equal(await store.fuzzyDelete(db, b), true);
      // With none stored the check skips the signature (Redis notices on its next count).
      const until = Date.now() + 5000;
      while (store.fuzzyAny() && Date.now() < until) await sleep(20);
      assert.equal(store.fuzzyAny(), false, 'none stored');
    });

    it('saves the neural model by compare-and-set on its version, one winner among racing savers', async () => {
      const first = await store.neuralLoad();
      const base = first?.version ?? 0;
      assert.equal(await store.neuralSave(base + 5, 'stale'), false, 'a version that is not the stored one is refused');
      assert.equal(await store.neuralSave(base, `m-${base}`), true);
      assert.deepEqual(await store.neuralLoad(), { version: base + 1, model: `m-${base}` });
      // Twenty writers that all read version base+1: exactly one may save.
      const saved = await Promise.all(Array.from({ length: 20 }, (_, i) => store.neuralSave(base + 1, `racer-${i}`)));
      assert.equal(saved.filter(Boolean).length, 1, saved.join(','));
      const after = await store.neuralLoad();
      assert.equal(after?.version, base + 2);
      assert.equal(after?.model, `racer-${saved.indexOf(true)}`);
    });

    it('remembers reply ids until they expire', async () => {
      const [a, b, c] = [uid(), uid(), uid()];
      await store.replyRemember([a, b], 1);
      assert.deepEqual(await store.replyKnown([a, c, b]), [true, false, true]);
      assert.deepEqual(await store.replyKnown([]), []);
      await sleep(2100);
      assert.deepEqual(await store.replyKnown([a, b]), [false, false]);
    });

    it('keeps a bounded history, newest first', async () => {
      const marker = uid();
      for (let i = 0; i < 5; i++) await store.historyPush(JSON.stringify({ marker, i }), 3);
      const read = (await store.historyRead(10)).map((s) => JSON.parse(s) as { marker: string; i: number });
      assert.deepEqual(read.map((r) => r.i), [4, 3, 2]);
      assert.deepEqual((await store.historyRead(2)).length, 2);
    });
  });
}
