import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fuzzySignature, similarity, SHINGLES } from '../../src/checks/fuzzy/shingles.js';
import { fuzzyLearn } from '../../src/checks/fuzzy/learn.js';
import { Scanner, testPolicy, message } from './helpers.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { freePort } from '../helpers/ports.js';
import { rspamc } from '../helpers/rspamc.js';
import { cli } from '../policy/helpers.js';

/**
 * Fuzzy signatures: a spam run whose copies differ in greeting, name and tracking link is
 * matched after one copy is learned; unrelated text is not. Learned through the store, the
 * real `rspamc fuzzy_add` / `fuzzy_del`, and `borderpatrol fuzzy add`.
 */

const OFFER = `We are pleased to inform you that your account has been selected for our exclusive
investment programme. Our analysts have identified a rare opportunity in emerging markets
that has returned more than forty percent to our members over the last quarter. To secure
your place you only need to confirm your details and transfer the minimum deposit before
the end of the week. Places are strictly limited and will be allocated on a first come,
first served basis. Do not miss this chance to grow your savings with the help of our
experienced team of advisers.`;

/** One copy of the spam run: its own greeting, signature name and tracking link. */
function copy(n: number, name: string): string {
  return `Dear ${name},\r\n\r\n${OFFER.replace(/\n/g, '\r\n')}\r\n\r\nhttp://invest.example.net/r?id=${n}x${n * 7919}\r\n\r\nKind regards,\r\nMr ${name === 'Anna' ? 'Brown' : 'Smith'}`;
}

const UNRELATED = `The committee meeting moved to Thursday afternoon because the projector in the large
room is broken again. Please bring the printed agenda, the minutes of the last meeting and
your comments on the draft budget, which the treasurer circulated on Monday. We will also
discuss the summer outing and who volunteers to book the coach and the restaurant.`;

test('copies of one text agree on most min-hashes, unrelated texts on almost none', () => {
  const a = fuzzySignature(copy(1, 'Anna'), 20);
  const b = fuzzySignature(copy(2, 'Peter'), 20);
  const c = fuzzySignature(UNRELATED, 20);
  assert.ok(a && b && c);
  assert.equal(a.shingles.length, SHINGLES);
  assert.ok(similarity(a.shingles, b.shingles) >= 0.7, `copies: ${similarity(a.shingles, b.shingles)}`);
  assert.ok(similarity(a.shingles, c.shingles) <= 0.1, `unrelated: ${similarity(a.shingles, c.shingles)}`);
  assert.notEqual(a.digest, b.digest);
  assert.equal(fuzzySignature(copy(1, 'Anna'), 20)?.digest, a.digest, 'the same text, the same digest');
  assert.equal(fuzzySignature('too short to sign', 20), null);
});

describe('fuzzy check through the scan path', () => {
  let scanner: Scanner;
  before(async () => {
    scanner = new Scanner(await testPolicy());
  });
  const limits = async () => (await testPolicy()).policy;

  test('a learned spam matches its copies (FUZZY_DENIED), a learned ham scores FUZZY_WHITE, a delete forgets', async () => {
    const policy = await limits();
    // Nothing learned: no lookup at all (and no signature computed for it).
    const find = scanner.store.fuzzyFind;
    let lookups = 0;
    scanner.store.fuzzyFind = (...a) => {
      lookups++;
      return find(...a);
    };
    assert.ok(!('FUZZY_DENIED' in (await scanner.scan(message({ body: copy(2, 'Peter') }))).symbols));
    assert.equal(lookups, 0, 'no lookup with no signature stored');
    const learn = (text: string, op: 'add' | 'del', flag: number) =>
      fuzzyLearn(scanner.store, Buffer.from(message({ body: text })), { op, flag, weight: 1, parse: policy.limits, minWords: policy.fuzzy.min_words });
    assert.equal((await learn(copy(1, 'Anna'), 'add', 1)).result, 'added');
    const hit = await scanner.scan(message({ body: copy(2, 'Peter'), headers: ['Subject: Your account'] }));
    assert.equal(lookups, 1, 'looked up once a signature is stored');
    assert.ok('FUZZY_DENIED' in hit.symbols, Object.keys(hit.symbols).join(' '));
    assert.ok((hit.symbols.FUZZY_DENIED ?? 0) >= 7, `score ${hit.symbols.FUZZY_DENIED}: weight 10 times the agreement`);
    assert.ok(!('FUZZY_DENIED' in (await scanner.scan(message({ body: UNRELATED }))).symbols));

    assert.equal((await learn(UNRELATED, 'add', 3)).result, 'added');
    assert.ok('FUZZY_WHITE' in (await scanner.scan(message({ body: UNRELATED.replace('Thursday', 'Friday') }))).symbols);

    assert.equal((await learn(copy(1, 'Anna'), 'del', 1)).result, 'deleted');
    assert.equal((await learn(copy(1, 'Anna'), 'del', 1)).result, 'not_found');
    assert.ok(!('FUZZY_DENIED' in (await scanner.scan(message({ body: copy(3, 'Maria') }))).symbols));
    assert.equal((await learn('hello there', 'add', 1)).result, 'too_short');
  });
});

