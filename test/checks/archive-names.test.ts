import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../policy/helpers.js';

/**
 * `borderpatrol scan` with the shipped policy: an executable inside a zip scores the same
 * attachment-name symbols as the executable attached directly.
 */

/** A stored (uncompressed) zip holding the given files, with local headers and a central directory. */
function zip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const n = Buffer.from(name, 'latin1');
    const data = Buffer.from(content, 'latin1');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

function withAttachment(name: string, type: string, content: Buffer): string {
  const b64 = content.toString('base64').replace(/.{1,76}/g, '$&\r\n');
  return [
    'From: Alice <alice@sender.test>',
    'To: bob@example.com',
    'Subject: Invoice',
    'Date: Mon, 1 Jan 2024 10:00:00 +0000',
    'Message-ID: <zip@sender.test>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'Please find the invoice attached.',
    '--b',
    `Content-Type: ${type}; name="${name}"`,
    `Content-Disposition: attachment; filename="${name}"`,
    'Content-Transfer-Encoding: base64',
    '',
    b64,
    '--b--',
    '',
  ].join('\r\n');
}

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bp-zip-names-'));
after(() => fs.rm(work, { recursive: true, force: true }));

async function scan(file: string): Promise<Record<string, number>> {
  const r = await cli(['scan', '--json', '--offline', '--ip', '192.0.2.10', '--helo', 'mail.sender.test', '--from', 'alice@sender.test', '--rcpt', 'bob@example.com', file, '--policies', 'policies', '--data-dir', path.join(work, 'data')]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout.trim()) as { symbols: Record<string, number> }).symbols;
}

test('invoice.pdf.exe inside a zip scores like invoice.pdf.exe attached directly', async () => {
  const direct = path.join(work, 'direct.eml');
  await fs.writeFile(direct, withAttachment('invoice.pdf.exe', 'application/octet-stream', Buffer.from('MZ fake program')));
  const zipped = path.join(work, 'zipped.eml');
  await fs.writeFile(zipped, withAttachment('invoice.zip', 'application/zip', zip({ 'docs/invoice.pdf.exe': 'MZ fake program', 'readme.txt': 'hello' })));
  const plain = path.join(work, 'plain.eml');
  await fs.writeFile(plain, withAttachment('photos.zip', 'application/zip', zip({ 'a.jpg': 'x', 'b.txt': 'y' })));

  const d = await scan(direct);
  const z = await scan(zipped);
  const p = await scan(plain);
  for (const symbol of ['EXE_ATTACHMENT', 'DOUBLE_EXTENSION']) {
    assert.ok(symbol in d, `${symbol} for the direct attachment: ${JSON.stringify(d)}`);
    assert.equal(z[symbol], d[symbol], `${symbol} for the zipped one: ${JSON.stringify(z)}`);
    assert.ok(!(symbol in p), `${symbol} for a zip of photos: ${JSON.stringify(p)}`);
  }
});
