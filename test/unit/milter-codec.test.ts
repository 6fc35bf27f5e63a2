import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PacketReader, MilterProtocolError, decodeCommand, encode } from '../../src/milter/codec.js';
import { MessageBuffer } from '../../src/milter/message.js';
import { Cmd, Reply } from '../../src/milter/protocol.js';

/** A packet as the MTA writes it: length (command byte + data), command, data. */
function pkt(command: number, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = command;
  return Buffer.concat([head, body]);
}

describe('milter packet framing', () => {
  test('a packet split across chunks, down to one byte at a time, comes out whole once', () => {
    const bytes = pkt(Cmd.HELO, 'mail.example.org\0');
    const r = new PacketReader(1024);
    const got = [];
    for (let i = 0; i < bytes.length; i++) got.push(...r.push(bytes.subarray(i, i + 1)));
    assert.equal(got.length, 1);
    assert.deepEqual(decodeCommand(got[0]!), { kind: 'helo', name: 'mail.example.org' });
    assert.equal(r.pending, 0);
  });

  test('the length prefix itself split across chunks', () => {
    const bytes = pkt(Cmd.RCPT, '<user@example.com>\0');
    const r = new PacketReader(1024);
    assert.deepEqual(r.push(bytes.subarray(0, 2)), []);
    assert.deepEqual(r.push(bytes.subarray(2, 7)), []);
    const got = r.push(bytes.subarray(7));
    assert.deepEqual(decodeCommand(got[0]!), { kind: 'rcpt', args: ['<user@example.com>'] });
  });

  test('two packets (and the start of a third) in one chunk', () => {
    const third = pkt(Cmd.EOH);
    const chunk = Buffer.concat([pkt(Cmd.MACRO, 'M{auth_authen}\0alice\0i\0ABC123\0'), pkt(Cmd.MAIL, '<a@example.org>\0SIZE=100\0'), third.subarray(0, 3)]);
    const r = new PacketReader(1024);
    const got = r.push(chunk).map(decodeCommand);
    assert.equal(got.length, 2);
    assert.deepEqual(got[0], { kind: 'macro', event: Cmd.MAIL, macros: new Map([['auth_authen', 'alice'], ['i', 'ABC123']]) });
    assert.deepEqual(got[1], { kind: 'mail', args: ['<a@example.org>', 'SIZE=100'] });
    assert.equal(r.pending, 3);
    assert.deepEqual(r.push(third.subarray(3)).map(decodeCommand), [{ kind: 'eoh' }]);
  });

  test('an oversize length is refused from its 4-byte prefix, before its data is buffered', () => {
    const r = new PacketReader(65_536 + 1024);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(0x7fff_ffff, 0);
    assert.throws(() => r.push(head), (e: unknown) => e instanceof MilterProtocolError && /exceeds the limit of 66560 bytes/.test(e.message));
  });

  test('a zero length is refused (every packet has a command byte)', () => {
    assert.throws(() => new PacketReader(1024).push(Buffer.alloc(4)), MilterProtocolError);
  });

  test('a string without its NUL, an unknown command byte and a short OPTNEG are protocol errors', () => {
    assert.throws(() => decodeCommand({ command: Cmd.HELO, data: Buffer.from('no-nul') }), /not NUL-terminated/);
    assert.throws(() => decodeCommand({ command: 0x7a, data: Buffer.alloc(0) }), /unknown command byte 0x7a/);
    assert.throws(() => decodeCommand({ command: Cmd.OPTNEG, data: Buffer.alloc(8) }), /too short/);
  });
});

describe('milter commands', () => {
  test('OPTNEG as Postfix sends it', () => {
    const d = Buffer.alloc(12);
    d.writeUInt32BE(6, 0);
    d.writeUInt32BE(0x1ff, 4);
    d.writeUInt32BE(0x1fffff, 8);
    assert.deepEqual(decodeCommand({ command: Cmd.OPTNEG, data: d }), { kind: 'optneg', version: 6, actions: 0x1ff, steps: 0x1fffff });
  });

  test('CONNECT for IPv4, IPv6 and an unknown family', () => {
    const v4 = Buffer.concat([Buffer.from('mail.example.org\0' + '4'), Buffer.from([0x30, 0x39]), Buffer.from('192.0.2.7\0')]);
    assert.deepEqual(decodeCommand({ command: Cmd.CONNECT, data: v4 }), { kind: 'connect', hostname: 'mail.example.org', family: 'inet4', port: 12345, address: '192.0.2.7' });
    const v6 = Buffer.concat([Buffer.from('[2001:db8::1]\0' + '6'), Buffer.from([0, 25]), Buffer.from('2001:db8::1\0')]);
    assert.deepEqual(decodeCommand({ command: Cmd.CONNECT, data: v6 }), { kind: 'connect', hostname: '[2001:db8::1]', family: 'inet6', port: 25, address: '2001:db8::1' });
    assert.deepEqual(decodeCommand({ command: Cmd.CONNECT, data: Buffer.from('localhost\0U') }), { kind: 'connect', hostname: 'localhost', family: 'unknown', port: 0, address: '' });
  });

  test('HEADER keeps the value bytes as sent', () => {
    const c = decodeCommand({ command: Cmd.HEADER, data: Buffer.from('Subject\0 caf\xe9\n\tmore\0', 'latin1') });
    assert.equal(c.kind, 'header');
    if (c.kind !== 'header') return;
    assert.equal(c.name, 'Subject');
    assert.deepEqual(c.value, Buffer.from(' caf\xe9\n\tmore', 'latin1'));
  });
});

