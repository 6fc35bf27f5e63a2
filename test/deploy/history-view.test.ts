import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { send, waitForHistory } from './helpers.js';

const PASSWORD = 'view-secret';

/**
 * The little of the DOM the page callbacks below use. They run in the browser, but this file is
 * compiled with Node's types only (the DOM library would retype fetch and the other globals
 * for every test), where Playwright's element types are left unresolved.
 */
interface DomNode {
  textContent: string | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}

/** Debian's chromium (scripts/test.sh installs it). */
const CHROMIUM = '/usr/bin/chromium';

/**
 * The history page as an admin uses it: open it in a real (headless) Chromium with the
 * admin password, look at the verdicts of mail just sent through a running server, filter
 * by action, client and sender.
 */
describe('history page in a browser', () => {
  let pf: PostfixInstance;
  let bp: TestServer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  before(async () => {
    pf = await startPostfix();
    bp = await startBorderpatrol({
      relayPort: pf.port,
      set: { 'admin.password': PASSWORD, 'smtp.trusted_networks': '127.0.0.1' },
      files: { 'lists/deny_senders.txt': 'spammer@origin.test\n' },
    });
    assert.equal((await send(bp.port, { id: 'hv-1', localAddress: '127.0.0.55' })).code, 0);
    assert.equal((await send(bp.port, { id: 'hv-2', from: 'friend@partner.test', localAddress: '127.0.0.77' })).code, 0);
    assert.notEqual((await send(bp.port, { id: 'hv-3', from: 'spammer@origin.test', localAddress: '127.0.0.55' })).code, 0);
    // A client that tries to script the admin's browser through its HELO name.
    const c = await RawSmtp.connect(bp.port, '127.0.0.1', '127.0.0.88');
    await c.hello('<script>window.pwned=1</script>');
    await c.command('MAIL FROM:<x@origin.test>');
    await c.command('RCPT TO:<user@example.com>');
    await c.command('DATA');
    await c.command('Subject: hi\r\n\r\nbody\r\n.');
    c.close();
    await waitForHistory(bp.store, (e) => e.ip === '127.0.0.88');

    profile = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1400, height: 700 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    await context?.close();
    if (profile) await fs.rm(profile, { recursive: true, force: true });
    await bp?.stop();
    await pf?.stop();
  });

  const visibleRows = async () =>
    page.$$eval('#rows tr:not([hidden])', (rows: DomNode[]) => rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => (td.textContent ?? '').trim())));

  test('without the password the page is refused', async () => {
    const res = await fetch(`http://127.0.0.1:${bp.adminPort}/history/view`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  test('shows every recent verdict with its columns, and scripts sent by clients stay text', async () => {
    const res = await page.goto(`http://127.0.0.1:${bp.adminPort}/history/view`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), 'Borderpatrol: recent verdicts');
    const headers = await page.$$eval('thead th', (ths: DomNode[]) => ths.map((th) => th.textContent));
    assert.deepEqual(headers, ['Time (UTC)', 'Tx', 'Client', 'HELO', 'From', 'Recipients', 'Action', 'Score', 'Symbols', 'Queue id', 'Instance']);
    const rows = await visibleRows();
    assert.equal(rows.length, 4);
    assert.equal(await page.textContent('#count'), '4 of 4 verdicts');
    const accepted = rows.find((r) => r[4] === 'friend@partner.test');
    assert.ok(accepted);
    assert.equal(accepted[2], '127.0.0.77');
    assert.equal(accepted[3], 'origin.example');
    assert.equal(accepted[5], 'user@example.com');
    assert.equal(accepted[6], 'accept');
    assert.match(accepted[9] ?? '', /^[A-Z0-9]{8,}$/);
    assert.equal(accepted[10], os.hostname(), 'the instance that handled it');
    const hostile = rows.find((r) => r[2] === '127.0.0.88');
    assert.equal(hostile?.[3], '<script>window.pwned=1</script>');
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
  });

  test('filters by action, client and sender as an admin types', async () => {
    await page.goto(`http://127.0.0.1:${bp.adminPort}/history/view`);
    await page.selectOption('#f-action', 'reject');
    let rows = await visibleRows();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.[4], 'spammer@origin.test');
    assert.match(page.url(), /\?action=reject$/);
    assert.equal(await page.textContent('#count'), '1 of 4 verdicts');

    await page.selectOption('#f-action', '');
    await page.fill('#f-client', '127.0.0.55');
    rows = await visibleRows();
    assert.deepEqual(rows.map((r) => r[4]).sort(), ['sender@origin.test', 'spammer@origin.test']);

    await page.fill('#f-client', '');
    await page.fill('#f-sender', 'PARTNER.test');
    rows = await visibleRows();
    assert.deepEqual(rows.map((r) => r[2]), ['127.0.0.77']);

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-history-view-'));
    const shot = path.join(dir, 'history.png');
    await page.fill('#f-sender', '');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok((await fs.stat(shot)).size > 10_000, 'a screenshot with content');
    if (process.env.BP_KEEP_SCREENSHOT) process.stderr.write(`screenshot: ${shot}\n`);
    else await fs.rm(dir, { recursive: true, force: true });
  });

  test('the same filters work as query parameters, without script', async () => {
    const res = await fetch(`http://127.0.0.1:${bp.adminPort}/history/view?action=accept&sender=origin`, {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();
    // sender@origin.test and x@origin.test were accepted; spammer@origin.test was not.
    assert.match(html, /<div id="count">2 of 4 verdicts<\/div>/);
    assert.equal((html.match(/<tr data-action/g) ?? []).length, 2);
    assert.equal((html.match(/<tr hidden data-action/g) ?? []).length, 2);
    assert.doesNotMatch(html, /<script>window\.pwned/);
    assert.match(html, /&#60;script&#62;window\.pwned=1&#60;\/script&#62;/);
  });
});
