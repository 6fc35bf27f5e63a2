import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { emptyModel, parseModel, predict, serializeModel, trainStep, type NeuralInput } from '../../src/checks/neural/model.js';
import { trainNeural } from '../../src/checks/neural/train.js';
import { learnEvent } from '../../src/session/learn.js';
import { createChecks } from '../../src/checks/registry.js';
import { Pipeline } from '../../src/pipeline/runner.js';
import { silentLogger } from '../../src/observability/logger.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import type { Store } from '../../src/stores/types.js';
import { Scanner, testPolicy, message } from './helpers.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { freePort } from '../helpers/ports.js';
import { rspamc } from '../helpers/rspamc.js';
import { hamMessage, spamMessage } from '../bayes/synthetic.js';

/**
 * The neural layer: a logistic model over the other checks' symbols, trained by learn
 * events, kept in the store, capped so it can never refuse a message on its own.
 */

const SPAMMY: NeuralInput[] = [{ name: 'MISSING_DATE' }, { name: 'BODY_MULTI_BANG' }, { name: 'HTML_BIG_FONT', factor: 0.5 }];
const HAMMY: NeuralInput[] = [{ name: 'MISSING_TO' }];

describe('model', () => {
  test('learns to tell two symbol patterns apart, ignores Bayes and its own symbols', () => {
    const m = emptyModel();
    for (let i = 0; i < 200; i++) {
      trainStep(m, SPAMMY, 'spam', 0.1);
      trainStep(m, HAMMY, 'ham', 0.1);
    }
    assert.deepEqual([m.spam, m.ham], [200, 200]);
    assert.ok(predict(m, SPAMMY) > 0.95, `spam ${predict(m, SPAMMY)}`);
    assert.ok(predict(m, HAMMY) < 0.05, `ham ${predict(m, HAMMY)}`);
    const before = predict(m, SPAMMY);
    assert.equal(predict(m, [...SPAMMY, { name: 'BAYES_HAM' }, { name: 'NEURAL_HAM' }]), before, 'not inputs');
    assert.equal(m.weights.has('BAYES_HAM'), false);
  });

  test('survives its stored form; refuses what it did not write', () => {
    const m = emptyModel();
    trainStep(m, SPAMMY, 'spam', 0.1);
    const back = parseModel(serializeModel(m));
    assert.ok(back);
    assert.equal(predict(back, SPAMMY), predict(m, SPAMMY));
    assert.equal(back.spam, 1);
    for (const bad of ['', 'null', '{"format":2}', '{"format":1,"spam":1,"ham":0,"bias":0,"symbols":["A"],"weights":[]}', '{"format":1,"spam":1,"ham":0,"bias":"x","symbols":[],"weights":[]}']) {
      assert.equal(parseModel(bad), null, bad);
    }
  });

  test('inference takes well under 0.1 ms', () => {
    const m = emptyModel();
    const inputs: NeuralInput[] = Array.from({ length: 25 }, (_, i) => ({ name: `SYMBOL_${i}`, factor: (i % 10) / 10 }));
    for (let i = 0; i < 100; i++) trainStep(m, inputs, i % 2 ? 'spam' : 'ham', 0.1);
    const runs = 20_000;
    let sink = 0;
    const started = performance.now();
    for (let i = 0; i < runs; i++) sink += predict(m, inputs);
    const perCall = (performance.now() - started) / runs;
    assert.ok(sink > 0);
    assert.ok(perCall < 0.02, `${perCall.toFixed(5)} ms per inference`);
    console.log(`neural inference over 25 symbols: ${(perCall * 1000).toFixed(2)} µs`);
  });
});

describe('training in the store', () => {
  let redis: RunningRedis;
  let redisStore: RedisStore;
  before(async () => {
    redis = await startRedis();
    redisStore = new RedisStore({ url: redis.url, prefix: 'nn-test:', commandTimeout: 2000, log: silentLogger(), metrics: null });
    await redisStore.ready();
  });
  after(async () => {
    await redisStore?.close();
    await redis?.stop();
  });

  for (const kind of ['sqlite', 'redis'] as const) {
    test(`${kind}: 40 concurrent training steps all land, none overwrites another`, async () => {
      const { store, done } = kind === 'redis' ? { store: redisStore as Store, done: async () => {} } : await sqliteStore();
      try {
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => trainNeural(store, i % 2 ? SPAMMY : HAMMY, i % 2 ? 'spam' : 'ham', 0.1)));
        assert.deepEqual(new Set(results), new Set(['trained']));
        const record = await store.neuralLoad();
        const model = record && parseModel(record.model);
        assert.ok(model);
        assert.deepEqual([model.spam, model.ham], [20, 20]);
        assert.equal(record.version, 40);
      } finally {
        await done();
      }
    });
  }
});

async function sqliteStore(): Promise<{ store: Store; done: () => Promise<void> }> {
  const { SqliteStore } = await import('../../src/stores/sqlite/sqlite-store.js');
  const store = new SqliteStore();
  return { store, done: () => store.close() };
}

