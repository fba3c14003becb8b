/**
 * CBOR encoding of cluster commands and of the cluster state's snapshot. Decoders check every
 * field before anything is trusted: a command that fails here is refused on every manager alike
 * (`invalid_command`), and a snapshot that fails is never installed.
 */
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { DecodeError } from "../common/errors.ts";
import { record } from "../common/record.ts";
import type { ClusterCommand, ClusterNode, NodeAvailability, NodeRole, NodeStatus, SealedJoinSecret } from "./contract.ts";

const COMMAND_KIND = "cluster.cmd";
const VERSION = 1;

/** Bounds that keep one hostile command cheap to refuse. */
export const LIMITS = {
  idLength: 64,
  hostnameLength: 253,
  addressLength: 261,
  labelKeyLength: 128,
  labelValueLength: 256,
  labels: 64,
  messageLength: 512,
} as const;

const ROLES: readonly NodeRole[] = ["manager", "worker"];
const AVAILABILITIES: readonly NodeAvailability[] = ["active", "pause", "drain"];
const STATUSES: readonly NodeStatus[] = ["ready", "down", "unknown"];
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._\/-]*$/;

/** Encodes a command for `propose`. */
export function encodeClusterCommand(command: ClusterCommand): Uint8Array {
  return encodeEnvelope(COMMAND_KIND, VERSION, command);
}

/** Decodes and validates a command; throws `DecodeError` naming the first bad field. */
export function decodeClusterCommand(bytes: Uint8Array): ClusterCommand {
  const body = record(decodeEnvelope(bytes, COMMAND_KIND, [VERSION]).body, "command");
  switch (body.type) {
    case "nodeStatus":
      return { type: "nodeStatus", nodeId: id(body.nodeId, "nodeId"), status: oneOf(body.status, STATUSES, "status"), message: text(body.message, "message", LIMITS.messageLength, true), at: time(body.at, "at") };
    case "nodeHeartbeatAddress":
      return { type: "nodeHeartbeatAddress", nodeId: id(body.nodeId, "nodeId"), address: address(body.address) };
    case "nodeUpdate":
      return decodeNodeUpdate(body);
    case "nodeRole":
      return { type: "nodeRole", nodeId: id(body.nodeId, "nodeId"), role: oneOf(body.role, ROLES, "role") };
    case "nodeRemove":
      return { type: "nodeRemove", nodeId: id(body.nodeId, "nodeId") };
    case "gossipKey":
      return { type: "gossipKey", entry: bytesOf(body.entry, "entry") };
    case "clusterInit":
      return {
        type: "clusterInit",
        clusterId: id(body.clusterId, "clusterId"),
        rootPublicKey: bytesOf(body.rootPublicKey, "rootPublicKey", 32),
        joinTokens: decodeJoinTokens(body.joinTokens),
        node: decodeNode(body.node),
      };
    case "nodeAdd":
      return { type: "nodeAdd", node: decodeNode(body.node) };
    case "certificateRenew":
      return { type: "certificateRenew", nodeId: id(body.nodeId, "nodeId"), serial: id(body.serial, "serial"), replacing: id(body.replacing, "replacing") };
    case "joinTokenRotate":
      return { type: "joinTokenRotate", role: oneOf(body.role, ROLES, "role"), secret: decodeSealedSecret(body.secret) };
    default:
      throw new DecodeError(`unknown cluster command type ${JSON.stringify(String(body.type).slice(0, 40))}`);
  }
}

function decodeNodeUpdate(body: Record<string, unknown>): ClusterCommand {
  const update: { type: "nodeUpdate"; nodeId: string; availability?: NodeAvailability; labelsAdd?: Record<string, string>; labelsRemove?: string[] } = {
    type: "nodeUpdate",
    nodeId: id(body.nodeId, "nodeId"),
  };
  if (body.availability !== undefined) update.availability = oneOf(body.availability, AVAILABILITIES, "availability");
  if (body.labelsAdd !== undefined) update.labelsAdd = decodeLabels(body.labelsAdd);
  if (body.labelsRemove !== undefined) {
    if (!Array.isArray(body.labelsRemove) || body.labelsRemove.length > LIMITS.labels) throw new DecodeError(`labelsRemove must be a list of at most ${LIMITS.labels} keys`);
    update.labelsRemove = body.labelsRemove.map((key) => labelKey(key));
  }
  return update;
}

