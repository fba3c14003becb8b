/**
 * The cluster's shared vocabulary: what the replicated cluster state looks like, the commands
 * that change it, and what the cluster subsystem offers the subsystems started after it
 * (dispatcher sessions, gossip). Types only; the implementations live beside this file.
 *
 * Wiring: `core/agent/subsystems.ts` builds the cluster factory first and hands it, as a
 * `ClusterRuntimeSource`, to the factories after it. They call `source.runtime()` inside their
 * own `create()` (the cluster subsystem is always created before them) and register their
 * control routes and secure-channel handlers there, before any server starts.
 *
 * Secure-listener multiplexing: every node-to-node connection goes to the one secure-channel
 * listener on the cluster port (7370). The dialling side's first frame is a hello naming the
 * connection's purpose (`ChannelPurpose`); the listener hands the connection, hello consumed, to
 * the handler registered for that purpose. A `joining` peer (no certificate yet) may open only
 * `join`; every other purpose needs a member whose certificate is valid and not revoked.
 */
import type { SecureConnection } from "../secure/channel/index.ts";
import type { JoinRole } from "../secure/token.ts";
import type { GossipKeyState, KeyringSource } from "./keyrotation/index.ts";

/**
 * A node's role: managers run Raft and hold the cluster state; workers only run tasks. The same
 * role a join token admits and a certificate names.
 */
export type NodeRole = JoinRole;

/** Whether the scheduler may place work on a node (Swarm's availability). */
export type NodeAvailability = "active" | "pause" | "drain";

/** A node's liveness as the leader's dispatcher sees it. */
export type NodeStatus = "ready" | "down" | "unknown";

/** A manager's standing in Raft, seen from the node answering: computed, never replicated. */
export type ManagerReachability = "leader" | "reachable" | "unreachable";

/** Every purpose a secure connection to the cluster port can be opened for. */
export type ChannelPurpose = "raft" | "join" | "dispatcher" | "api-forward";

/** One node as the replicated state records it. */
export interface ClusterNode {
  /** The node id (32 hex digits), also its Raft id when it is a manager. */
  readonly id: string;
  readonly hostname: string;
  readonly role: NodeRole;
  readonly availability: NodeAvailability;
  readonly labels: Readonly<Record<string, string>>;
  readonly status: NodeStatus;
  /** Why the status is what it is (e.g. "heartbeat missed for 15 s"); empty when ready. */
  readonly statusMessage: string;
  /** The node's cluster address (`host:port` of its secure-channel listener). */
  readonly address: string;
  /** Serial of the node's current certificate. */
  readonly certificateSerial: string;
  /**
   * Serial of the certificate the node renewed from. It stays valid until the node's next renewal
   * (or its expiry): a node whose renewal reply was lost still holds a certificate that works, and
   * renews again from it.
   */
  readonly previousCertificateSerial?: string;
  /** The node's Ed25519 public key, from its certificate. */
  readonly signingPublicKey: Uint8Array;
  /** The node's X25519 public key: gossip keyrings are sealed to it. */
  readonly boxPublicKey: Uint8Array;
  /** When the node joined, ms since the epoch (the proposer's clock). */
  readonly joinedAt: number;
  /** When `status` last changed, ms since the epoch (the proposer's clock). */
  readonly statusChangedAt: number;
}

/** A node as listed by `node ls`: the replicated record plus its Raft standing when a manager. */
export interface ClusterNodeView extends ClusterNode {
  /** Present for managers only. */
  readonly managerStatus?: ManagerReachability;
}

/** The read view of the replicated cluster state, as of the last applied entry. */
export interface ClusterStateView {
  readonly clusterId: string;
  /** The cluster root Ed25519 public key (certificates verify against it). */
  readonly rootPublicKey: Uint8Array;
  /** Index of the last applied log entry. */
  readonly appliedIndex: number;
  readonly nodes: ReadonlyMap<string, ClusterNode>;
  /** Serials of revoked certificates (removed nodes): refused by every listener. */
  readonly revokedSerials: ReadonlySet<string>;
  /** Gossip keys and the rotation schedule (see `keyrotation/`). */
  readonly gossipKeys: GossipKeyState;
  /** Each role's current join secret, sealed (see `SealedJoinSecret`). */
  readonly joinTokens: Readonly<Record<NodeRole, SealedJoinSecret>>;
}

/** The commands the cluster state applies; each is validated on apply, all-or-nothing. */
export type ClusterCommand =
  /** The leader's dispatcher saw a node's heartbeat arrive (`ready`) or stop (`down`). */
  | { type: "nodeStatus"; nodeId: string; status: NodeStatus; message: string; at: number }
  /** The address a node's heartbeats come from changed (a DHCP renewal, a moved VM). */
  | { type: "nodeHeartbeatAddress"; nodeId: string; address: string }
  /** `node update`: availability and labels. */
  | { type: "nodeUpdate"; nodeId: string; availability?: NodeAvailability; labelsAdd?: Record<string, string>; labelsRemove?: string[] }
  /** `node promote|demote`. */
  | { type: "nodeRole"; nodeId: string; role: NodeRole }
  /** `node rm`, `leave`: forgets the node and revokes its certificate. */
  | { type: "nodeRemove"; nodeId: string }
  /** A gossip key rotation entry, as `KeyManager` produced it (opaque here). */
  | { type: "gossipKey"; entry: Uint8Array }
  /** The first entry of a cluster (`shoal init`): its identity, join tokens and founding manager. */
  | { type: "clusterInit"; clusterId: string; rootPublicKey: Uint8Array; joinTokens: Record<NodeRole, SealedJoinSecret>; node: ClusterNode }
  /** A node was admitted with a valid join token. */
  | { type: "nodeAdd"; node: ClusterNode }
  /** A node renewed its certificate (same keys, new serial and expiry). */
  | { type: "certificateRenew"; nodeId: string; serial: string; replacing: string }
  /** `join-token --rotate`: the role's secret is replaced; joined nodes are not affected. */
  | { type: "joinTokenRotate"; role: NodeRole; secret: SealedJoinSecret };

