/**
 * A UDP endpoint over Bun's datagram socket. The only runtime-specific UDP code in Shoal lives here.
 */
import type { HostPort } from "../common/address.ts";

/** Called for every datagram received; must not throw (the endpoint catches and reports it). */
export type DatagramHandler = (bytes: Uint8Array, from: HostPort) => void;

/** A bound UDP socket. */
export interface UdpEndpoint {
  /** The bound address (the port is the real one when 0 was asked for). */
  readonly local: HostPort;
  /** Sends one datagram; false when the kernel refused it (buffer full, unreachable). */
  send(bytes: Uint8Array, to: HostPort): boolean;
  /** Closes the socket; no handler runs afterwards. */
  close(): void;
}

/**
 * Binds a UDP socket on `local` and calls `onDatagram` for each datagram. A handler that throws,
 * and a socket error (an ICMP "port unreachable" from a crashed peer surfaces as ECONNREFUSED),
 * are reported to `onError`; the socket keeps serving either way.
 */
export async function bindUdp(local: HostPort, onDatagram: DatagramHandler, onError: (error: unknown) => void): Promise<UdpEndpoint> {
  const socket = await Bun.udpSocket({
    hostname: local.host,
    port: local.port,
    binaryType: "uint8array",
    socket: {
      data(_socket, bytes, port, host) {
        try {
          onDatagram(bytes, { host, port });
        } catch (error) {
          onError(error);
        }
      },
      error(_socket, error) {
        onError(error);
      },
    },
  });
  return {
    local: { host: local.host, port: socket.port },
    send: (bytes, to) => {
      try {
        return socket.send(bytes, to.port, to.host);
      } catch {
        return false;
      }
    },
    close: () => socket.close(),
  };
}
