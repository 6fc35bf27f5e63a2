import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { authenticate, dkimSign, type DNSResolver } from 'mailauth';
import { authservIdOf } from '../../src/mail/header-block.js';
import { authInput } from '../../src/checks/auth/index.js';
import { Scanner, testPolicy, message } from './helpers.js';
import { TestDnsServer } from '../helpers/dns-server.js';

/** The key is made for this run; nothing secret is stored in the repository. */
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_B64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

let dns: TestDnsServer;
let scanner: Scanner;
before(async () => {
  dns = await TestDnsServer.start({
    'sender.test': { TXT: ['v=spf1 ip4:127.0.0.2 -all'] },
    '_dmarc.sender.test': { TXT: ['v=DMARC1; p=reject'] },
    'soft.test': { TXT: ['v=spf1 ip4:127.0.0.2 ~all'] },
    '_dmarc.soft.test': { TXT: ['v=DMARC1; p=quarantine'] },
    'nospf.test': { A: ['127.0.0.2'] },
    'signed.test': { A: ['127.0.0.2'] },
    's1._domainkey.signed.test': { TXT: [`v=DKIM1; k=rsa; p=${PUBLIC_B64}`] },
    '_dmarc.signed.test': { TXT: ['v=DMARC1; p=reject'] },
    'dnsdown.test': { drop: true },
  });
  scanner = new Scanner(await testPolicy({ dns: dns.server }));
});
after(() => dns.close());

function authSymbols(symbols: Record<string, number>): string[] {
  return Object.keys(symbols)
    .filter((s) => /^(SPF|DKIM|DMARC|ARC)_/.test(s))
    .sort();
}

async function signed(raw: string): Promise<string> {
  // mailauth's typings require top-level key fields, but dkimSign signs what signatureData lists (its README's form).
  const options = { signatureData: [{ signingDomain: 'signed.test', selector: 's1', privateKey: PRIVATE_PEM }] } as unknown as Parameters<typeof dkimSign>[1];
  const r = await dkimSign(raw, options);
  assert.deepEqual(r.errors, []);
  return r.signatures + raw;
}

test('SPF results: pass, fail, softfail, none', async () => {
  const from = (domain: string) => message({ headers: [`From: A <a@${domain}>`] });
  const cases: Array<[string, string, string]> = [
    ['sender.test', '127.0.0.2', 'SPF_PASS'],
    ['sender.test', '127.0.0.3', 'SPF_FAIL'],
    ['soft.test', '127.0.0.3', 'SPF_SOFTFAIL'],
    ['nospf.test', '127.0.0.3', 'SPF_NONE'],
  ];
  for (const [domain, ip, expected] of cases) {
    const r = await scanner.scan(from(domain), { ip, from: `a@${domain}`, helo: 'mail.sender.test' });
    assert.ok(expected in r.symbols, `${domain} from ${ip}: ${authSymbols(r.symbols)}`);
  }
});

test('DMARC: aligned SPF passes; a failure of a p=reject domain scores DMARC_REJECT_POLICY', async () => {
  const pass = await scanner.scan(message({ headers: ['From: A <a@sender.test>'] }), { ip: '127.0.0.2', from: 'bounce@sender.test' });
  assert.deepEqual(authSymbols(pass.symbols), ['DKIM_NONE', 'DMARC_PASS', 'SPF_PASS']);
  const fail = await scanner.scan(message({ headers: ['From: A <a@sender.test>'] }), { ip: '127.0.0.3', from: 'bounce@sender.test' });
  assert.deepEqual(authSymbols(fail.symbols), ['DKIM_NONE', 'DMARC_REJECT_POLICY', 'SPF_FAIL']);
  assert.equal(fail.verdict.forcedBy, null, 'only scored unless the policy says otherwise');
  const quarantine = await scanner.scan(message({ headers: ['From: A <a@soft.test>'] }), { ip: '127.0.0.3', from: 'a@soft.test' });
  assert.ok('DMARC_QUARANTINE_POLICY' in quarantine.symbols);
});