/**
 * A role's join secret as the replicated state keeps it: sealed under a key derived from the
 * cluster root secret key, so any manager can verify a joiner's proof and print the token, and
 * the state alone (a copied Raft log or snapshot) reveals neither.
 */
export interface SealedJoinSecret {
  nonce: Uint8Array;
  sealed: Uint8Array;
}

/** A proposal was applied but refused by the state machine (the same refusal on every manager). */
export interface CommandRefusal {
  /** Stable, e.g. `node_not_found`, `invalid_command`. */
  code: string;
  message: string;
}

/** An applied log entry, as `onApplied` listeners see it. */
export interface AppliedCommand {
  index: number;
  command: ClusterCommand;
  /** Undefined when applied; the refusal otherwise (the state did not change). */
  refusal?: CommandRefusal;
}

/** Raft's view of one manager, from the node answering. */
export interface ManagerPeer {
  id: string;
  address: string;
  reachability: ManagerReachability;
}

/** What a manager offers: the replicated state and proposing changes to it. */
export interface ClusterManagerHandle {
  /** True while this manager is the Raft leader. */
  isLeader(): boolean;
  /** The current leader's node id, or "" while none is known. */
  leaderId(): string;
  /** The state as of the last entry applied here. */
  state(): ClusterStateView;
  /**
   * Proposes a command (from any manager: followers forward to the leader); resolves once it is
   * applied here, rejects with a `ShoalError` whose code is the refusal's when the state machine
   * refused it, or `no_leader` / `request_timeout` / `leader_changed` when it did not commit.
   */
  propose(command: ClusterCommand): Promise<void>;
  /** Calls `listener` after each applied command, in log order; returns an unsubscribe. */
  onApplied(listener: (applied: AppliedCommand) => void): () => void;
  /** Calls `listener` when this manager gains or loses leadership; returns an unsubscribe. */
  onLeadershipChange(listener: (leading: boolean) => void): () => void;
  /** Every manager with its address and Raft standing. */
  managers(): ManagerPeer[];
  /** Seals the replicated gossip keyring to a node, for the dispatcher sessions this manager serves. */
  readonly keyManager: KeyringSource;
}

/** This node's identity once it is in a cluster. */
export interface LocalIdentity {
  nodeId: string;
  clusterId: string;
  role: NodeRole;
  /** The node's encoded certificate (renewed in place; read it fresh when dialling). */
  certificate: Uint8Array;
  /** The node's Ed25519 secret key (64 bytes). */
  signingSecretKey: Uint8Array;
  /** The node's X25519 key pair: gossip keyrings arrive sealed to its public half. */
  boxPublicKey: Uint8Array;
  boxSecretKey: Uint8Array;
  rootPublicKey: Uint8Array;
  /** Managers' cluster addresses as last known (kept current from the dispatcher's updates). */
  managerAddresses: string[];
  /** This node's own cluster address (advertised to the others). */
  address: string;
  /** Where this node's cluster listener binds (managers), as chosen at init or join. */
  listenAddress: string;
}

/** Handles connections of one purpose; called with the hello frame already consumed. */
export type ChannelHandler = (connection: SecureConnection) => void;

/** What the cluster subsystem offers the subsystems after it. */
export interface ClusterRuntime {
  /** This node's identity, or undefined while the agent is not in a cluster. */
  identity(): LocalIdentity | undefined;
  /** The manager handle while this node is a running manager; undefined on workers. */
  manager(): ClusterManagerHandle | undefined;
  /**
   * Calls `listener` when the node enters a cluster, changes role or leaves it (identity
   * undefined), after the cluster subsystem has finished the change; returns an unsubscribe.
   */
  onIdentityChange(listener: (identity: LocalIdentity | undefined) => void): () => void;
  /** Registers the handler for one purpose of the secure listener (call inside `create()`). */
  handle(purpose: Exclude<ChannelPurpose, "join" | "raft">, handler: ChannelHandler): void;
  /**
   * Dials `address` over the secure channel as this node and opens it for `purpose`;
   * `expectedPeerId` makes the handshake refuse any other node. Requires an identity.
   */
  dial(purpose: ChannelPurpose, address: string, expectedPeerId?: string): Promise<SecureConnection>;
  /** Updates the stored list of managers' addresses (the dispatcher learns it from its manager). */
  setManagerAddresses(addresses: string[]): void;
}

/** Gives later subsystems the cluster runtime; valid once the cluster factory's `create()` ran. */
export interface ClusterRuntimeSource {
  runtime(): ClusterRuntime;
}