describe('fuzzy signatures learned with the real rspamc and the CLI', () => {
  const PASSWORD = 'fuzzy-secret';
  let work: string;
  let server: TestServer;

  before(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-fuzzy-'));
    server = await startBorderpatrol({ relayPort: await freePort(), set: { 'admin.password': PASSWORD, 'store.data_dir': path.join(work, 'data') } });
  });
  after(async () => {
    await server?.stop();
    await fs.rm(work, { recursive: true, force: true });
  });

  async function file(name: string, body: string): Promise<string> {
    const p = path.join(work, name);
    await fs.writeFile(p, message({ body, headers: ['Subject: Your account'] }).replace(/\r\n/g, '\n'));
    return p;
  }

  test('rspamc fuzzy_add, then a near-duplicate scanned with rspamc symbols scores FUZZY_DENIED; fuzzy_del forgets it', async () => {
    const learned = await file('learned.eml', copy(1, 'Anna'));
    const near = await file('near.eml', copy(2, 'Peter'));
    let r = await rspamc(server.adminPort, ['-P', PASSWORD, 'fuzzy_add', '-f', '1', '-w', '10', learned]);
    assert.equal(r.code, 0, r.out);
    r = await rspamc(server.adminPort, ['-P', PASSWORD, 'symbols', near]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /FUZZY_DENIED/);
    r = await rspamc(server.adminPort, ['-P', PASSWORD, 'fuzzy_del', '-f', '1', learned]);
    assert.equal(r.code, 0, r.out);
    r = await rspamc(server.adminPort, ['-P', PASSWORD, 'symbols', near]);
    assert.doesNotMatch(r.out, /FUZZY_DENIED/);
    // Without the password nothing is learned.
    r = await rspamc(server.adminPort, ['fuzzy_add', '-f', '1', learned]);
    r = await rspamc(server.adminPort, ['-P', PASSWORD, 'symbols', near]);
    assert.doesNotMatch(r.out, /FUZZY_DENIED/);
  });

  test('POST /fuzzyadd refuses an unknown flag with 400', async () => {
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/fuzzyadd`, { method: 'POST', headers: { Password: PASSWORD, Flag: '9' }, body: message({ body: copy(5, 'Eve') }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /flag 9: expected 1 \(FUZZY_DENIED\)/);
  });

  test('borderpatrol fuzzy add into a data dir, then scan finds the copy', async () => {
    const dataDir = path.join(work, 'cli-data');
    const learned = await file('cli-learned.eml', copy(11, 'Anna'));
    const near = await file('cli-near.eml', copy(12, 'Peter'));
    const add = await cli(['fuzzy', 'add', '--flag', '1', learned, '--data-dir', dataDir]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stderr, /fuzzy add: 1 added/);
    const scan = await cli(['scan', '--json', '--ip', '192.0.2.10', '--helo', 'mail.sender.example', '--from', 'x@sender.example', '--rcpt', 'user@example.com', near, '--data-dir', dataDir]);
    assert.equal(scan.code, 0, scan.stderr);
    assert.match(scan.stdout, /FUZZY_DENIED/);
    const bad = await cli(['fuzzy', 'add', '--flag', '7', learned, '--data-dir', dataDir]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--flag 7: expected 1/);
  });
});