test('dmarc_reject_forces_reject refuses a p=reject failure with 550 5.7.1', async () => {
  const strict = new Scanner(await testPolicy({ dns: dns.server, set: { 'auth.dmarc_reject_forces_reject': 'true' } }));
  const r = await strict.scan(message({ headers: ['From: A <a@sender.test>'] }), { ip: '127.0.0.3', from: 'bounce@sender.test' });
  assert.equal(r.verdict.action, 'reject');
  assert.equal(r.verdict.forcedBy, 'auth');
  assert.equal(r.verdict.reply?.code, 550);
  assert.equal(r.verdict.reply?.enhanced, '5.7.1');
  assert.match(r.verdict.reply?.text ?? '', /DMARC policy .*sender\.test/);
  const passing = await strict.scan(message({ headers: ['From: A <a@sender.test>'] }), { ip: '127.0.0.2', from: 'bounce@sender.test' });
  assert.notEqual(passing.verdict.action, 'reject');
});

test('DKIM: a valid signature passes DMARC by alignment even without SPF', async () => {
  const raw = await signed(message({ headers: ['From: Shop <news@signed.test>'] }));
  const r = await scanner.scan(raw, { ip: '127.0.0.3', from: 'bounces@esp.test' });
  assert.deepEqual(authSymbols(r.symbols), ['DKIM_VALID', 'DMARC_PASS', 'SPF_NONE']);
  assert.match(r.details.DKIM_VALID ?? '', /signed\.test: pass/);
});

test('DKIM: a body changed after signing is invalid, and DMARC then fails', async () => {
  const raw = (await signed(message({ headers: ['From: Shop <news@signed.test>'], body: 'Your order has shipped.' }))).replace('Your order has shipped.', 'Your order was cancelled, pay here.');
  const r = await scanner.scan(raw, { ip: '127.0.0.3', from: 'bounces@esp.test' });
  assert.ok('DKIM_INVALID' in r.symbols, JSON.stringify(authSymbols(r.symbols)));
  assert.ok('DMARC_REJECT_POLICY' in r.symbols);
});

test('two From fields leave DMARC without a verdict (DMARC_BAD_FROM)', async () => {
  const raw = message({ headers: ['From: A <a@sender.test>'] }).replace('From: A <a@sender.test>', 'From: A <a@sender.test>\r\nFrom: B <b@soft.test>');
  const r = await scanner.scan(raw, { ip: '127.0.0.2', from: 'a@sender.test' });
  assert.ok('DMARC_BAD_FROM' in r.symbols, JSON.stringify(authSymbols(r.symbols)));
});

test('a DNS server that does not answer gives SPF_TEMPFAIL within the DNS timeout', async () => {
  const started = Date.now();
  const r = await scanner.scan(message({ headers: ['From: A <a@dnsdown.test>'] }), { ip: '127.0.0.2', from: 'a@dnsdown.test' });
  assert.ok('SPF_TEMPFAIL' in r.symbols, JSON.stringify(authSymbols(r.symbols)));
  assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
});

test('offline: no lookups and no authentication symbols', async () => {
  const offline = new Scanner(await testPolicy({ dns: dns.server, set: { offline: 'true' } }));
  const before = dns.queries.length;
  const r = await offline.scan(await signed(message({ headers: ['From: Shop <news@signed.test>'] })), { ip: '127.0.0.3', from: 'a@sender.test' });
  assert.deepEqual(authSymbols(r.symbols), []);
  assert.equal(dns.queries.length, before);
});

test('mail from trusted networks is not checked', async () => {
  const trusted = new Scanner(await testPolicy({ dns: dns.server, set: { 'smtp.trusted_networks': '127.0.0.3' } }));
  const r = await trusted.scan(message({ headers: ['From: A <a@sender.test>'] }), { ip: '127.0.0.3', from: 'a@sender.test' });
  assert.deepEqual(authSymbols(r.symbols), []);
});

test('a broken ARC chain scores ARC_FAIL', async () => {
  const raw = 'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=forwarder.test; s=arc; b=AAAA\r\n' + message({ headers: ['From: A <a@sender.test>'] });
  const r = await scanner.scan(raw, { ip: '127.0.0.2', from: 'a@sender.test' });
  assert.ok('ARC_FAIL' in r.symbols, JSON.stringify(authSymbols(r.symbols)));
  assert.ok('DMARC_PASS' in r.symbols, 'the rest of the verdict stands');
});

