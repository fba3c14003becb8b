/**
 * The replicated cluster state as a pure function: `applyCommand(state, command)` returns the
 * next state or a refusal, never both and never a half-changed state. Every manager applies the
 * same log with it, so it reads no clock and draws no randomness: times in commands are the
 * proposer's.
 */
import { applyKeyEntry, decodeKeyEntry, EMPTY_KEY_STATE } from "./keyrotation/index.ts";
import type { ClusterCommand, ClusterNode, ClusterStateView, CommandRefusal, NodeRole, SealedJoinSecret } from "./contract.ts";
import { LIMITS } from "./codec.ts";
import { sessionRecordOf } from "./dispatcher/status.ts";

/** The state before `clusterInit`. */
export const EMPTY_CLUSTER_STATE: ClusterStateView = Object.freeze({
  clusterId: "",
  rootPublicKey: new Uint8Array(0),
  appliedIndex: 0,
  nodes: new Map<string, ClusterNode>(),
  revokedSerials: new Set<string>(),
  gossipKeys: EMPTY_KEY_STATE,
  joinTokens: Object.freeze({ manager: { nonce: new Uint8Array(0), sealed: new Uint8Array(0) }, worker: { nonce: new Uint8Array(0), sealed: new Uint8Array(0) } }) as Record<NodeRole, SealedJoinSecret>,
});

/** The outcome of applying one command. */
export type ApplyResult = { state: ClusterStateView; refusal?: undefined } | { state?: undefined; refusal: CommandRefusal };

const refuse = (code: string, message: string): ApplyResult => ({ refusal: { code, message } });

/** The managers among `nodes`. */
export function managersOf(state: ClusterStateView): ClusterNode[] {
  return [...state.nodes.values()].filter((node) => node.role === "manager");
}

/** Applies one command; see the module comment. `appliedIndex` is left to the caller. */
export function applyCommand(state: ClusterStateView, command: ClusterCommand): ApplyResult {
  if (command.type === "clusterInit") {
    if (state.clusterId !== "") return refuse("cluster_exists", `the cluster ${state.clusterId} is already initialised`);
    if (command.node.role !== "manager") return refuse("invalid_command", "the founding node must be a manager");
    return {
      state: {
        ...state,
        clusterId: command.clusterId,
        rootPublicKey: command.rootPublicKey,
        joinTokens: command.joinTokens,
        nodes: new Map([[command.node.id, command.node]]),
      },
    };
  }
  if (state.clusterId === "") return refuse("cluster_not_initialised", "the cluster is not initialised yet");
  switch (command.type) {
    case "nodeAdd": {
      const { node } = command;
      if (state.nodes.has(node.id)) return refuse("node_exists", `node ${node.id} is already a member`);
      if (state.revokedSerials.has(node.certificateSerial)) return refuse("certificate_revoked", `certificate ${node.certificateSerial} was revoked`);
      return { state: withNode(state, node) };
    }
    case "joinTokenRotate":
      return { state: { ...state, joinTokens: { ...state.joinTokens, [command.role]: command.secret } } };
    case "gossipKey": {
      // The only place a key entry is decoded and applied: `KeyManager` reads the state from here.
      let entry;
      try {
        entry = decodeKeyEntry(command.entry);
      } catch {
        return refuse("invalid_command", "gossip key entry is malformed");
      }
      const { state: keys, outcome } = applyKeyEntry(state.gossipKeys, entry);
      if (!outcome.applied) return refuse(`gossip_key_${outcome.reason}`, `gossip key entry refused: ${outcome.reason}`);
      return { state: { ...state, gossipKeys: keys } };
    }
    default:
      return applyNodeCommand(state, command);
  }
}

type NodeCommand = Extract<ClusterCommand, { nodeId: string }>;

function applyNodeCommand(state: ClusterStateView, command: NodeCommand): ApplyResult {
  const node = state.nodes.get(command.nodeId);
  if (!node) return refuse("node_not_found", `no node ${command.nodeId} in the cluster`);
  switch (command.type) {
    case "nodeStatus":
      if (node.status === command.status && node.statusMessage === command.message) return { state };
      if (command.status === "down" && overtaken(node, command.message)) return { state };
      return { state: withNode(state, { ...node, status: command.status, statusMessage: command.message, statusChangedAt: command.at }) };
    case "nodeHeartbeatAddress":
      return { state: withNode(state, { ...node, address: command.address }) };
    case "nodeUpdate": {
      const labels: Record<string, string> = { ...node.labels, ...command.labelsAdd };
      for (const key of command.labelsRemove ?? []) delete labels[key];
      if (Object.keys(labels).length > LIMITS.labels) return refuse("too_many_labels", `a node carries at most ${LIMITS.labels} labels`);
      return { state: withNode(state, { ...node, labels, availability: command.availability ?? node.availability }) };
    }
    case "nodeRole": {
      if (node.role === command.role) return { state };
      if (command.role === "worker" && managersOf(state).length === 1) return refuse("last_manager", "the last manager cannot be demoted");
      return { state: withNode(state, { ...node, role: command.role }) };
    }
    case "nodeRemove": {
      if (node.role === "manager" && managersOf(state).length === 1) return refuse("last_manager", "the last manager cannot be removed");
      const nodes = new Map(state.nodes);
      nodes.delete(node.id);
      return { state: { ...state, nodes, revokedSerials: revoking(state.revokedSerials, serialsOf(node)) } };
    }
    case "certificateRenew":
      if (state.revokedSerials.has(command.serial)) return refuse("certificate_revoked", `certificate ${command.serial} was revoked`);
      if (!serialsOf(node).includes(command.replacing)) return refuse("certificate_superseded", `certificate ${command.replacing} is no longer one of the node's`);
      // Every other certificate of the node is revoked with the renewal, so a node removed later
      // cannot fall back on one; the one it renewed from stays valid in case the reply is lost.
      const superseded = serialsOf(node).filter((serial) => serial !== command.replacing);
      return {
        state: {
          ...withNode(state, { ...node, certificateSerial: command.serial, previousCertificateSerial: command.replacing }),
          revokedSerials: revoking(state.revokedSerials, superseded),
        },
      };
  }
}

/** The serials of the certificates `node` may still present: its current one and the one it renewed from. */
export function serialsOf(node: ClusterNode): string[] {
  return node.previousCertificateSerial === undefined ? [node.certificateSerial] : [node.certificateSerial, node.previousCertificateSerial];
}

function revoking(revoked: ReadonlySet<string>, serials: readonly string[]): Set<string> {
  const next = new Set(revoked);
  for (const serial of serials) next.add(serial);
  return next;
}

/**
 * Whether a `down` report is about a session other than the one the record names now. Such a
 * report was overtaken: e.g. proposed by a manager cut off from the quorum, held, and committed
 * after the node had failed over and been reported ready through another manager. The proposer
 * checks this too, but only against its own (possibly stale) view; apply is where it is certain.
 */
function overtaken(node: ClusterNode, message: string): boolean {
  const current = sessionRecordOf(node).sessionId;
  const reported = sessionRecordOf({ status: "down", statusMessage: message }).sessionId;
  return current !== undefined && reported !== undefined && current !== reported;
}

function withNode(state: ClusterStateView, node: ClusterNode): ClusterStateView {
  return { ...state, nodes: new Map(state.nodes).set(node.id, node) };
}
