import type { AddressInfo, Server } from 'node:net';

/**
 * Bind a server and resolve with the address it got (port 0 picks a free one); a bind
 * error (address in use, no permission for port 25) rejects instead of being emitted.
 */
export function listenOn(server: Server, host: string, port: number, backlog?: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ...(backlog ? { backlog } : {}) }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