/** Validates a node record (from a command or a snapshot). */
export function decodeNode(value: unknown): ClusterNode {
  const node = record(value, "node");
  return {
    id: id(node.id, "node.id"),
    hostname: text(node.hostname, "node.hostname", LIMITS.hostnameLength),
    role: oneOf(node.role, ROLES, "node.role"),
    availability: oneOf(node.availability, AVAILABILITIES, "node.availability"),
    labels: decodeLabels(node.labels),
    status: oneOf(node.status, STATUSES, "node.status"),
    statusMessage: text(node.statusMessage, "node.statusMessage", LIMITS.messageLength, true),
    address: address(node.address),
    certificateSerial: id(node.certificateSerial, "node.certificateSerial"),
    ...(node.previousCertificateSerial === undefined ? {} : { previousCertificateSerial: id(node.previousCertificateSerial, "node.previousCertificateSerial") }),
    signingPublicKey: bytesOf(node.signingPublicKey, "node.signingPublicKey", 32),
    boxPublicKey: bytesOf(node.boxPublicKey, "node.boxPublicKey", 32),
    joinedAt: time(node.joinedAt, "node.joinedAt"),
    statusChangedAt: time(node.statusChangedAt, "node.statusChangedAt"),
  };
}

/** Validates a label map: at most `LIMITS.labels` entries of bounded keys and values. */
export function decodeLabels(value: unknown): Record<string, string> {
  const labels = record(value, "labels");
  const entries = Object.entries(labels);
  if (entries.length > LIMITS.labels) throw new DecodeError(`at most ${LIMITS.labels} labels`);
  const out: Record<string, string> = {};
  for (const [key, label] of entries) out[labelKey(key)] = text(label, `label ${key}`, LIMITS.labelValueLength, true);
  return out;
}

/** Validates a label key: letters, digits, `.`, `_`, `/`, `-`, starting with a letter or digit. */
export function labelKey(value: unknown): string {
  const key = text(value, "label key", LIMITS.labelKeyLength);
  if (!LABEL_KEY.test(key)) throw new DecodeError(`label key ${JSON.stringify(key)} must start with a letter or digit and hold only letters, digits, '.', '_', '/' or '-'`);
  return key;
}

/** Validates both roles' sealed join secrets. */
export function decodeJoinTokens(value: unknown): Record<NodeRole, SealedJoinSecret> {
  const tokens = record(value, "joinTokens");
  return { manager: decodeSealedSecret(tokens.manager), worker: decodeSealedSecret(tokens.worker) };
}

function decodeSealedSecret(value: unknown): SealedJoinSecret {
  const secret = record(value, "join secret");
  return { nonce: bytesOf(secret.nonce, "join secret nonce", 24), sealed: bytesOf(secret.sealed, "join secret", 48) };
}

function text(value: unknown, field: string, max: number, allowEmpty = false): string {
  if (typeof value !== "string" || value.length > max || (!allowEmpty && value.length === 0)) {
    throw new DecodeError(`${field} must be a ${allowEmpty ? "" : "non-empty "}string of at most ${max} characters`, { field });
  }
  return value;
}

function id(value: unknown, field: string): string {
  const checked = text(value, field, LIMITS.idLength);
  if (!/^[A-Za-z0-9_-]+$/.test(checked)) throw new DecodeError(`${field} must hold only letters, digits, '_' or '-'`, { field });
  return checked;
}

function address(value: unknown): string {
  const checked = text(value, "address", LIMITS.addressLength);
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(checked)) throw new DecodeError(`address ${JSON.stringify(checked)} must be host:port`, { field: "address" });
  return checked;
}

function time(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new DecodeError(`${field} must be a non-negative integer time`, { field });
  return value as number;
}

function bytesOf(value: unknown, field: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    throw new DecodeError(`${field} must be ${length === undefined ? "bytes" : `${length} bytes`}`, { field });
  }
  return new Uint8Array(value);
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], field: string): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) throw new DecodeError(`${field} must be one of ${choices.join(", ")}`, { field });
  return value as T;
}
