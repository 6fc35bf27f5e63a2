import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { policySchema } from '../../src/policy/schema.js';
import { learnMessage } from '../../src/bayes/learn.js';
import { tokenize } from '../../src/bayes/tokenizer.js';
import { tokenKeys } from '../../src/bayes/token-key.js';
import { parseMessage } from '../../src/mail/parse.js';
import { autolearnClass } from '../../src/bayes/autolearn.js';
import { bayesHit } from '../../src/bayes/confidence.js';
import { chi2Q, combine } from '../../src/bayes/classifier.js';
import { newTransaction } from '../../src/pipeline/transaction.js';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { BayesScanner, bayesPolicy, cleanupPolicies } from './helpers.js';
import { hamMessage, spamMessage } from './synthetic.js';

after(cleanupPolicies);

const policy = policySchema.parse({});
const limits = { parse: policy.limits, tokenizer: { maxTokens: policy.bayes.max_tokens, maxTextChars: policy.bayes.max_text } };
const buf = (s: string) => Buffer.from(s);

async function countsOf(store: SqliteStore, raw: string) {
  const keys = tokenKeys(tokenize(await parseMessage(buf(raw), policy.limits)));
  return store.bayesGetTokens(keys);
}

test('learn, learn again (no-op), learn as the other class (moves the counts)', async () => {
  const store = new SqliteStore();
  const raw = spamMessage({ seed: 1 });
  assert.equal(await learnMessage(store, buf(raw), 'spam', limits), 'learned');
  assert.deepEqual(await store.bayesTotals(), { spam: 1, ham: 0 });
  const first = await countsOf(store, raw);
  assert.ok(first.length > 20 && first.every((c) => c.spam === 1 && c.ham === 0));

  assert.equal(await learnMessage(store, buf(raw), 'spam', limits), 'already_learned');
  assert.deepEqual(await store.bayesTotals(), { spam: 1, ham: 0 });
  assert.deepEqual(await countsOf(store, raw), first);

  // The copy from the mailbox, with what delivery added, is the same message.
  const delivered = `Return-Path: <x@y.example>\r\nX-Spam-Flag: YES\r\nReceived: from mx.example.com by imap; Mon, 2 Mar 2026 10:00:02 +0000\r\n${raw}`;
  assert.equal(await learnMessage(store, buf(delivered), 'spam', limits), 'already_learned');

  assert.equal(await learnMessage(store, buf(raw), 'ham', limits), 'relearned');
  assert.deepEqual(await store.bayesTotals(), { spam: 0, ham: 1 });
  assert.ok((await countsOf(store, raw)).every((c) => c.spam === 0 && c.ham === 1));

  assert.equal(await learnMessage(store, buf(spamMessage({ seed: 2 })), 'spam', limits), 'learned');
  assert.deepEqual(await store.bayesTotals(), { spam: 1, ham: 1 });
});

test('chi-square combining: no evidence is 0.5, one-sided evidence is near 0 or 1', () => {
  assert.ok(Math.abs(chi2Q(2, 2) - Math.exp(-1)) < 1e-12);
  const totals = { spam: 100, ham: 100 };
  assert.equal(combine([{ spam: 0, ham: 0 }], totals).probability, 0.5);
  const spammy = combine(Array.from({ length: 30 }, () => ({ spam: 40, ham: 1 })), totals);
  const hammy = combine(Array.from({ length: 30 }, () => ({ spam: 1, ham: 40 })), totals);
  const mixed = combine([...Array.from({ length: 15 }, () => ({ spam: 40, ham: 1 })), ...Array.from({ length: 15 }, () => ({ spam: 1, ham: 40 }))], totals);
  assert.ok(spammy.probability > 0.999, String(spammy.probability));
  assert.ok(hammy.probability < 0.001, String(hammy.probability));
  assert.ok(Math.abs(mixed.probability - 0.5) < 0.05, `strong evidence both ways is unsure: ${mixed.probability}`);
});

test('probability → symbol: nothing in the unsure middle, confidence grows toward certainty', () => {
  const bands = { spam_probability: 0.6, spam_certain: 0.9999, ham_probability: 0.4, ham_certain: 0.0001 };
  assert.equal(bayesHit(0.5, bands), null);
  assert.equal(bayesHit(0.59, bands), null);
  const weak = bayesHit(0.9, bands);
  const strong = bayesHit(0.999, bands);
  const certain = bayesHit(0.999999, bands);
  assert.equal(weak?.name, 'BAYES_SPAM');
  assert.ok(weak && strong && certain && weak.factor! < strong.factor! && strong.factor! < certain.factor!);
  assert.equal(certain?.factor, 1);
  const ham = bayesHit(0.000001, bands);
  assert.equal(ham?.name, 'BAYES_HAM');
  assert.equal(ham?.factor, 1);
});

