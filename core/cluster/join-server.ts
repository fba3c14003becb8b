/**
 * The manager side of the join exchange (`join-messages.ts`). A joining node's proof is checked
 * against the role secret in the replicated state; only then does the manager sign a certificate
 * for the node's own public keys and add the node through Raft. A member's renewal gets a new
 * certificate for the keys and role the state holds. Any refusal is one clear reply, and the
 * connection is closed after every reply.
 */
import { describeError, ShoalError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { encodeCertificate, issueCertificate, newCertificateSerial, type CertificateFields } from "../secure/certificate.ts";
import type { SecureConnection } from "../secure/channel/index.ts";
import type { ClusterConfig } from "./config.ts";
import type { ClusterNode, NodeRole } from "./contract.ts";
import { openJoinSecret, verifyJoinProof } from "./join-secret.ts";
import { decodeJoinRequest, encodeJoinReply, type JoinReply, type JoinRequest } from "./join-messages.ts";
import type { ManagerNode } from "./manager.ts";
import { managersOf, serialsOf } from "./state.ts";

/** What the join server needs. */
export interface JoinServerOptions {
  manager: () => ManagerNode | undefined;
  rootSecretKey: () => Uint8Array | undefined;
  config: ClusterConfig;
  logger: Logger;
  now?: () => number;
}

/**
 * Certificates are valid from a little before their issue (a minute, or a tenth of a short
 * lifetime), so a node whose clock is slightly behind accepts them.
 */
export function backdating(lifetimeMs: number): number {
  return Math.min(60_000, Math.floor(lifetimeMs / 10));
}

/** Serves one `join` connection (registered with the cluster listener). */
export function serveJoin(connection: SecureConnection, options: JoinServerOptions): void {
  // A peer that opens the exchange and says nothing does not hold the connection for long.
  const idle = setTimeout(() => connection.close(), options.config.requestTimeoutMs);
  let asked = false;
  connection.onMessage((frame) => {
    clearTimeout(idle);
    // One request per connection: anything after the first is ignored until the close.
    if (asked) return;
    asked = true;
    void answer(connection, frame, options).then((reply) => {
      connection.send(encodeJoinReply(reply));
      connection.close();
    });
  });
}

async function answer(connection: SecureConnection, frame: Uint8Array, options: JoinServerOptions): Promise<JoinReply> {
  const manager = options.manager();
  const rootSecretKey = options.rootSecretKey();
  if (!manager || !rootSecretKey) return { ok: false, code: "not_manager", message: "this node is not a manager" };
  let request: JoinRequest;
  try {
    request = decodeJoinRequest(frame);
  } catch (error) {
    return { ok: false, code: "invalid_request", message: describeError(error) };
  }
  try {
    const issuer = new Issuer(manager, rootSecretKey, options);
    if (request.kind === "join") {
      if (connection.peer.kind !== "joining") return { ok: false, code: "already_member", message: "this node already has a certificate; it renews instead of joining" };
      return await issuer.admit(request, connection.handshakeHash);
    }
    if (connection.peer.kind !== "member") return { ok: false, code: "certificate_required", message: "renewal needs the node's current certificate" };
    return await issuer.renew(connection.peer.certificate, request.unlessRole);
  } catch (error) {
    options.logger.warn("join request failed", { remote: connection.remoteAddress, error: describeError(error) });
    return { ok: false, code: error instanceof ShoalError ? error.code : "internal", message: describeError(error) };
  }
}

class Issuer {
  private readonly now: number;

  constructor(
    private readonly manager: ManagerNode,
    private readonly rootSecretKey: Uint8Array,
    private readonly options: JoinServerOptions,
  ) {
    this.now = (options.now ?? Date.now)();
  }

  async admit(request: Extract<JoinRequest, { kind: "join" }>, handshakeHash: Uint8Array): Promise<JoinReply> {
    const state = this.manager.state();
    const secret = openJoinSecret(state.joinTokens[request.role], this.rootSecretKey);
    if (!verifyJoinProof(request.proof, secret, handshakeHash)) {
      this.options.logger.warn("join refused: bad token secret", { nodeId: request.nodeId, role: request.role });
      return { ok: false, code: "token_invalid", message: `the ${request.role} join token is not valid for this cluster (wrong, or rotated since it was printed); ask a manager for a current one with "shoal join-token ${request.role}"` };
    }
    if (state.nodes.has(request.nodeId)) return { ok: false, code: "node_exists", message: `node ${request.nodeId} is already a member; it rejoins with its stored identity` };
    const fields = this.fields(request.nodeId, request.role, request.signingPublicKey, request.boxPublicKey);
    const node: ClusterNode = {
      id: request.nodeId,
      hostname: request.hostname,
      role: request.role,
      availability: "active",
      labels: {},
      // A manager is live as soon as it runs Raft; a worker is ready once its dispatcher session says so.
      status: request.role === "manager" ? "ready" : "unknown",
      statusMessage: "",
      address: request.address,
      certificateSerial: fields.serial,
      signingPublicKey: request.signingPublicKey,
      boxPublicKey: request.boxPublicKey,
      joinedAt: this.now,
      statusChangedAt: this.now,
    };
    await this.manager.propose({ type: "nodeAdd", node });
    this.options.logger.info("node joined", { nodeId: node.id, role: node.role, address: node.address });
    return this.reply(fields);
  }

  async renew(current: CertificateFields, unlessRole: NodeRole | undefined): Promise<JoinReply> {
    const node = this.manager.state().nodes.get(current.nodeId);
    if (!node || !serialsOf(node).includes(current.serial)) return { ok: false, code: "certificate_superseded", message: "this certificate is no longer one of the node's" };
    if (unlessRole === node.role) return { ok: false, code: "unchanged", message: `the node is still a ${node.role}` };
    const fields = this.fields(node.id, node.role, node.signingPublicKey, node.boxPublicKey);
    await this.manager.propose({ type: "certificateRenew", nodeId: node.id, serial: fields.serial, replacing: current.serial });
    this.options.logger.info("certificate renewed", { nodeId: node.id, role: node.role });
    return this.reply(fields);
  }

  private fields(nodeId: string, role: NodeRole, signingKey: Uint8Array, boxKey: Uint8Array): CertificateFields {
    return {
      clusterId: this.manager.state().clusterId,
      nodeId,
      role,
      signingKey,
      boxKey,
      serial: newCertificateSerial(),
      notBefore: this.now - backdating(this.options.config.certificateLifetimeMs),
      notAfter: this.now + this.options.config.certificateLifetimeMs,
    };
  }

  private reply(fields: CertificateFields): JoinReply {
    const state = this.manager.state();
    return {
      ok: true,
      certificate: encodeCertificate(issueCertificate(fields, this.rootSecretKey)),
      role: fields.role,
      clusterId: state.clusterId,
      rootPublicKey: state.rootPublicKey,
      rootSecretKey: fields.role === "manager" ? this.rootSecretKey : undefined,
      managers: managersOf(state).map((peer) => ({ id: peer.id, address: peer.address })),
    };
  }
}
