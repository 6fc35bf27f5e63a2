import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { cli } from '../policy/helpers.js';

/**
 * Envelopes × messages through the live proxy (raw sockets from several loopback
 * addresses, smtp-sink downstream) and through `borderpatrol scan` with the same envelope,
 * policy and Redis store: both drive the same Session, so each case gets the same action.
 * Loopback is a stranger here (no trusted networks); greylisting, which a scan previews as
 * already passed, is off so the first live attempt is judged like the scan.
 */

interface Envelope {
  name: string;
  ip: string;
  from: string;
  rcpt: string;
}

const ENVELOPES: Envelope[] = [
  { name: 'clean', ip: '127.0.0.10', from: 'alice@sender.test', rcpt: 'user@example.com' },
  { name: 'relay', ip: '127.0.0.10', from: 'alice@sender.test', rcpt: 'victim@other.test' },
  { name: 'denied-ip', ip: '127.0.0.66', from: 'alice@sender.test', rcpt: 'user@example.com' },
  { name: 'denied-sender', ip: '127.0.0.11', from: 'spammer@bad.test', rcpt: 'user@example.com' },
];

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
const MESSAGES: Record<string, (tag: string) => string> = {
  ham: (tag) => `From: Alice <alice@sender.test>\r\nTo: user@example.com\r\nSubject: lunch\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${tag}@sender.test>\r\nX-Case: ${tag}\r\n\r\nSee you at noon.\r\n`,
  gtube: (tag) => `From: alice@sender.test\r\nTo: user@example.com\r\nSubject: test\r\nMessage-ID: <${tag}@sender.test>\r\nX-Case: ${tag}\r\n\r\n${GTUBE}\r\n`,
  shouty: (tag) => `From: WINNER <winner@sender.test>\r\nTo: undisclosed-recipients:;\r\nSubject: YOU HAVE WON!!! CLAIM YOUR PRIZE NOW\r\nX-Case: ${tag}\r\nContent-Type: text/html\r\n\r\n<html><body><a href="http://198.51.100.7/claim">CLICK HERE</a> to claim $1,000,000 FREE!!!</body></html>\r\n`,
};

const SET = {
  'smtp.trusted_networks': '',
  'greylist.enabled': 'false',
  'actions.greylist': 'null',
  local_domains: 'example.com',
  offline: 'true',
};

let redis: RunningRedis;
let sink: SmtpSink;
let server: TestServer;
let work: string;

before(async () => {
  redis = await startRedis();
  sink = await startSmtpSink();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-table-'));
  await fs.mkdir(path.join(work, 'policies', 'lists'), { recursive: true });
  await fs.cp('policies', path.join(work, 'policies'), { recursive: true });
  await fs.writeFile(path.join(work, 'policies', 'lists', 'deny_ips.txt'), '127.0.0.66\n');
  await fs.writeFile(path.join(work, 'policies', 'lists', 'deny_senders.txt'), 'spammer@bad.test\n');
  server = await startBorderpatrol({ relayPort: sink.port, policiesDir: path.join(work, 'policies'), set: { ...SET, 'store.redis': redis.url, 'tls.enabled': 'false' } });
});

after(async () => {
  await server?.stop();
  await sink?.stop();
  await redis?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** The action the live proxy took, read from its replies and, for a relayed message, its X-Spam-Action. */
async function live(e: Envelope, tag: string, data: string): Promise<string> {
  const c = await RawSmtp.connect(server.port, '127.0.0.1', e.ip);
  try {
    const refusal = (code: number) => (code >= 500 ? 'reject' : 'soft_reject');
    const greeting = await c.reply();
    if (greeting.code !== 220) return refusal(greeting.code);
    await c.command('EHLO mail.client.test');
    for (const line of [`MAIL FROM:<${e.from}>`, `RCPT TO:<${e.rcpt}>`]) {
      const r = await c.command(line);
      if (r.code !== 250) return refusal(r.code);
    }
    assert.equal((await c.command('DATA')).code, 354);
    c.write(data + '.\r\n');
    const final = await c.reply(30_000);
    if (final.code !== 250) return refusal(final.code);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const relayed = sink.messages().find((m) => m.includes(`X-Case: ${tag}`));
      const action = relayed && /^X-Spam-Action: (\S+)/m.exec(relayed)?.[1];
      if (action) return action;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${tag}: accepted but not found downstream`);
  } finally {
    c.close();
  }
}

test('scan and the live proxy take the same action for every envelope × message', async () => {
  const liveActions: Record<string, string> = {};
  const files: Record<string, string[]> = {};
  for (const e of ENVELOPES) {
    files[e.name] = [];
    for (const [m, build] of Object.entries(MESSAGES)) {
      const tag = `${e.name}-${m}`;
      const data = build(tag);
      const file = path.join(work, `${tag}.eml`);
      await fs.writeFile(file, data);
      files[e.name]?.push(file);
      liveActions[tag] = await live(e, tag, data);
    }
  }
  const scanActions: Record<string, string> = {};
  for (const e of ENVELOPES) {
    const sets = Object.entries(SET).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const r = await cli(['scan', '--json', '--ip', e.ip, '--helo', 'mail.client.test', '--from', e.from, '--rcpt', e.rcpt, ...(files[e.name] ?? []), '--policies', path.join(work, 'policies'), '--redis', redis.url, ...sets]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of r.stdout.trim().split('\n')) {
      const j = JSON.parse(line) as { file: string; action: string };
      scanActions[path.basename(j.file, '.eml')] = j.action;
    }
  }
  assert.deepEqual(scanActions, liveActions);
  // The table covers refusals at each step and acceptance.
  assert.equal(liveActions['relay-ham'], 'reject');
  assert.equal(liveActions['denied-ip-ham'], 'reject');
  assert.equal(liveActions['denied-sender-ham'], 'reject');
  assert.equal(liveActions['clean-gtube'], 'reject');
  assert.equal(liveActions['clean-ham'], 'accept');
});
