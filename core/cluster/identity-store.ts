/**
 * This node's cluster identity on disk: `<dataDir>/cluster/identity` (certificate, signing and
 * box key pairs, cluster id, root public key, managers' addresses) and, on managers only,
 * `<dataDir>/cluster/root.key` (the cluster root Ed25519 secret key). Both are written 0600 by
 * write-fsync-rename, so a crash leaves either the old file or the new one, never half of one;
 * a node restarted after kill -9 or a reboot finds its identity and rejoins by itself.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { describeError, ShoalError } from "../common/errors.ts";
import type { LocalIdentity, NodeRole } from "./contract.ts";

const IDENTITY_KIND = "cluster.identity";
const ROOT_KIND = "cluster.rootkey";

/** Paths of the cluster files inside the data directory. */
export const clusterFiles = {
  dir: (dataDir: string) => join(dataDir, "cluster"),
  identity: (dataDir: string) => join(dataDir, "cluster", "identity"),
  rootKey: (dataDir: string) => join(dataDir, "cluster", "root.key"),
  /** The Raft log and the cluster state (managers only). */
  raft: (dataDir: string) => join(dataDir, "cluster", "raft"),
};

/** Writes `bytes` to `path` atomically with mode 0600. */
function writePrivate(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Stores this node's identity (and the root secret key on a manager). */
export function saveIdentity(dataDir: string, identity: LocalIdentity, rootSecretKey?: Uint8Array): void {
  mkdirSync(clusterFiles.dir(dataDir), { recursive: true, mode: 0o700 });
  if (rootSecretKey) writePrivate(clusterFiles.rootKey(dataDir), encodeEnvelope(ROOT_KIND, 1, rootSecretKey));
  writePrivate(clusterFiles.identity(dataDir), encodeEnvelope(IDENTITY_KIND, 1, identity));
}

/** Reads the stored identity, or undefined when the node never joined a cluster. */
export function loadIdentity(dataDir: string): LocalIdentity | undefined {
  const path = clusterFiles.identity(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    const { body } = decodeEnvelope(readFileSync(path), IDENTITY_KIND, [1]);
    return validateIdentity(body);
  } catch (error) {
    throw new ShoalError("identity_corrupt", `cluster identity ${path} is unreadable (${describeError(error)}); restore it, or remove ${clusterFiles.dir(dataDir)} and join again`, { path });
  }
}

/** Reads the root secret key; undefined on a worker. */
export function loadRootKey(dataDir: string): Uint8Array | undefined {
  const path = clusterFiles.rootKey(dataDir);
  if (!existsSync(path)) return undefined;
  const { body } = decodeEnvelope(readFileSync(path), ROOT_KIND, [1]);
  if (!(body instanceof Uint8Array) || body.length !== 64) throw new ShoalError("identity_corrupt", `root key ${path} is malformed`, { path });
  return new Uint8Array(body);
}

/** Deletes the cluster files: identity, root key, Raft log and state (after `leave`). */
export function forgetCluster(dataDir: string): void {
  rmSync(clusterFiles.dir(dataDir), { recursive: true, force: true });
}

function validateIdentity(body: unknown): LocalIdentity {
  const fields = body as Record<string, unknown>;
  const bytes = (name: string) => {
    const value = fields[name];
    if (!(value instanceof Uint8Array)) throw new Error(`${name} missing`);
    return new Uint8Array(value);
  };
  const text = (name: string) => {
    const value = fields[name];
    if (typeof value !== "string") throw new Error(`${name} missing`);
    return value;
  };
  const role = text("role");
  if (role !== "manager" && role !== "worker") throw new Error("role is invalid");
  const managers = fields.managerAddresses;
  if (!Array.isArray(managers) || !managers.every((address) => typeof address === "string")) throw new Error("managerAddresses missing");
  return {
    nodeId: text("nodeId"),
    clusterId: text("clusterId"),
    role: role as NodeRole,
    certificate: bytes("certificate"),
    signingSecretKey: bytes("signingSecretKey"),
    boxPublicKey: bytes("boxPublicKey"),
    boxSecretKey: bytes("boxSecretKey"),
    rootPublicKey: bytes("rootPublicKey"),
    managerAddresses: managers as string[],
    address: text("address"),
    listenAddress: text("listenAddress"),
  };
}
