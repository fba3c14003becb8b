/**
 * The cluster port: one secure-channel listener multiplexed by purpose, and the matching dialler.
 * A connection's first frame is a hello naming its purpose (see `contract.ts`); the listener
 * hands the connection on to that purpose's handler. A joining peer (no certificate) may only
 * open `join`. Member connections are tracked by certificate serial, so revoking a certificate
 * (`node rm`) closes the removed node's live connections at once.
 */
import type { MetricsRegistry } from "../api/metrics.ts";
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { describeError, ShoalError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { requireHostPort } from "../common/address.ts";
import { dialSecure, listenSecure, rootPinOf, type SecureConnection, type SecureListener } from "../secure/channel/index.ts";
import type { ChannelHandler, ChannelPurpose, LocalIdentity } from "./contract.ts";

const HELLO_KIND = "cluster.hello";
const PURPOSES: readonly ChannelPurpose[] = ["raft", "join", "dispatcher", "api-forward"];

/** What the listener and dialler need from the agent (a subset of the channel's socket environment). */
export interface ChannelEnvironment {
  metrics: MetricsRegistry;
  logger: Logger;
  /** Serials revoked in the replicated state (empty on workers, which accept no connections). */
  revoked: () => ReadonlySet<string>;
}

/** The cluster port's listener. */
export class ClusterListener {
  private readonly listener: SecureListener;
  private readonly bySerial = new Map<string, Set<SecureConnection>>();

  /**
   * Binds `listenAddress`; throws when the address cannot be bound. `identity` is read at each
   * handshake, so a renewed certificate is presented from the next connection on without
   * closing the ones open.
   */
  constructor(
    listenAddress: string,
    identity: () => LocalIdentity,
    private readonly handlers: ReadonlyMap<ChannelPurpose, ChannelHandler>,
    private readonly environment: ChannelEnvironment,
  ) {
    this.listener = listenSecure({
      ...requireHostPort(listenAddress),
      ...environment,
      // Getters: the listener copies its credentials into every handshake it starts.
      credentials: {
        get clusterId() {
          return identity().clusterId;
        },
        get rootPublicKey() {
          return identity().rootPublicKey;
        },
        get identity() {
          const current = identity();
          return { certificate: current.certificate, signingSecretKey: current.signingSecretKey };
        },
        admitJoiners: handlers.has("join"),
      },
      onConnection: (connection) => this.accept(connection),
    });
  }

  /** The bound port (differs from the configured one when that was 0). */
  get port(): number {
    return this.listener.port;
  }

  /** Closes every live connection made with the certificate `serial`. */
  closeSerial(serial: string): void {
    for (const connection of this.bySerial.get(serial) ?? []) connection.close();
    this.bySerial.delete(serial);
  }

  /** Stops listening and closes every connection. */
  close(): void {
    this.listener.close();
  }

  private accept(connection: SecureConnection): void {
    const { peer } = connection;
    if (peer.kind === "member") {
      const serial = peer.certificate.serial;
      // Handlers own `onClose`, so closed connections are pruned here rather than on close.
      const live = new Set([...(this.bySerial.get(serial) ?? [])].filter((open) => !open.closed));
      this.bySerial.set(serial, live.add(connection));
    }
    connection.onMessage((frame) => {
      let purpose: ChannelPurpose;
      try {
        purpose = decodeHello(frame);
      } catch (error) {
        this.environment.logger.warn("cluster connection refused: bad hello", { remote: connection.remoteAddress, error: describeError(error) });
        connection.close();
        return;
      }
      const handler = this.handlers.get(purpose);
      if (!handler || (peer.kind === "joining" && purpose !== "join")) {
        this.environment.logger.warn("cluster connection refused", { remote: connection.remoteAddress, purpose, peer: peer.kind });
        connection.close();
        return;
      }
      handler(connection);
    });
  }
}

/** Dials `address` as `identity` and opens the connection for `purpose`. */
export async function dialCluster(
  identity: LocalIdentity,
  purpose: ChannelPurpose,
  address: string,
  environment: ChannelEnvironment,
  expectedPeerId?: string,
): Promise<SecureConnection> {
  const connection = await dialSecure({
    ...requireHostPort(address),
    ...environment,
    credentials: {
      clusterId: identity.clusterId,
      rootPin: rootPinOf(identity.rootPublicKey),
      identity: { certificate: identity.certificate, signingSecretKey: identity.signingSecretKey },
      expectedPeerId,
    },
  });
  connection.send(encodeHello(purpose));
  return connection;
}

/** The hello frame opening a connection for `purpose`. */
export function encodeHello(purpose: ChannelPurpose): Uint8Array {
  return encodeEnvelope(HELLO_KIND, 1, { purpose });
}

function decodeHello(frame: Uint8Array): ChannelPurpose {
  const { body } = decodeEnvelope(frame, HELLO_KIND, [1]);
  const purpose = (body as { purpose?: unknown } | null)?.purpose;
  if (!PURPOSES.includes(purpose as ChannelPurpose)) throw new ShoalError("bad_hello", `unknown purpose ${JSON.stringify(String(purpose).slice(0, 30))}`);
  return purpose as ChannelPurpose;
}

/**
 * Sends `request` and resolves with the peer's first message; rejects when the connection closes
 * first or nothing arrives within `timeoutMs`. The connection stays open (the caller closes it).
 */
export function requestReply(connection: SecureConnection, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ShoalError("request_timeout", `no reply from ${connection.remoteAddress} within ${timeoutMs} ms`)), timeoutMs);
    connection.onMessage((reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
    connection.onClose((rejection) => {
      clearTimeout(timer);
      const why = rejection ? `: ${rejection.message}` : "";
      reject(new ShoalError("connection_closed", `${connection.remoteAddress} closed the connection before replying${why}`, { reason: rejection?.reason }));
    });
    connection.send(request);
  });
}