describe('milter replies', () => {
  const decodeReply = (b: Buffer) => {
    assert.equal(b.readUInt32BE(0), b.length - 4, 'length counts the command byte and the data');
    return { command: b[4], data: b.subarray(5) };
  };

  test('OPTNEG answer: version, actions, steps', () => {
    const r = decodeReply(encode.optneg(6, 0x11, 0x100300));
    assert.equal(r.command, Reply.OPTNEG);
    assert.deepEqual([r.data.readUInt32BE(0), r.data.readUInt32BE(4), r.data.readUInt32BE(8)], [6, 0x11, 0x100300]);
  });

  test('REPLYCODE: our code, enhanced code and text; % doubled, line ends dropped, NUL-terminated', () => {
    const r = decodeReply(encode.replyCode({ code: 550, enhanced: '5.7.1', text: '100% spam\r\nreally' }));
    assert.equal(r.command, Reply.REPLYCODE);
    assert.equal(r.data.toString(), '550 5.7.1 100%% spam really\0');
  });

  test('header edits: values get their leading space and LF folding; an empty CHGHEADER value deletes', () => {
    const add = decodeReply(encode.addHeader('X-Spam-Status', 'Yes, score=7.00\r\n\ttests=A'));
    assert.equal(add.command, Reply.ADDHEADER);
    assert.equal(add.data.toString('latin1'), 'X-Spam-Status\0 Yes, score=7.00\n\ttests=A\0');
    const del = decodeReply(encode.changeHeader(2, 'X-Spam-Flag', ''));
    assert.equal(del.command, Reply.CHGHEADER);
    assert.equal(del.data.readUInt32BE(0), 2);
    assert.equal(del.data.subarray(4).toString('latin1'), 'X-Spam-Flag\0\0');
    const ins = decodeReply(encode.insertHeader(1, 'Authentication-Results', 'mx; spf=pass'));
    assert.equal(ins.command, Reply.INSHEADER);
    assert.equal(ins.data.readUInt32BE(0), 1);
    assert.equal(ins.data.subarray(4).toString('latin1'), 'Authentication-Results\0 mx; spf=pass\0');
  });

  test('single-byte replies', () => {
    for (const [b, c] of [[encode.continue(), Reply.CONTINUE], [encode.accept(), Reply.ACCEPT], [encode.discard(), Reply.DISCARD]] as const) {
      assert.deepEqual([...b], [0, 0, 0, 1, c]);
    }
  });
});

describe('the message rebuilt from HEADER, EOH and BODY', () => {
  test('header block byte for byte, folded lines back in CRLF, then the body', () => {
    const m = new MessageBuffer(1000);
    m.header('Subject', Buffer.from(' hello'));
    m.header('X-Long', Buffer.from(' one\n\ttwo'));
    m.endOfHeaders();
    m.body(Buffer.from('line 1\r\nline 2\r\n'));
    assert.equal(m.raw().toString(), 'Subject: hello\r\nX-Long: one\r\n\ttwo\r\n\r\nline 1\r\nline 2\r\n');
    assert.deepEqual(m.fields.map((f) => f.name), ['Subject', 'X-Long']);
  });

  test('bytes past the bound are not kept and the message is marked oversized', () => {
    const m = new MessageBuffer(100);
    m.header('Subject', Buffer.from(' x'));
    m.endOfHeaders();
    for (let i = 0; i < 1000; i++) m.body(Buffer.alloc(64, 0x61));
    assert.equal(m.oversized, true);
    assert.ok(m.bytes <= 100, `held ${m.bytes} bytes`);
  });
});
