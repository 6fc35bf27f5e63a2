import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '../../src/policy/load.js';
import { Scanner } from './helpers.js';
import { TestDnsServer, type DnsTable } from '../helpers/dns-server.js';

/**
 * Golden cases (test/golden/*.eml, expectations in cases.json) scanned through the same
 * path as `borderpatrol scan`, with the shipped policies/ directory — so a change in the
 * checks or the shipped rules that alters a verdict shows up here.
 */

interface GoldenCase {
  file: string;
  client: { ip: string; helo: string; from: string };
  symbols: string[];
  absent: string[];
  action?: string;
  flagged?: boolean;
}

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const spec = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'cases.json'), 'utf8')) as { dns: DnsTable; cases: GoldenCase[] };
const POLICIES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');

let dns: TestDnsServer;
let scanner: Scanner;
before(async () => {
  dns = await TestDnsServer.start(spec.dns);
  const overrides = Object.entries({
    hostname: 'mx.example.com',
    local_domains: 'example.com',
    // The cases come from loopback addresses standing in for the Internet.
    'smtp.trusted_networks': '',
    'dnsbl.skip_private': 'false',
    'dns.servers': dns.server,
    'dns.timeout': '500',
    // Greylisting defers every first attempt; these cases are about scoring.
    'greylist.enabled': 'false',
  }).map(([key, value]) => ({ key, value }));
  scanner = new Scanner((await loadPolicy(POLICIES, { overrides })).compiled);
});
after(() => dns.close());

for (const c of spec.cases) {
  test(`golden: ${c.file}`, async () => {
    // Stored with LF line ends (as git keeps text); SMTP delivers CRLF.
    const raw = fs.readFileSync(path.join(GOLDEN, c.file), 'utf8').replace(/\r?\n/g, '\r\n');
    const r = await scanner.scan(raw, { ...c.client, rcpts: ['bob@example.com'] });
    const got = Object.keys(r.symbols).sort().join(' ');
    for (const s of c.symbols) assert.ok(s in r.symbols, `${c.file}: expected ${s}; got ${got}`);
    for (const s of c.absent) assert.ok(!(s in r.symbols), `${c.file}: did not expect ${s}; got ${got}`);
    if (c.action) assert.equal(r.verdict.action, c.action, `${c.file}: score ${r.verdict.score} (${got})`);
    if (c.flagged) assert.notEqual(r.verdict.action, 'accept', `${c.file}: score ${r.verdict.score} (${got})`);
  });
}

test('every .eml in test/golden has a case', () => {
  const files = fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.eml'));
  assert.deepEqual(files.sort(), spec.cases.map((c) => c.file).sort());
});
