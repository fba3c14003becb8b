/**
 * The joining side: `shoal join <token>` and certificate renewal. A joining node dials the
 * managers the token lists, in order, as a `joining` peer pinned to the token's root key; the
 * first manager that answers decides. Nothing is written here: the caller stores the identity
 * only after a manager accepted the node, so a refused token leaves no trace.
 */
import nacl from "tweetnacl";
import type { MetricsRegistry } from "../api/metrics.ts";
import { describeError, ShoalError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { requireHostPort } from "../common/address.ts";
import { ChannelRejectedError, dialSecure, type SecureConnection } from "../secure/channel/index.ts";
import { verifyCertificate } from "../secure/certificate.ts";
import { constantTimeEqual } from "../secure/hash.ts";
import type { JoinToken } from "../secure/token.ts";
import { dialCluster, encodeHello, requestReply } from "./channel.ts";
import type { LocalIdentity, NodeRole } from "./contract.ts";
import { joinProof } from "./join-secret.ts";
import { decodeJoinReply, encodeJoinRequest, type JoinReply, type RaftPeer } from "./join-messages.ts";

/** What joining needs besides the token. */
export interface JoinEnvironment {
  nodeId: string;
  hostname: string;
  /** The address other nodes will reach this one at. */
  address: string;
  /** Where this node's listener binds. */
  listenAddress: string;
  timeoutMs: number;
  metrics: MetricsRegistry;
  logger: Logger;
}

/** A manager's acceptance: the identity to store, the root key for a manager, the Raft peers. */
export interface Admission {
  identity: LocalIdentity;
  rootSecretKey?: Uint8Array;
  managers: RaftPeer[];
}

/** Joins with `token`; throws a `ShoalError` whose message says what to do when refused. */
export async function joinCluster(token: JoinToken, environment: JoinEnvironment): Promise<Admission> {
  const signing = nacl.sign.keyPair();
  const box = nacl.box.keyPair();
  const failures: string[] = [];
  for (const address of token.managers) {
    let connection: SecureConnection;
    try {
      const { host, port } = requireHostPort(address);
      connection = await dialSecure({ host, port, metrics: environment.metrics, logger: environment.logger, credentials: { rootPin: token.rootPin } });
    } catch (error) {
      if (error instanceof ChannelRejectedError && error.rejection.reason === "rootPinMismatch") {
        throw new ShoalError("token_invalid", `the manager at ${address} is not part of the cluster this token was made for (its root key does not match the token's pin)`);
      }
      failures.push(`${address}: ${describeError(error)}`);
      continue;
    }
    try {
      connection.send(encodeHello("join"));
      const request = encodeJoinRequest({
        kind: "join",
        role: token.role,
        proof: joinProof(token.secret, connection.handshakeHash),
        nodeId: environment.nodeId,
        hostname: environment.hostname,
        address: environment.address,
        signingPublicKey: signing.publicKey,
        boxPublicKey: box.publicKey,
      });
      const reply = decodeJoinReply(await requestReply(connection, request, environment.timeoutMs));
      if (!reply.ok) throw new ShoalError(reply.code, `join refused by ${address}: ${reply.message}`);
      if (!constantTimeEqual(reply.rootPublicKey, connection.rootPublicKey)) throw new ShoalError("certificate_mismatch", `${address} named a root key other than the one it proved`);
      return admission(reply, environment, signing.secretKey, box);
    } catch (error) {
      if (error instanceof ShoalError && !["connection_closed", "request_timeout"].includes(error.code)) throw error;
      failures.push(`${address}: ${describeError(error)}`);
    } finally {
      connection.close();
    }
  }
  throw new ShoalError("managers_unreachable", `no manager listed in the token answered: ${failures.join("; ")}`);
}

/** Asks a manager for a new certificate (renewal, or after a role change); returns the updated identity. */
export async function renewCertificate(
  identity: LocalIdentity,
  environment: Omit<JoinEnvironment, "nodeId" | "hostname" | "address" | "listenAddress">,
  unlessRole?: NodeRole,
): Promise<Admission | "unchanged"> {
  const failures: string[] = [];
  for (const address of identity.managerAddresses) {
    let connection: SecureConnection;
    try {
      connection = await dialCluster(identity, "join", address, { metrics: environment.metrics, logger: environment.logger, revoked: () => new Set() });
    } catch (error) {
      throwIfRevoked(error, address);
      failures.push(`${address}: ${describeError(error)}`);
      continue;
    }
    try {
      const reply = decodeJoinReply(await requestReply(connection, encodeJoinRequest({ kind: "renew", unlessRole }), environment.timeoutMs));
      if (!reply.ok && reply.code === "unchanged") return "unchanged";
      if (!reply.ok) throw new ShoalError(reply.code, `renewal refused by ${address}: ${reply.message}`);
      return admission(reply, identity, identity.signingSecretKey, { publicKey: identity.boxPublicKey, secretKey: identity.boxSecretKey });
    } catch (error) {
      throwIfRevoked(error, address);
      failures.push(`${address}: ${describeError(error)}`);
    } finally {
      connection.close();
    }
  }
  throw new ShoalError("managers_unreachable", `no manager renewed the certificate: ${failures.join("; ")}`);
}

/** A manager that refuses this node's certificate as revoked speaks for the whole cluster. */
function throwIfRevoked(error: unknown, address: string): void {
  if (error instanceof ShoalError && error.context.reason === "revoked") {
    throw new ShoalError("certificate_revoked", `${address} refused this node's certificate as revoked: the node was removed from the cluster`);
  }
}

function admission(reply: Extract<JoinReply, { ok: true }>, environment: { address: string; listenAddress: string }, signingSecretKey: Uint8Array, box: nacl.BoxKeyPair): Admission {
  // The certificate must be what we asked for: signed by the pinned root, for our keys.
  const certificate = verifyCertificate(reply.certificate, { rootPublicKey: reply.rootPublicKey, clusterId: reply.clusterId, now: Date.now() });
  if (!constantTimeEqual(certificate.fields.signingKey, signingSecretKey.subarray(32))) throw new ShoalError("certificate_mismatch", "the manager issued a certificate for another key");
  const identity: LocalIdentity = {
    nodeId: certificate.fields.nodeId,
    clusterId: reply.clusterId,
    role: reply.role,
    certificate: reply.certificate,
    signingSecretKey,
    boxPublicKey: box.publicKey,
    boxSecretKey: box.secretKey,
    rootPublicKey: reply.rootPublicKey,
    managerAddresses: reply.managers.map((peer) => peer.address),
    address: environment.address,
    listenAddress: environment.listenAddress,
  };
  return { identity, rootSecretKey: reply.rootSecretKey, managers: reply.managers };
}
