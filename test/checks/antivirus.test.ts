import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startClamd, eicar, type RunningClamd } from '../helpers/clamd.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startBorderpatrol, type TestServer } from '../helpers/borderpatrol.js';
import { RawSmtp } from '../helpers/raw-smtp.js';
import { clamdScan, instreamFrames, parseAnswer } from '../../src/checks/antivirus/clamd.js';
import { message, multipart } from './helpers.js';

/**
 * Antivirus through a real clamd (started here with a signature database of one line, the
 * EICAR test file's MD5): the client's INSTREAM framing, the verdicts, and the whole path
 * over SMTP — a virus refused with 554 5.7.1 naming it, a clean message relayed, clamd
 * down handled as antivirus.on_error says.
 */

function withAttachment(content: Buffer, name = 'invoice.com'): string {
  return multipart(
    ['From: Alice <alice@sender.test>', 'To: bob@example.com', 'Subject: the file', 'Date: ' + new Date().toUTCString(), 'Message-ID: <av@sender.test>', 'MIME-Version: 1.0'],
    [
      { headers: ['Content-Type: text/plain'], body: 'Here it is.' },
      { headers: [`Content-Type: application/octet-stream; name="${name}"`, 'Content-Transfer-Encoding: base64'], body: content.toString('base64') },
    ],
  );
}

describe('clamd client', () => {
  let unix: RunningClamd;
  let tcp: RunningClamd;
  before(async () => {
    [unix, tcp] = await Promise.all([startClamd(), startClamd({ tcp: true })]);
  });
  after(async () => {
    await Promise.all([unix?.stop(), tcp?.stop()]);
  });

  test('frames a stream as length-prefixed chunks ending in a zero length', () => {
    const data = Buffer.alloc(150_000, 0x61);
    const frames = instreamFrames(data);
    assert.equal(frames[0]?.toString('latin1'), 'zINSTREAM\0');
    let total = 0;
    for (let i = 1; i < frames.length - 1; i += 2) {
      const len = (frames[i] as Buffer).readUInt32BE(0);
      assert.equal(len, (frames[i + 1] as Buffer).length);
      total += len;
    }
    assert.equal(total, data.length);
    assert.deepEqual(frames[frames.length - 1], Buffer.alloc(4));
  });

  test('reads OK, FOUND and errors', () => {
    assert.deepEqual(parseAnswer('stream: OK\0'), { infected: false });
    assert.deepEqual(parseAnswer('stream: Eicar-Test-Signature FOUND\0'), { infected: true, signature: 'Eicar-Test-Signature' });
    assert.throws(() => parseAnswer('INSTREAM size limit exceeded. ERROR\0'), /size limit exceeded/);
  });

  test('finds the EICAR file in a MIME attachment, over a Unix socket and over TCP', async () => {
    for (const clamd of [unix, tcp]) {
      const r = await clamdScan(clamd.address, Buffer.from(withAttachment(eicar())), 10_000);
      assert.deepEqual(r, { infected: true, signature: clamd.signature });
    }
  });

  test('passes a clean message', async () => {
    assert.deepEqual(await clamdScan(unix.address, Buffer.from(withAttachment(Buffer.from('just a text file'))), 10_000), { infected: false });
  });

  test('a clamd that never answers fails after the timeout; one that talks without end is cut off', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s.on('error', () => undefined)));
    const chatty = net.createServer((s) => {
      s.on('error', () => undefined);
      // Without the answer cap this would be read for as long as it runs.
      const flood = setInterval(() => s.write(Buffer.alloc(4096, 0x41)), 1);
      s.once('close', () => clearInterval(flood));
    });
    await Promise.all([new Promise<void>((r) => silent.listen(0, '127.0.0.1', r)), new Promise<void>((r) => chatty.listen(0, '127.0.0.1', r))]);
    try {
      const started = Date.now();
      await assert.rejects(clamdScan(`127.0.0.1:${(silent.address() as net.AddressInfo).port}`, Buffer.from('x'), 300), /did not answer within 300 ms/);
      assert.ok(Date.now() - started < 3000);
      await assert.rejects(clamdScan(`127.0.0.1:${(chatty.address() as net.AddressInfo).port}`, Buffer.from('x'), 5000), /answer too long/);
    } finally {
      for (const s of held) s.destroy();
      await Promise.all([new Promise((r) => silent.close(r)), new Promise((r) => chatty.close(r))]);
    }
  });
});

describe('antivirus over SMTP', () => {
  let clamd: RunningClamd;
  let sink: SmtpSink;
  let live: TestServer;
  let skip: TestServer;
  let tempfail: TestServer;
  const gone = path.join(os.tmpdir(), `bp-no-clamd-${process.pid}.sock`);

  before(async () => {
    [clamd, sink] = await Promise.all([startClamd(), startSmtpSink()]);
    const server = (clamdAt: string, onError: string) =>
      startBorderpatrol({ relayPort: sink.port, set: { 'antivirus.enabled': 'true', 'antivirus.clamd': clamdAt, 'antivirus.on_error': onError, 'smtp.trusted_networks': '' } });
    // A socket path nothing listens on: clamd is down.
    fs.rmSync(gone, { force: true });
    [live, skip, tempfail] = await Promise.all([server(clamd.address, 'skip'), server(gone, 'skip'), server(gone, 'tempfail')]);
  });
  after(async () => {
    await Promise.all([live?.stop(), skip?.stop(), tempfail?.stop()]);
    await Promise.all([clamd?.stop(), sink?.stop()]);
  });

  const send = (bp: TestServer, data: string) => RawSmtp.sendMessage(bp.port, { from: 'alice@sender.test', to: 'bob@example.com', data });

  test('a virus is refused with 554 5.7.1 naming the signature, and not relayed', async () => {
    const before = sink.messages().length;
    const r = await send(live, withAttachment(eicar()));
    assert.equal(r.code, 554, r.text);
    assert.match(r.text, new RegExp(`^554 5\\.7\\.1 .*virus.*${clamd.signature.replace(/\./g, '\\.')}`));
    assert.equal(sink.messages().length, before);
  });

  test('a clean message with an attachment is relayed', async () => {
    const r = await send(live, withAttachment(Buffer.from('quarterly figures'), 'figures.txt'));
    assert.equal(r.code, 250, r.text);
  });

  test('clamd down: on_error skip delivers unscanned, on_error tempfail answers 451', async () => {
    const skipped = await send(skip, message());
    assert.equal(skipped.code, 250, skipped.text);
    const deferred = await send(tempfail, message());
    assert.equal(deferred.code, 451, deferred.text);
    assert.match(deferred.text, /^451 4\.3\.0 /);
  });
});