describe('in the checks', () => {
  test('a learn event scans the message and trains the model on its symbols', async () => {
    const policy = await testPolicy({ set: { 'neural.min_learns': '1' } });
    const scanner = new Scanner(policy);
    const pipeline = new Pipeline(createChecks({ store: scanner.store, log: silentLogger(), metrics: null }));
    const deps = { policy, store: scanner.store, pipeline, log: silentLogger() };
    const spam = message({ omit: ['Date'], body: 'Act now!!! Limited offer' });
    assert.equal(await learnEvent(deps, Buffer.from(spam), 'spam'), 'learned');
    assert.equal(await learnEvent(deps, Buffer.from(spam), 'spam'), 'already_learned');
    const record = await scanner.store.neuralLoad();
    const model = record && parseModel(record.model);
    assert.ok(model);
    assert.equal(model.spam, 1, 'a message already learned does not train again');
    assert.ok((model.weights.get('MISSING_DATE') ?? 0) > 0, JSON.stringify([...model.weights]));
    assert.ok((model.weights.get('BODY_MULTI_BANG') ?? 0) > 0);
    await scanner.store.close();
  });

  test('trained heavily towards spam, it cannot reject (or even greylist) a message with no other evidence', async () => {
    // Even a weight far above the reject threshold is held under the cap.
    const policy = await testPolicy({ set: { 'neural.min_learns': '10', 'neural.reload_seconds': '0' }, symbols: { NEURAL_SPAM: 100 } });
    const scanner = new Scanner(policy);
    for (let i = 0; i < 1000; i++) await trainNeural(scanner.store, i % 10 === 0 ? HAMMY : i % 3 ? [] : SPAMMY, i % 10 === 0 ? 'ham' : 'spam', 0.5);
    const clean = await scanner.scan(message());
    assert.deepEqual(clean.symbols, {}, 'a clean message has no symbols, and the layer does not speak alone');
    assert.equal(clean.verdict.action, 'accept');
    // One weak symbol: the layer speaks, but adds at most half the greylist score.
    const weak = await scanner.scan(message({ omit: ['Date'] }));
    assert.deepEqual(Object.keys(weak.symbols).sort(), ['MISSING_DATE', 'NEURAL_SPAM'], JSON.stringify(weak.symbols));
    const neural = weak.symbols.NEURAL_SPAM;
    assert.ok(neural !== undefined && neural > 0, JSON.stringify(weak.symbols));
    const greylist = policy.policy.actions.greylist ?? policy.policy.actions.reject;
    assert.ok(neural <= greylist / 2, `NEURAL_SPAM ${neural}`);
    assert.equal(weak.verdict.action === 'reject' || weak.verdict.action === 'greylist', false, weak.verdict.action);
    await scanner.store.close();
  });

  test('silent until min_learns of each class', async () => {
    const policy = await testPolicy({ set: { 'neural.min_learns': '5', 'neural.reload_seconds': '0' } });
    const scanner = new Scanner(policy);
    for (let i = 0; i < 50; i++) await trainNeural(scanner.store, SPAMMY, 'spam', 0.2);
    for (let i = 0; i < 4; i++) await trainNeural(scanner.store, HAMMY, 'ham', 0.2);
    const spammy = message({ omit: ['Date'], body: 'Act now!!! Limited offer' });
    assert.equal('NEURAL_SPAM' in (await scanner.scan(spammy)).symbols, false, '4 ham learned: silent');
    await trainNeural(scanner.store, HAMMY, 'ham', 0.2);
    assert.equal('NEURAL_SPAM' in (await scanner.scan(spammy)).symbols, true, '5 of each: speaks');
    await scanner.store.close();
  });
});

describe('over the admin listener', () => {
  let server: TestServer;
  let work: string;
  before(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-neural-'));
    server = await startBorderpatrol({ relayPort: await freePort(), set: { 'admin.password': 'nn-secret', 'store.data_dir': path.join(work, 'data') } });
  });
  after(async () => {
    await server?.stop();
    await fs.rm(work, { recursive: true, force: true });
  });

  test('rspamc learn_spam / learn_ham train the model in the server store', async () => {
    const files = [];
    for (const [i, text] of [spamMessage({ seed: 71 }), hamMessage({ seed: 72 })].entries()) {
      const file = path.join(work, `m${i}.eml`);
      await fs.writeFile(file, text.replace(/\r\n/g, '\n'));
      files.push(file);
    }
    assert.equal((await rspamc(server.adminPort, ['-P', 'nn-secret', 'learn_spam', files[0]!])).code, 0);
    assert.equal((await rspamc(server.adminPort, ['-P', 'nn-secret', 'learn_ham', files[1]!])).code, 0);
    const record = await server.store.neuralLoad();
    const model = record && parseModel(record.model);
    assert.ok(model);
    assert.deepEqual([model.spam, model.ham], [1, 1]);
  });
});
