import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Scanner, testPolicy, message } from './helpers.js';

// Offline (no DNS server given): these tests are about headers only.
let scanner: Scanner;
before(async () => {
  scanner = new Scanner(await testPolicy());
});

const HEADER_SYMBOLS = /^(HELO_|MISSING_|DUPLICATE_|INVALID_|DATE_|FROM_|RCVD_)/;

function headerSymbols(symbols: Record<string, number>): string[] {
  return Object.keys(symbols)
    .filter((s) => HEADER_SYMBOLS.test(s))
    .sort();
}

test('a complete message from a well-named client scores no header symbol', async () => {
  const r = await scanner.scan(message(), { helo: 'mail.sender.test', from: 'alice@sender.test' });
  assert.deepEqual(headerSymbols(r.symbols), []);
});

test('missing Message-ID, Date, From, To and Subject each have their symbol', async () => {
  const r = await scanner.scan(message({ omit: ['message-id', 'date', 'from', 'to', 'subject'] }));
  assert.deepEqual(headerSymbols(r.symbols), ['MISSING_DATE', 'MISSING_FROM', 'MISSING_MESSAGE_ID', 'MISSING_SUBJECT', 'MISSING_TO']);
  assert.ok((r.symbols.MISSING_FROM ?? 0) > 0, 'scored from symbols.yaml');
});

test('duplicated fields and a malformed Message-ID', async () => {
  const raw = message({ headers: ['Message-ID: no-brackets-here', 'From: Mallory <m@sender.test>', 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'Subject: again'] }).replace(
    'From: Mallory',
    'From: Alice <alice@sender.test>\r\nFrom: Mallory',
  );
  const withDupes = raw.replace('Message-ID: no-brackets-here', 'Message-ID: no-brackets-here\r\nMessage-ID: <a@b.test>').replace('Subject: again', 'Subject: again\r\nSubject: twice');
  const r = await scanner.scan(withDupes);
  for (const s of ['DUPLICATE_FROM', 'DUPLICATE_MESSAGE_ID', 'DUPLICATE_SUBJECT', 'INVALID_MESSAGE_ID']) assert.ok(s in r.symbols, `${s} in ${Object.keys(r.symbols)}`);
  assert.ok(!('DUPLICATE_DATE' in r.symbols));
});

test('dates: unreadable, in the future, in the past — judged against the Received hops', async () => {
  const hour = 3_600_000;
  const fmt = (t: number) => new Date(t).toUTCString().replace('GMT', '+0000');
  const bad = await scanner.scan(message({ headers: ['Date: the day after tomorrow'] }));
  assert.ok('INVALID_DATE' in bad.symbols);
  const future = await scanner.scan(message({ headers: [`Date: ${fmt(Date.now() + 5 * hour)}`] }));
  assert.ok('DATE_IN_FUTURE' in future.symbols);
  const past = await scanner.scan(message({ headers: [`Received: from a.sender.test by relay.sender.test; ${fmt(Date.now())}`, `Date: ${fmt(Date.now() - 72 * hour)}`] }));
  assert.ok('DATE_IN_PAST' in past.symbols);
  // Without Received fields, nothing tells when an old message travelled: not judged as old.
  assert.ok(!('DATE_IN_PAST' in (await scanner.scan(message({ headers: [`Date: ${fmt(Date.now() - 72 * hour)}`] }))).symbols));
  // A message from 2003 whose hops handled it in 2003, fetched days later, is judged as of 2003.
  const archived = await scanner.scan(
    message({
      headers: [
        'Received: from pop.sender.test by localhost with fetchmail; Sat, 8 Mar 2003 10:00:00 +0000',
        'Received: from a.sender.test by mx.example.com; Tue, 4 Mar 2003 10:05:00 +0000',
        'Date: Tue, 4 Mar 2003 10:00:00 +0000',
      ],
    }),
  );
  assert.ok(!('DATE_IN_PAST' in archived.symbols) && !('DATE_IN_FUTURE' in archived.symbols), JSON.stringify(archived.symbols));
});

test('HELO: address literal of another host, bare IP, no dot, our own name', async () => {
  const cases: Array<[string, string, string[]]> = [
    ['[127.0.0.9]', '127.0.0.2', ['HELO_IP_MISMATCH']],
    ['[127.0.0.2]', '127.0.0.2', []],
    ['127.0.0.2', '127.0.0.2', ['HELO_BARE_IP']],
    ['127.0.0.3', '127.0.0.2', ['HELO_BARE_IP', 'HELO_IP_MISMATCH']],
    ['WIN-7QK2', '127.0.0.2', ['HELO_NOT_FQDN']],
    ['mx.example.com', '127.0.0.2', ['HELO_OWN_NAME']],
    ['example.com', '127.0.0.2', ['HELO_OWN_NAME']],
    ['bad_name!.test', '127.0.0.2', ['HELO_INVALID']],
    ['mail.sender.test', '127.0.0.2', []],
  ];
  for (const [helo, ip, expected] of cases) {
    const r = await scanner.scan(message(), { helo, ip });
    const got = Object.keys(r.symbols).filter((s) => s.startsWith('HELO_')).sort();
    assert.deepEqual(got, expected, `HELO ${helo} from ${ip}`);
  }
});

test('HELO checks run at the helo phase, so a refusal before DATA still knows them', async () => {
  const r = await scanner.scan(message(), { helo: '[127.0.0.9]', ip: '127.0.0.2' });
  assert.ok('HELO_IP_MISMATCH' in r.symbols);
  assert.match(r.details.HELO_IP_MISMATCH ?? '', /127\.0\.0\.2/);
});

