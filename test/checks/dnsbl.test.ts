import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Scanner, testPolicy, message } from './helpers.js';
import { TestDnsServer } from '../helpers/dns-server.js';

let dns: TestDnsServer;
before(async () => {
  dns = await TestDnsServer.start({
    // 127.0.0.2 is listed twice in bl.test; 127.0.0.3 gets answers that are not listings.
    '2.0.0.127.bl.test': { A: ['127.0.0.2', '127.0.0.10'] },
    '3.0.0.127.bl.test': { A: ['10.1.2.3', '127.255.255.254'] },
    '4.0.0.127.bl.test': { A: ['127.0.0.99'] },
    'evil.test.uri.test': { A: ['127.0.0.10'] },
    'refused.test.uri.test': { A: ['127.0.0.1'] },
    'slow.test.uri.test': { drop: true },
    '2.0.0.127.zen.spamhaus.org': { A: ['127.0.0.4'] },
  });
});
after(() => dns.close());

const ZONES = `skip_private: false
ip_zones:
  - zone: bl.test
    symbol: TEST_RBL
    returncodes:
      127.0.0.2: TEST_RBL_SPAM
      127.0.0.10: TEST_RBL_DYNAMIC
domain_zones:
  - zone: uri.test
    symbol: TEST_URIBL
    ignore: [127.0.0.1]
    bits:
      2: TEST_URIBL_BLACK
      8: TEST_URIBL_RED
`;
const SYMBOLS = { TEST_RBL: 1, TEST_RBL_SPAM: 5, TEST_RBL_DYNAMIC: 2, TEST_URIBL: 1, TEST_URIBL_BLACK: 6, TEST_URIBL_RED: 3 };

async function scanner(extra = '', set: Record<string, string> = {}): Promise<Scanner> {
  return new Scanner(await testPolicy({ files: { 'checks/dnsbl.yaml': ZONES + extra }, symbols: SYMBOLS, dns: dns.server, set }));
}

function listed(symbols: Record<string, number>): string[] {
  return Object.keys(symbols)
    .filter((s) => s.startsWith('TEST_') || s.startsWith('RBL_'))
    .sort();
}

test('a listed client address scores the symbols of its return codes', async () => {
  const s = await scanner();
  const r = await s.scan(message(), { ip: '127.0.0.2' });
  assert.deepEqual(listed(r.symbols), ['TEST_RBL_DYNAMIC', 'TEST_RBL_SPAM']);
  assert.equal(r.symbols.TEST_RBL_SPAM, 5);
  assert.match(r.details.TEST_RBL_SPAM ?? '', /127\.0\.0\.2 in bl\.test/);
  assert.deepEqual(listed((await s.scan(message(), { ip: '127.0.0.5' })).symbols), [], 'not listed');
  assert.deepEqual(listed((await s.scan(message(), { ip: '127.0.0.3' })).symbols), [], 'answers outside 127/8 and refusals are not listings');
  assert.deepEqual(listed((await s.scan(message(), { ip: '127.0.0.4' })).symbols), ['TEST_RBL'], 'an unnamed code scores the zone symbol');
});

test('the shipped zones and codes work the same way', async () => {
  const s = new Scanner(await testPolicy({ dns: dns.server, set: { 'dnsbl.skip_private': 'false' } }));
  const r = await s.scan(message(), { ip: '127.0.0.2' });
  assert.ok('RBL_SPAMHAUS_XBL' in r.symbols, JSON.stringify(r.symbols));
  assert.ok((r.symbols.RBL_SPAMHAUS_XBL ?? 0) > 0);
});

