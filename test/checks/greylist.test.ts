import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stableSender, tripletKey, messageKey } from '../../src/checks/greylist/keys.js';
import { settleVerdict } from '../../src/pipeline/postfilter.js';
import { Pipeline } from '../../src/pipeline/runner.js';
import type { Verdict } from '../../src/decision/verdict.js';
import { greylistCheck } from '../../src/checks/greylist/index.js';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { policySchema } from '../../src/policy/schema.js';
import { newTransaction } from '../../src/pipeline/transaction.js';
import { decide } from '../../src/decision/verdict.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { ParsedMessage } from '../../src/mail/parsed-message.js';
import { parseMessage } from '../../src/mail/parse.js';
import type { Store } from '../../src/stores/types.js';
import type { TransactionContext } from '../../src/pipeline/context.js';

/** The message as the Session hands it to the checks: parsed by the real parser. */
function message(headers: Record<string, string>, body: string): Promise<ParsedMessage> {
  const raw = Buffer.from(Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n' + body);
  return parseMessage(raw, policySchema.parse({}).limits);
}

function context(store: Store, policyInput: Record<string, unknown>, ip = '192.0.2.10'): TransactionContext {
  const tx = newTransaction({
    connectionId: 'c1',
    client: { ip, port: 1, rdns: '', helo: 'h', tls: false, proto: 'ESMTP', source: 'socket' },
    policy: defaultPolicy(policyInput),
    store,
    log: silentLogger(),
  });
  tx.envelope.from = 'sender@origin.test';
  tx.envelope.rcpts = ['user@example.com'];
  return tx;
}

describe('greylist keys', () => {
  it('folds the changing parts of bounce and list senders', () => {
    assert.equal(stableSender(''), '<>');
    assert.equal(stableSender('Bounce-12345-678@Lists.Example'), 'bounce-#-#@lists.example');
    assert.equal(stableSender('prvs=1234abcd=user@example.org'), 'user@example.org');
    assert.equal(stableSender('user+tag@example.org'), 'user@example.org');
  });

  it('groups clients by /24 and /64', () => {
    assert.deepEqual(tripletKey('192.0.2.77', 'a@x.org', 'B@Example.com', 24, 64), { group: '192.0.2.0/24', id: 'a@x.org|b@example.com' });
    assert.equal(tripletKey('2001:db8:1:2:3:4:5:6', 'a@x.org', 'b@example.com', 24, 64).group, '2001:db8:1:2:0:0:0:0/64');
    assert.equal(tripletKey('192.0.2.77', '', 'b@example.com', 32, 64).group, '192.0.2.77/32');
  });

  it('recognises the retry of the same message and nothing else', async () => {
    const a = messageKey('s@x.org', ['b@example.com', 'a@example.com'], await message({ 'Message-ID': '<1@x>', Date: 'Mon' }, 'body'));
    const sameRetried = messageKey('s@x.org', ['a@example.com', 'b@example.com'], await message({ 'Message-ID': '<1@x>', Date: 'Tue' }, 'body'));
    const other = messageKey('s@x.org', ['a@example.com', 'b@example.com'], await message({ 'Message-ID': '<2@x>' }, 'body'));
    assert.deepEqual(a, sameRetried);
    assert.notEqual(a.group, other.group);
    const noId = async (body: string) => messageKey('s@x.org', ['a@example.com'], await message({ Subject: 'x' }, body)).group;
    assert.equal(await noId('hello'), await noId('hello'));
    assert.notEqual(await noId('hello'), await noId('other'));
    assert.match(a.group, /^msg:[0-9a-f]{24}$/);
    assert.equal(a.id, 's@x.org|a@example.com,+1');
  });

  it('rejects a retry window that ends before the delay', () => {
    const r = policySchema.safeParse({ greylist: { delay: 600, retry_window: 300 } });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /retry_window \(300\) must be longer than greylist.delay \(600\)/);
  });
});