test('trusted clients skip the HELO and sender checks', async () => {
  const trusted = new Scanner(await testPolicy({ set: { 'smtp.trusted_networks': '127.0.0.0/8' } }));
  const r = await trusted.scan(message({ headers: ['From: "Example Support" <help@elsewhere.test>'] }), { helo: 'nodot', from: 'x@other.test' });
  assert.deepEqual(
    Object.keys(r.symbols).filter((s) => s.startsWith('HELO_') || s.startsWith('FROM_')),
    [],
  );
});

test('From display names that impersonate our domain, or carry another address', async () => {
  const spoof = await scanner.scan(message({ headers: ['From: "Example.com IT Helpdesk" <it@helpdesk.test>'] }), { from: 'it@helpdesk.test' });
  assert.ok('FROM_DISPLAY_SPOOF_LOCAL' in spoof.symbols);
  const addr = await scanner.scan(message({ headers: ['From: "ceo@bigbank.test" <x@helpdesk.test>'] }), { from: 'x@helpdesk.test' });
  assert.ok('FROM_DISPLAY_ADDR_MISMATCH' in addr.symbols);
  // The same address in the display name is not a mismatch; our own users are not spoofing.
  const same = await scanner.scan(message({ headers: ['From: "alice@sender.test" <alice@sender.test>'] }));
  assert.ok(!('FROM_DISPLAY_ADDR_MISMATCH' in same.symbols));
  const own = await scanner.scan(message({ headers: ['From: "Example.com staff" <staff@example.com>'] }), { from: 'staff@example.com' });
  assert.ok(!('FROM_DISPLAY_SPOOF_LOCAL' in own.symbols));
  // An encoded display name is decoded before it is judged, and never taken for the address.
  const encoded = await scanner.scan(message({ headers: ['From: =?utf-8?Q?example=2Ecom_Support?= <x@helpdesk.test>'] }), { from: 'x@helpdesk.test' });
  assert.ok('FROM_DISPLAY_SPOOF_LOCAL' in encoded.symbols);
});

test('envelope sender in another organisation than From; subdomains are the same organisation', async () => {
  const other = await scanner.scan(message(), { from: 'bounce@mailer.test' });
  assert.ok('FROM_ENVFROM_MISMATCH' in other.symbols);
  const sub = await scanner.scan(message(), { from: 'bounces@mail.sender.test' });
  assert.ok(!('FROM_ENVFROM_MISMATCH' in sub.symbols));
  const nul = await scanner.scan(message(), { from: '' });
  assert.ok(!('FROM_ENVFROM_MISMATCH' in nul.symbols), 'the null sender has no domain to compare');
});

test('Received chains: bad syntax, time travel, a forged pass through us, too many hops', async () => {
  const rcvd = (by: string, date: string) => `Received: from x.sender.test ([127.0.0.2]) by ${by}; ${date}`;
  const bad = await scanner.scan(message({ headers: ['Received: from a by b.test with SMTP id 1', 'Received: from c ([300.1.2.3]) by d.test; Tue, 4 Mar 2003 10:00:00 +0000'] }));
  assert.ok('RCVD_BAD_SYNTAX' in bad.symbols);
  const travel = await scanner.scan(
    message({ headers: [rcvd('relay2.sender.test', 'Tue, 4 Mar 2003 10:00:00 +0000'), rcvd('relay1.sender.test', 'Sat, 8 Mar 2003 10:00:00 +0000')] }),
  );
  assert.ok('RCVD_TIME_TRAVEL' in travel.symbols);
  const forged = await scanner.scan(
    message({ headers: [rcvd('relay.sender.test', 'Tue, 4 Mar 2003 10:00:00 +0000'), rcvd('mx.example.com', 'Tue, 4 Mar 2003 09:59:00 +0000')] }),
  );
  assert.ok('RCVD_FORGED_OURS' in forged.symbols);
  // Rescanning mail that really passed us: our hop on top, local delivery above it.
  const genuine = await scanner.scan(
    message({
      headers: [
        'Received: (qmail 4242 invoked by uid 89); Tue, 4 Mar 2003 10:01:00 +0000',
        'Received: from localhost by localhost with fetchmail; Tue, 4 Mar 2003 10:01:00 +0000',
        rcvd('mx.example.com', 'Tue, 4 Mar 2003 10:00:30 +0000'),
        rcvd('relay.sender.test', 'Tue, 4 Mar 2003 10:00:00 +0000'),
      ],
    }),
  );
  assert.ok(!('RCVD_FORGED_OURS' in genuine.symbols) && !('RCVD_BAD_SYNTAX' in genuine.symbols), JSON.stringify(genuine.symbols));
  const many = Array.from({ length: 30 }, (_, i) => rcvd(`hop${i}.sender.test`, 'Tue, 4 Mar 2003 10:00:00 +0000'));
  assert.ok('RCVD_TOO_MANY' in (await scanner.scan(message({ headers: many }))).symbols);
});

test('the headers section can be turned off', async () => {
  const off = new Scanner(await testPolicy({ files: { 'checks/headers.yaml': 'enabled: false\n' } }));
  const r = await off.scan(message({ omit: ['message-id', 'date'] }), { helo: 'nodot' });
  assert.deepEqual(headerSymbols(r.symbols), []);
});
