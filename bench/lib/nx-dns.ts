import dgram from 'node:dgram';

/**
 * A DNS server on loopback that answers every question at once with "no such name". The
 * benchmark points Borderpatrol's dns.servers at it, so SPF, DKIM, DMARC and blocklist
 * checks do all their work (and their lookups) without waiting on the Internet.
 */
export async function startNxDns(): Promise<{ address: string; stop(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, peer) => {
    if (query.length < 12) return;
    const answer = Buffer.from(query);
    // Flags: response, the query's opcode and RD, recursion available, RCODE 3 (NXDOMAIN).
    answer[2] = 0x80 | (query[2]! & 0x79);
    answer[3] = 0x80 | 0x03;
    // One question (echoed), no answers, authority or additional records.
    answer.writeUInt16BE(0, 6);
    answer.writeUInt16BE(0, 8);
    answer.writeUInt16BE(0, 10);
    const end = questionEnd(query);
    socket.send(end > 0 ? answer.subarray(0, end) : answer.subarray(0, 12), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Offset just past the first question (name, type, class), or 0 if malformed. */
function questionEnd(q: Buffer): number {
  let i = 12;
  while (i < q.length) {
    const len = q[i]!;
    if (len === 0) return i + 5 <= q.length ? i + 5 : 0;
    if (len >= 0xc0) return 0;
    i += len + 1;
  }
  return 0;
}
