/**
 * Binding the hono apps to sockets: the health app on TCP, the control app on a unix socket
 * readable only by the agent's user.
 */
import { chmodSync, existsSync, unlinkSync } from "node:fs";
import type { Hono } from "hono";
import { ShoalError, describeError } from "../common/errors.ts";
import { formatHostPort, type HostPort } from "../common/address.ts";

/** A running HTTP server. */
export interface RunningServer {
  /** Where it listens: `host:port` or the socket path. */
  readonly address: string;
  /** Stops accepting connections; resolves when open requests finished (or were closed with `force`). */
  stop(force?: boolean): Promise<void>;
}

/** Longest unix socket path the kernel accepts (sun_path is 108 bytes including the NUL). */
const MAX_SOCKET_PATH = 107;

function bindError(what: string, address: string, error: unknown): ShoalError {
  return new ShoalError("bind_failed", `cannot listen for the ${what} on ${address}: ${describeError(error)}`, { address }, { cause: error });
}

/** Serves `app` over TCP at `address` (port 0 picks a free port; see `.address`). */
export function serveTcp(app: Hono, address: HostPort, what: string): RunningServer {
  try {
    const server = Bun.serve({ hostname: address.host, port: address.port, fetch: app.fetch });
    return {
      address: formatHostPort({ host: address.host, port: server.port ?? address.port }),
      stop: (force = false) => server.stop(force),
    };
  } catch (error) {
    throw bindError(what, formatHostPort(address), error);
  }
}

/**
 * Serves `app` on the unix socket `path` with mode 0600. A leftover socket file is removed first:
 * the caller holds the data directory lock, so no live agent can own it.
 */
export function serveUnix(app: Hono, path: string, what: string): RunningServer {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new ShoalError("bind_failed", `cannot listen for the ${what} on ${path}: path longer than ${MAX_SOCKET_PATH} bytes; use a shorter --data-dir`, { path });
  }
  // The umask makes the socket 0600 from the moment it exists; chmod then makes it explicit.
  const previousUmask = process.umask(0o177);
  try {
    if (existsSync(path)) unlinkSync(path);
    const server = Bun.serve({ unix: path, fetch: app.fetch });
    chmodSync(path, 0o600);
    return {
      address: path,
      stop: async (force = false) => {
        await server.stop(force);
        if (existsSync(path)) unlinkSync(path);
      },
    };
  } catch (error) {
    throw bindError(what, path, error);
  } finally {
    process.umask(previousUmask);
  }
}