test('URL domains are looked up by registered domain; bits pick the symbols; refusal codes are ignored', async () => {
  const s = await scanner();
  const before = dns.queries.length;
  const r = await s.scan(
    message({ body: 'see https://login.evil.test/x and http://refused.test/ and https://www.example.com/ours and http://192.0.2.1/ip' }),
    { ip: '127.0.0.5' },
  );
  assert.deepEqual(listed(r.symbols), ['TEST_URIBL_BLACK', 'TEST_URIBL_RED']);
  const asked = dns.queries.slice(before).map((q) => q.name);
  assert.ok(asked.includes('evil.test.uri.test'));
  assert.ok(!asked.some((n) => n.includes('login.evil')), 'the registered domain, not the host');
  assert.ok(!asked.some((n) => n.startsWith('example.com.uri')), 'our own domains are not looked up');
});

test('at most max_domains URL domains are looked up', async () => {
  const s = await scanner('max_domains: 3\n');
  const body = Array.from({ length: 10 }, (_, i) => `http://d${i}.many.test/`).join(' ');
  const before = dns.queries.length;
  await s.scan(message({ body: body.replace(/d(\d)\.many\.test/g, 'many$1.test') }), { ip: '127.0.0.5' });
  assert.equal(dns.queries.slice(before).filter((q) => q.name.endsWith('.uri.test')).length, 3);
});

test('answers are cached: the same client twice is one query', async () => {
  const s = await scanner();
  await s.scan(message(), { ip: '127.0.0.6' });
  await s.scan(message(), { ip: '127.0.0.6' });
  assert.equal(dns.count('6.0.0.127.bl.test'), 1);
});

test('private clients are skipped when skip_private is on', async () => {
  const s = await scanner('', { 'dnsbl.skip_private': 'true' });
  const r = await s.scan(message(), { ip: '127.0.0.2' });
  assert.deepEqual(listed(r.symbols), []);
});

test('offline: no lookups at all', async () => {
  const s = new Scanner(await testPolicy({ files: { 'checks/dnsbl.yaml': ZONES }, symbols: SYMBOLS, dns: dns.server, set: { offline: 'true' } }));
  const before = dns.queries.length;
  const r = await s.scan(message({ body: 'https://evil.test/' }), { ip: '127.0.0.2' });
  assert.deepEqual(listed(r.symbols), []);
  assert.equal(dns.queries.length, before, 'the DNS server was not asked anything');
});

test('when every lookup fails the check fails, and on_error decides', async () => {
  const onlyUri = `skip_private: true
domain_zones:
  - zone: uri.test
    symbol: TEST_URIBL
`;
  const tempfail = new Scanner(await testPolicy({ files: { 'checks/dnsbl.yaml': onlyUri + 'on_error: tempfail\n' }, symbols: { TEST_URIBL: 1 }, dns: dns.server }));
  const started = Date.now();
  const r = await tempfail.scan(message({ body: 'http://slow.test/' }), { ip: '127.0.0.2' });
  assert.ok(Date.now() - started < 3000, 'bounded by dns.timeout');
  assert.equal(r.verdict.reply?.code, 451);
  assert.equal(r.verdict.reply?.enhanced, '4.3.0');
  const skip = new Scanner(await testPolicy({ files: { 'checks/dnsbl.yaml': onlyUri }, symbols: { TEST_URIBL: 1 }, dns: dns.server }));
  const ok = await skip.scan(message({ body: 'http://slow.test/' }), { ip: '127.0.0.2' });
  assert.equal(ok.verdict.reply, null);
  assert.equal(ok.verdict.action, 'accept');
});

test('a zone symbol without a score is a load error', async () => {
  await assert.rejects(
    testPolicy({ files: { 'checks/dnsbl.yaml': 'ip_zones:\n  - zone: bl.test\n    symbol: NOT_SCORED\n' } }),
    /checks\/dnsbl\.yaml:3:13: symbol "NOT_SCORED" has no score in symbols.yaml/,
  );
});

test('clients in trusted networks are not looked up', async () => {
  const s = await scanner('', { 'smtp.trusted_networks': '127.0.0.2' });
  const before = dns.queries.length;
  const r = await s.scan(message(), { ip: '127.0.0.2' });
  assert.deepEqual(listed(r.symbols), []);
  assert.equal(dns.queries.slice(before).filter((q) => q.name.endsWith('.bl.test')).length, 0);
});
