/**
 * Parser and check timings: milliseconds per message for the MIME parse and for each of
 * the header, content-rule, DNS blocklist and SPF/DKIM/DMARC checks, on a typical 10 KB
 * message and on a 1 MB one (text, HTML and a PDF attachment), with the shipped policy.
 * DNS is answered by a loopback server (every name NXDOMAIN, the signing key for DKIM),
 * so DNS-using checks take their real path without the network; "warm" runs hit the
 * DNS cache as repeated senders do. The fuzzy check is timed with no signature stored and
 * with 1000 stored (none matching), in CPU time.
 *
 *   npm run bench:checks -- [--runs N]
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dkimSign } from 'mailauth';
import { loadPolicy } from '../src/policy/load.js';
import { createChecks } from '../src/checks/registry.js';
import type { Check } from '../src/pipeline/check.js';
import { newTransaction } from '../src/pipeline/transaction.js';
import { parseMessage } from '../src/mail/parse.js';
import { SqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { silentLogger } from '../src/observability/logger.js';
import { TestDnsServer } from '../test/helpers/dns-server.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' } } });
const runs = Math.max(1, Number(values.runs));
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

const PARA = 'We would like to invite you to the quarterly review of the project, where the team presents results, open questions and the plan for the next months. ';

async function buildMessage(size: number): Promise<Buffer> {
  const text = PARA.repeat(Math.max(1, Math.floor(Math.min(size, 60_000) / 2 / PARA.length)));
  const html = `<html><body><p>${text.replace(/\. /g, '.</p><p>')}</p><p><a href="https://www.news.test/a">read</a> <a href="https://cdn.images.test/b">more</a></p></body></html>`;
  const attach = size > 100_000 ? crypto.randomBytes(Math.floor((size - 2 * text.length) * 0.74)).toString('base64').replace(/.{76}/g, '$&\r\n') : '';
  const lines = [
    'Received: from mail.sender.test (mail.sender.test [192.0.2.10]) by relay.sender.test; Tue, 12 Mar 2024 09:14:03 +0100',
    'From: Alice Martin <alice@sender.test>',
    'To: Bob <bob@example.com>',
    'Subject: Quarterly review',
    'Date: Tue, 12 Mar 2024 09:13:58 +0100',
    'Message-ID: <bench.1@sender.test>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="mix"',
    '',
    '--mix',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    html,
    '--alt--',
  ];
  if (attach) lines.push('--mix', 'Content-Type: application/pdf; name="review.pdf"', 'Content-Disposition: attachment; filename="review.pdf"', 'Content-Transfer-Encoding: base64', '', attach);
  lines.push('--mix--', '');
  const raw = lines.join('\r\n');
  // mailauth's typings require top-level key fields, but dkimSign signs what signatureData lists (its README's form).
  const options = { signatureData: [{ signingDomain: 'sender.test', selector: 'bench', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }] } as unknown as Parameters<typeof dkimSign>[1];
  const signed = await dkimSign(raw, options);
  return Buffer.from(signed.signatures + raw);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function stat(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `${mean.toFixed(3).padStart(8)} ms mean  ${percentile(s, 0.5).toFixed(3).padStart(8)} p50  ${percentile(s, 0.99).toFixed(3).padStart(8)} p99`;
}

/** The fuzzy check on the 10 KB message, in CPU milliseconds: with nothing learned, then with 1000 signatures learned. */
async function benchFuzzy(policy: Awaited<ReturnType<typeof loadPolicy>>['compiled'], store: SqliteStore): Promise<void> {
  const fuzzy = createChecks({ store, log: silentLogger(), metrics: null }).find((c) => c.name === 'fuzzy');
  if (!fuzzy) return;
  const raw = await buildMessage(10_000);
  const ctx = newTransaction({ connectionId: 'bench', client: { ip: '192.0.2.10', port: 0, rdns: '', helo: 'mail.sender.test', tls: false, proto: 'ESMTP', source: 'socket' }, policy, store, log: silentLogger() });
  ctx.message = await parseMessage(raw, policy.policy.limits);
  ctx.message.visibleText();
  const time = async (label: string) => {
    for (let i = 0; i < 20; i++) await fuzzy.run(ctx);
    const start = process.cpuUsage();
    for (let i = 0; i < runs; i++) await fuzzy.run(ctx);
    const used = process.cpuUsage(start);
    console.log(`  fuzzy ${label.padEnd(24)} ${((used.user + used.system) / 1000 / runs).toFixed(3).padStart(8)} ms CPU per message`);
  };
  console.log(`\nfuzzy check, 10 KB message, ${runs} runs`);
  await time('(nothing learned)');
  for (let i = 0; i < 1000; i++) await store.fuzzyAdd(`bench-${i}`, Array.from({ length: 32 }, () => crypto.randomInt(2 ** 32)), 1, 1);
  await time('(1000 learned)');
}

const dns = await TestDnsServer.start({
  'bench._domainkey.sender.test': { TXT: [`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`] },
  'sender.test': { TXT: ['v=spf1 ip4:192.0.2.10 -all'] },
  '_dmarc.sender.test': { TXT: ['v=DMARC1; p=reject'] },
});
try {
  const overrides = Object.entries({ 'dns.servers': dns.server, local_domains: 'example.com', 'smtp.trusted_networks': '', 'greylist.enabled': 'false' }).map(([key, value]) => ({ key, value }));
  const { compiled: policy } = await loadPolicy(path.join(repo, 'policies'), { overrides });
  const store = new SqliteStore();
  const mine = new Set(['headers_helo', 'headers', 'content', 'dnsbl', 'auth']);
  const checks = createChecks({ store, log: silentLogger(), metrics: null }).filter((c) => mine.has(c.name));
  for (const [label, size] of [
    ['10 KB', 10_000],
    ['1 MB', 1_000_000],
  ] as const) {
    const raw = await buildMessage(size);
    const parse: number[] = [];
    const perCheck = new Map<string, number[]>(checks.map((c) => [c.name, []]));
    const all: number[] = [];
    let cold: Record<string, number> | null = null;
    for (let i = 0; i < runs; i++) {
      const ctx = newTransaction({ connectionId: 'bench', client: { ip: '192.0.2.10', port: 0, rdns: '', helo: 'mail.sender.test', tls: false, proto: 'ESMTP', source: 'socket' }, policy, store, log: silentLogger() });
      ctx.envelope.from = 'alice@sender.test';
      ctx.envelope.rcpts.push('bob@example.com');
      let t = performance.now();
      ctx.message = await parseMessage(raw, policy.policy.limits);
      parse.push(performance.now() - t);
      const first: Record<string, number> = {};
      const allStart = performance.now();
      for (const c of checks as Check[]) {
        t = performance.now();
        await c.run(ctx);
        const ms = performance.now() - t;
        perCheck.get(c.name)?.push(ms);
        first[c.name] = ms;
      }
      all.push(performance.now() - allStart);
      if (i === 0) cold = first;
    }
    console.log(`\n${label} message (${raw.length} bytes), ${runs} runs, checks: ${checks.map((c) => c.name).join(", ")}`);
    console.log(`  parse         ${stat(parse)}`);
    for (const [name, samples] of perCheck) console.log(`  ${name.padEnd(13)} ${stat(samples.slice(1))}   first (cold DNS) ${(cold?.[name] ?? 0).toFixed(2)} ms`);
    console.log(`  all checks    ${stat(all.slice(1))}`);
  }
  await benchFuzzy(policy, store);
} finally {
  await dns.close();
}