test('the authserv-id of an inbound Authentication-Results is read in linear time, past comments', () => {
  assert.equal(authservIdOf('Authentication-Results: mx.example.com; spf=pass'), 'mx.example.com');
  assert.equal(authservIdOf('Authentication-Results:\r\n (a comment) (another)  MX.Example.COM 1; none'), 'mx.example.com');
  assert.equal(authservIdOf('Authentication-Results: "mx.example.com"; none'), 'mx.example.com');
  const hostile = 'Authentication-Results: ' + '( '.repeat(200_000);
  const started = performance.now();
  assert.equal(authservIdOf(hostile), '');
  assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
});

test('mailauth reads the header block alone unless a DKIM or ARC field may need the body', () => {
  const unsigned = Buffer.from('From: a@sender.test\r\nSubject: hi\r\n\r\nbody\r\n.line\r\n');
  assert.equal(authInput(unsigned).toString(), 'From: a@sender.test\r\nSubject: hi\r\n\r\n');
  // Any case, anywhere in the header block (a value too): the whole message.
  for (const field of ['DKIM-Signature: v=1', 'dkim-signature : v=1', 'ARC-Seal: i=1', 'X-Note: see arc-seal']) {
    const raw = Buffer.from(`From: a@sender.test\r\n${field}\r\n\r\nbody\r\n`);
    assert.equal(authInput(raw), raw, field);
  }
  // Only the header block counts: the words in the body do not.
  assert.equal(authInput(Buffer.from('From: a@sender.test\r\n\r\nDKIM-Signature: v=1\r\n')).length, 'From: a@sender.test\r\n\r\n'.length);
});

test('an unsigned message gets the same authentication from its header block as from the whole message', async () => {
  const answers: Record<string, string[][]> = { 'sender.test': [['v=spf1 ip4:127.0.0.2 -all']], '_dmarc.sender.test': [['v=DMARC1; p=reject']] };
  const resolver: DNSResolver = async (name, rrtype) => {
    const found = rrtype === 'TXT' ? answers[name] : undefined;
    if (found) return found;
    throw Object.assign(new Error(`${rrtype} ${name}: ENOTFOUND`), { code: 'ENOTFOUND' });
  };
  for (const ip of ['127.0.0.2', '127.0.0.3']) {
    const raw = Buffer.from(message({ headers: ['From: A <a@sender.test>', 'Return-Path: <a@sender.test>'], body: 'Hello\r\n.dot\r\n\r\nmore\r\n' }));
    const options = { ip, helo: 'mail.sender.test', sender: 'a@sender.test', mta: 'mx.test', resolver, disableBimi: true };
    const cut = authInput(raw);
    assert.ok(cut.length < raw.length);
    assert.deepEqual(await authenticate(cut, { ...options }), await authenticate(raw, { ...options }));
  }
});

test("the server loads mailauth without its BIMI part (an HTTP client and X.509 parsers it never uses), and authentication works", async () => {
  // A process of its own: this file's own import of mailauth has loaded it whole here.
  const script = `
    import { createRequire } from 'node:module';
    const { authenticate } = await import(${JSON.stringify(new URL('../../src/checks/auth/mailauth.ts', import.meta.url).href)});
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    const resolver = async (name) => { if (name === 'sender.test') return [['v=spf1 ip4:127.0.0.2 -all']]; throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }); };
    const r = await authenticate(Buffer.from('From: a@sender.test\\r\\n\\r\\nHello\\r\\n'), { ip: '127.0.0.2', helo: 'h.sender.test', sender: 'a@sender.test', mta: 'mx.test', resolver, disableBimi: true });
    let bimi = '';
    try { (await import('mailauth')).default.bimi({}); } catch (err) { bimi = err.message; }
    console.log(JSON.stringify({ mailauth: loaded.filter((f) => f.includes('/mailauth/')).length, undici: loaded.filter((f) => f.includes('/undici/')).length, x509: loaded.filter((f) => f.includes('@peculiar')).length, spf: r.spf.status.result, bimi }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 });
  const seen = JSON.parse(stdout) as { mailauth: number; undici: number; x509: number; spf: string; bimi: string };
  assert.ok(seen.mailauth > 10, 'mailauth itself is loaded');
  assert.equal(seen.undici, 0, 'no undici');
  assert.equal(seen.x509, 0, 'no X.509 parsers');
  assert.equal(seen.spf, 'pass');
  assert.match(seen.bimi, /BIMI .* not loaded/);
});
