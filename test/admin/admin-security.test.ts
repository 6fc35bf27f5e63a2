import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { spamMessage } from '../bayes/synthetic.js';

/**
 * The admin API against a browser-borne attacker and careless exposure: writes need the
 * Password header or a Bearer token (a browser's cached Basic credentials are not enough),
 * cross-site requests are refused, unauthenticated answers carry no file content, big
 * bodies get 413, and a listener off loopback without a password does not start.
 */

const PASSWORD = 'admin-secret';
const basic = 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64');

/** One HTTP request with exactly these headers (fetch would add Origin and Sec-Fetch-* of its own). */
function request(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin API: writes, cross-site requests, exposure', () => {
  let sink: SmtpSink;
  let bp: TestServer;
  const spam = spamMessage({ seed: 5 });

  before(async () => {
    sink = await startSmtpSink();
    bp = await startBorderpatrol({
      relayPort: sink.port,
      set: { 'admin.password': PASSWORD, 'limits.max_message_size': '200000' },
    });
  });

  after(async () => {
    await bp?.stop();
    await sink?.stop();
  });

  test('a write with cached Basic credentials is refused; the Password header and a Bearer token work', async () => {
    const viaBasic = await request(bp.adminPort, 'POST', '/learnspam', { Authorization: basic }, spam);
    assert.equal(viaBasic.status, 401, viaBasic.text);
    const viaHeader = await request(bp.adminPort, 'POST', '/learnspam', { Password: PASSWORD }, spam);
    assert.equal(viaHeader.status, 200, viaHeader.text);
    const viaBearer = await request(bp.adminPort, 'POST', '/policy/reload', { Authorization: `Bearer ${PASSWORD}` });
    assert.equal(viaBearer.status, 200, viaBearer.text);
  });

  test('a cross-site form POST is refused (Origin or Sec-Fetch-Site), even with the password', async () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const evil = await request(bp.adminPort, 'POST', '/policy/reload', { ...form, Origin: 'http://evil.test', Authorization: basic, Password: PASSWORD });
    assert.equal(evil.status, 403, evil.text);
    const crossSite = await request(bp.adminPort, 'POST', '/learnham', { ...form, 'Sec-Fetch-Site': 'cross-site', Password: PASSWORD }, spam);
    assert.equal(crossSite.status, 403, crossSite.text);
    const sameOrigin = await request(bp.adminPort, 'POST', '/policy/reload', { Origin: `http://127.0.0.1:${bp.adminPort}`, 'Sec-Fetch-Site': 'same-origin', Password: PASSWORD });
    assert.equal(sameOrigin.status, 200, sameOrigin.text);
  });

  test('the read-only history still takes Basic credentials', async () => {
    const r = await request(bp.adminPort, 'GET', '/history', { Authorization: basic });
    assert.equal(r.status, 200, r.text);
  });

  test('/policy/status without the password shows no line of a policy file', async () => {
    // A list file that is not a list (a symlink to a secret file looks the same).
    await fs.mkdir(path.join(bp.policiesDir, 'lists'), { recursive: true });
    await fs.writeFile(path.join(bp.policiesDir, 'lists', 'deny_ips.txt'), '192.0.2.1\nSECRET-LINE-FROM-A-FILE\n');
    const reload = await request(bp.adminPort, 'POST', '/policy/reload', { Password: PASSWORD });
    assert.equal(reload.status, 422, reload.text);
    const open = await request(bp.adminPort, 'GET', '/policy/status', {});
    assert.equal(open.status, 200);
    assert.doesNotMatch(open.text, /SECRET-LINE/);
    const status = JSON.parse(open.text) as { ok: boolean; problems: unknown[] };
    assert.equal(status.ok, false, 'the bad list line is a problem');
    assert.equal(status.problems.length, 1);
    const authed = await request(bp.adminPort, 'GET', '/policy/status', { Password: PASSWORD });
    assert.match(authed.text, /SECRET-LINE/, 'the admin sees the details');
    await fs.writeFile(path.join(bp.policiesDir, 'lists', 'deny_ips.txt'), '192.0.2.1\n');
    assert.equal((await request(bp.adminPort, 'POST', '/policy/reload', { Password: PASSWORD })).status, 200);
  });

  test('a body over the limit gets 413, not a reset connection', async () => {
    const big = Buffer.alloc(2_000_000, 'a');
    const r = await request(bp.adminPort, 'POST', '/learnspam', { Password: PASSWORD, 'Content-Length': String(big.length) }, big);
    assert.equal(r.status, 413, r.text);
    const chunked = await request(bp.adminPort, 'POST', '/learnspam', { Password: PASSWORD }, big);
    assert.equal(chunked.status, 413, chunked.text);
  });
});

test('an admin listener off loopback without a password is refused at start, with the reason', async () => {
  const sink = await startSmtpSink();
  try {
    // A documentation address: nothing is ever bound there, the refusal comes first.
    await assert.rejects(startBorderpatrol({ relayPort: sink.port, set: { 'admin.listen': '192.0.2.1:11334' } }), /admin\.listen 192\.0\.2\.1:11334 is not a loopback address.*admin\.password/);
  } finally {
    await sink.stop();
  }
});
