/**
 * What `shoal init` creates, in one place: the cluster root key, the cluster id, the founding
 * manager's key pairs and certificate, both roles' join secrets, and the `clusterInit` command
 * that records all of it as the first entry of the replicated state.
 */
import nacl from "tweetnacl";
import { encodeCertificate, issueCertificate, newCertificateSerial } from "../secure/certificate.ts";
import type { ClusterCommand, LocalIdentity, NodeRole } from "./contract.ts";
import { JOIN_SECRET_BYTES, sealJoinSecret } from "./join-secret.ts";
import { backdating } from "./join-server.ts";

/** Who founds the cluster and where it is reached. */
export interface FoundingNode {
  nodeId: string;
  hostname: string;
  address: string;
  listenAddress: string;
  certificateLifetimeMs: number;
  now: number;
}

/** A new cluster, ready to be stored, started and initialised. */
export interface Founding {
  identity: LocalIdentity;
  rootSecretKey: Uint8Array;
  /** The plain role secrets, for the tokens `init` prints. */
  secrets: Record<NodeRole, Uint8Array>;
  /** The first command of the cluster's log. */
  command: Extract<ClusterCommand, { type: "clusterInit" }>;
}

/** Creates every key, secret and record of a new cluster with `node` as its only manager. */
export function foundCluster(node: FoundingNode): Founding {
  const root = nacl.sign.keyPair();
  const signing = nacl.sign.keyPair();
  const box = nacl.box.keyPair();
  const clusterId = Buffer.from(nacl.randomBytes(16)).toString("hex");
  const serial = newCertificateSerial();
  const { now } = node;
  const certificate = issueCertificate(
    {
      clusterId, nodeId: node.nodeId, role: "manager", signingKey: signing.publicKey, boxKey: box.publicKey, serial,
      notBefore: now - backdating(node.certificateLifetimeMs), notAfter: now + node.certificateLifetimeMs,
    },
    root.secretKey,
  );
  const secrets = { manager: nacl.randomBytes(JOIN_SECRET_BYTES), worker: nacl.randomBytes(JOIN_SECRET_BYTES) };
  return {
    identity: {
      nodeId: node.nodeId, clusterId, role: "manager", certificate: encodeCertificate(certificate),
      signingSecretKey: signing.secretKey, boxPublicKey: box.publicKey, boxSecretKey: box.secretKey,
      rootPublicKey: root.publicKey, managerAddresses: [node.address], address: node.address, listenAddress: node.listenAddress,
    },
    rootSecretKey: root.secretKey,
    secrets,
    command: {
      type: "clusterInit",
      clusterId,
      rootPublicKey: root.publicKey,
      joinTokens: { manager: sealJoinSecret(secrets.manager, root.secretKey, nacl.randomBytes), worker: sealJoinSecret(secrets.worker, root.secretKey, nacl.randomBytes) },
      node: {
        id: node.nodeId, hostname: node.hostname, role: "manager", availability: "active", labels: {}, status: "ready", statusMessage: "",
        address: node.address, certificateSerial: serial, signingPublicKey: signing.publicKey, boxPublicKey: box.publicKey, joinedAt: now, statusChangedAt: now,
      },
    },
  };
}