describe('RCPT greylisting check', () => {
  const check = greylistCheck.create({ store: new SqliteStore(), log: silentLogger(), metrics: null })[0]!;

  it('defers a new triplet with 451 4.7.1 and exempts allow-listed, trusted and exempt networks', async () => {
    const store = new SqliteStore();
    const tx = context(store, { greylist: { enabled: true } });
    tx.currentRcpt = 'user@example.com';
    const out = await check.run(tx);
    assert.deepEqual(out.force?.reply, { code: 451, enhanced: '4.7.1', text: 'Greylisted, please try again in 300 seconds' });
    tx.allowlisted = true;
    assert.equal((await check.run(tx)).force, undefined);
    const trusted = context(store, {}, '192.0.2.11');
    trusted.trusted = true;
    trusted.currentRcpt = 'other@example.com';
    assert.equal((await check.run(trusted)).force, undefined);
    const exempt = context(store, { lists: { greylist_exempt_ips: ['198.51.100.0/24'] } }, '198.51.100.9');
    exempt.currentRcpt = 'user@example.com';
    assert.equal((await check.run(exempt)).force, undefined);
    assert.equal((await store.greylistList('', 10)).length, 1, 'exempt transactions write nothing');
  });
});

/** The postfilter phase with the greylist checks, as the Session runs it after the verdict. */
const postfilter = new Pipeline(greylistCheck.create({ store: new SqliteStore(), log: silentLogger(), metrics: null }));
const settleGreylist = (v: Verdict, tx: TransactionContext): Promise<Verdict> => settleVerdict(postfilter, tx, v);

describe('score-band greylisting', () => {
  const band = { actions: { greylist: 10, reject: 15, add_header: 6 }, symbols: { ALLOWLIST_IP: { score: 12 } }, greylist: { delay: 0 } };

  async function bandVerdict(tx: TransactionContext) {
    tx.message = await message({ 'Message-ID': '<m1@x>' }, 'body');
    tx.hits.push({ name: 'ALLOWLIST_IP', check: 'access_ip' });
    return decide(tx.hits, tx.forced, tx.policy);
  }

  it('defers the first attempt and lets the retry through with its headers', async () => {
    const store = new SqliteStore();
    const tx = context(store, band);
    const v = await bandVerdict(tx);
    assert.equal(v.action, 'greylist');
    const first = await settleGreylist(v, tx);
    assert.equal(first.action, 'greylist');
    assert.deepEqual(first.reply, { code: 451, enhanced: '4.7.1', text: 'Greylisted, please try again in 0 seconds' });
    const again = context(store, band);
    const retry = await settleGreylist(await bandVerdict(again), again);
    assert.equal(retry.action, 'add_header');
    assert.equal(retry.reply, null);
    assert.equal(retry.score, 12);
  });

  it('leaves other verdicts alone', async () => {
    const store = new SqliteStore();
    const tx = context(store, band);
    const accepted = decide([], [], tx.policy);
    assert.equal(await settleGreylist(accepted, tx), accepted);
    assert.equal((await store.greylistList('', 10)).length, 0);
  });

  it('follows on_error when the store fails', async () => {
    const broken = new SqliteStore();
    broken.greylistCheck = () => Promise.reject(new Error('store down'));
    const skip = context(broken, band);
    assert.equal((await settleGreylist(await bandVerdict(skip), skip)).action, 'add_header');
    const tempfail = context(broken, { ...band, greylist: { delay: 0, on_error: 'tempfail' } });
    const v = await settleGreylist(await bandVerdict(tempfail), tempfail);
    assert.deepEqual(v.reply, { code: 451, enhanced: '4.3.0', text: 'Policy check temporarily unavailable, try again later' });
  });
});

describe('score-band greylisting in dry-run', () => {
  it('stamps what it would have done and defers nothing', async () => {
    const store = new SqliteStore();
    const tx = context(store, { actions: { greylist: 10, reject: 15, add_header: 6 }, symbols: { ALLOWLIST_IP: { score: 12 } }, greylist: { dry_run: true } });
    tx.message = await message({ 'Message-ID': '<d@x>' }, 'body');
    tx.hits.push({ name: 'ALLOWLIST_IP', check: 'access_ip' });
    const v = await settleGreylist(decide(tx.hits, tx.forced, tx.policy), tx);
    assert.equal(v.action, 'add_header');
    assert.equal(v.wouldBe, 'greylist');
    assert.equal(v.dryRun, true);
    assert.equal(v.reply, null);
    // Like every check in dry-run it runs for real and only loses its say: the message is
    // remembered, so turning dry-run off does not defer a message already seen.
    assert.equal((await store.greylistList('', 10)).length, 1);
  });
});
