/** Free loopback ports for benchmark servers. */
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
 * A port on `host` (default 127.0.0.1) that was free for TCP, and for UDP too when `udp` is
 * set (gossip listens on both). Another process may still take it before the caller binds;
 * benches start their servers right away to keep that window small.
 */
export async function freePort(options: { host?: string; udp?: boolean } = {}): Promise<number> {
  const host = options.host ?? "127.0.0.1";
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindTcp(host, 0);
    if (port === null) continue;
    if (!options.udp || (await bindUdp(host, port))) return port;
  }
  throw new Error(`freePort: no free ${options.udp ? "TCP+UDP" : "TCP"} port on ${host} after 50 attempts`);
}