async function train(store: SqliteStore, spam: number, ham: number, offset = 0): Promise<void> {
  for (let i = 0; i < spam; i++) await learnMessage(store, buf(spamMessage({ seed: offset + i })), 'spam', limits);
  for (let i = 0; i < ham; i++) await learnMessage(store, buf(hamMessage({ seed: offset + i })), 'ham', limits);
}

test('no verdict before min_learns of each class; after 200 + 200 spam and ham are told apart', async () => {
  const scanner = new BayesScanner(await bayesPolicy());
  const probe = spamMessage({ seed: 9001 });
  await train(scanner.store, 199, 200);
  let r = await scanner.scan(probe);
  assert.equal(r.symbols.BAYES_SPAM, undefined, 'one spam short of min_learns: no opinion');
  assert.equal(r.symbols.BAYES_HAM, undefined);

  await train(scanner.store, 1, 0, 199);
  assert.deepEqual(await scanner.store.bayesTotals(), { spam: 200, ham: 200 });
  r = await scanner.scan(probe);
  const weight = scanner.policy.weight('BAYES_SPAM');
  assert.ok(weight > 0);
  assert.ok((r.symbols.BAYES_SPAM ?? 0) >= 0.9 * weight, `spammy message: ${JSON.stringify(r.symbols)}`);
  assert.match(r.details.BAYES_SPAM ?? '', /^p=(0\.9|1\.0)/);

  const ham = await scanner.scan(hamMessage({ seed: 9002 }));
  assert.equal(ham.symbols.BAYES_SPAM, undefined);
  assert.ok((ham.symbols.BAYES_HAM ?? 0) <= 0.9 * scanner.policy.weight('BAYES_HAM'), `hammy message: ${JSON.stringify(ham.symbols)}`);
});

test('min_learns comes from policy (bayes.min_learns)', async () => {
  const scanner = new BayesScanner(await bayesPolicy({}, { 'bayes.min_learns': '20' }));
  await train(scanner.store, 20, 20);
  const r = await scanner.scan(spamMessage({ seed: 7001 }));
  assert.ok((r.symbols.BAYES_SPAM ?? 0) > 0, JSON.stringify(r.symbols));
});

test('autolearn: the score of the OTHER symbols decides, Bayes never counts', async () => {
  const compiled = await bayesPolicy({ 'symbols.yaml': 'ALLOWLIST_IP:\n  score: 15\nALLOWLIST_SENDER:\n  score: -20\nBAYES_SPAM:\n  score: 10\nBAYES_HAM:\n  score: -5\n' }, { 'bayes.autolearn.enabled': 'true' });
  const ctx = newTransaction({ connectionId: 'c', client: { ip: '192.0.2.1', port: 25, rdns: '', helo: 'h', tls: false, proto: 'ESMTP', source: 'socket' }, policy: compiled, store: new SqliteStore(), log: silentLogger() });
  ctx.message = await parseMessage(buf(spamMessage({ seed: 3 })), policy.limits);
  const settings = compiled.policy.bayes.autolearn;
  ctx.hits.push({ name: 'BAYES_SPAM', factor: 1, check: 'bayes' });
  assert.equal(autolearnClass(ctx, settings), null, 'Bayes alone (10) does not make a message spam for autolearn');
  ctx.hits.push({ name: 'ALLOWLIST_IP', check: 'access' });
  assert.equal(autolearnClass(ctx, settings), 'spam');
  ctx.hits.length = 0;
  ctx.hits.push({ name: 'ALLOWLIST_SENDER', check: 'access' });
  assert.equal(autolearnClass(ctx, settings), 'ham');
  assert.equal(autolearnClass(ctx, { ...settings, enabled: false }), null);
});

test('autolearn end to end: an allow-listed sender is learned as ham in the background', async () => {
  const scanner = new BayesScanner(await bayesPolicy({ 'lists/allow_senders.txt': 'anna@work.example.org\n' }, { 'bayes.autolearn.enabled': 'true' }));
  await scanner.receive(hamMessage({ seed: 5 }), { from: 'anna@work.example.org' });
  for (let i = 0; i < 100 && (await scanner.store.bayesTotals()).ham === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(await scanner.store.bayesTotals(), { spam: 0, ham: 1 });
  await scanner.receive(hamMessage({ seed: 6 }), { from: 'stranger@elsewhere.example' });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await scanner.store.bayesTotals(), { spam: 0, ham: 1 }, 'a message no other check vouches for is not learned');
  await scanner.scan(hamMessage({ seed: 7 }), { from: 'anna@work.example.org' });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await scanner.store.bayesTotals(), { spam: 0, ham: 1 }, 'a scan never trains, whatever autolearn says');
});
