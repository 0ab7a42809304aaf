import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Starts `server` listening and resolves with the bound port (port 0 picks a free one) and a host
 * a local client can dial (a wildcard bind is reached via 127.0.0.1); rejects with the listen
 * error (EADDRINUSE, EACCES) instead of leaving it unhandled.
 */
export async function listenOn(
  server: Server,
  port: number,
  host: string,
): Promise<{ port: number; host: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return { port: bound, host: host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host };
}
