/** Free loopback ports for benchmark servers and the demo cluster. */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

function bindTcp(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

function bindUdp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => resolve(false));
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/**
 * Whether `port` on `host` (default 127.0.0.1) can be bound for TCP, and for UDP too when `udp`
 * is set (gossip listens on both). Another process may still take it before the caller binds;
 * callers start their servers right away to keep that window small.
 */
export async function isPortFree(options: { host?: string; port: number; udp?: boolean }): Promise<boolean> {
  const host = options.host ?? "127.0.0.1";
  if ((await bindTcp(host, options.port)) === null) return false;
  return !options.udp || bindUdp(host, options.port);
}

/** A port on `host` (default 127.0.0.1) free for TCP, and for UDP too when `udp` is set (see `isPortFree`). */
export async function freePort(options: { host?: string; udp?: boolean } = {}): Promise<number> {
  const host = options.host ?? "127.0.0.1";
  for (let attempt = 0; attempt < 50; attempt++) {
    // The kernel picks a port free for TCP; only UDP is left to check.
    const port = await bindTcp(host, 0);
    if (port !== null && (!options.udp || (await bindUdp(host, port)))) return port;
  }
  throw new Error(`freePort: no free ${options.udp ? "TCP+UDP" : "TCP"} port on ${host} after 50 attempts`);
}
