/**
 * Dispatcher sessions in simulation: every node (managers included) runs a real `NodeSession`,
 * every manager a real `ManagerSessions` with a real `KeyManager` and `KeyDistributor`, and all
 * messages go through the real codec. Connections are modelled on a `VirtualNetwork` the way TCP
 * behaves: a dial that gets no answer fails by timeout, a process killed outright resets its
 * connections (its peers learn of it), a host that loses power or is cut off says nothing.
 *
 * The Raft layer is abstracted to what the dispatcher relies on: a leader exists while a majority
 * of managers is up (the first up manager), its proposals commit after a short delay or are lost
 * when it goes down, and every manager sees the same records.
 */
import nacl from "tweetnacl";
import type { NodeStatus } from "../../../core/cluster/contract.ts";
import {
  decodeManagerMessage, decodeNodeMessage, type DispatcherConfig, encodeManagerMessage, encodeNodeMessage,
  type ManagerSessionAction, ManagerSessions, type NodeSessionAction, NodeSession, SESSION_RECONCILE_MS, SESSION_TICK_MS, sessionRecordOf, type SessionRecord, statusCommand,
} from "../../../core/cluster/dispatcher/index.ts";
import { KeyDistributor, KeyManager, KeyringReceiver, keyRotationConfig } from "../../../core/cluster/keyrotation/index.ts";
import { type Random, VirtualClock, VirtualNetwork } from "../../kit/index.ts";
import { KeyStateReplica } from "../keyrotation/key-state-replica.ts";

const CLUSTER_ID = "sim-cluster";

/** What travels between simulated hosts; `up` is from the dialling node to the manager. */
type Packet = { up: boolean; conn: string } & ({ type: "syn" | "synAck" | "reset" } | { type: "data"; bytes: Uint8Array });

interface ManagerParts {
  sessions: ManagerSessions;
  /** Its copy of the replicated key state, which `keys` reads. */
  replica: KeyStateReplica;
  keys: KeyManager;
  /** Connection id -> the node at its other end. */
  connections: Map<string, string>;
}

interface SimNode {
  id: string;
  isManager: boolean;
  up: boolean;
  boxKeys: nacl.BoxKeyPair;
  receiver: KeyringReceiver;
  session: NodeSession;
  /** The connection the node session uses, by manager address (= manager id here). */
  dialled: Map<string, string>;
  manager: ManagerParts | undefined;
}

/** A status change as the records saw it. */
export interface StatusChange {
  nodeId: string;
  status: NodeStatus;
  at: number;
}

/** Counters a run reports. */
export interface DispatcherCounters {
  proposals: number;
  proposalsLost: number;
  connectionsLost: number;
  keyringsInstalled: number;
  keyringsRejected: number;
}

/** The simulated cluster. */
export class DispatcherCluster {
  readonly clock = new VirtualClock();
  readonly net: VirtualNetwork<Packet>;
  readonly nodes = new Map<string, SimNode>();
  readonly records = new Map<string, SessionRecord>();
  readonly changes: StatusChange[] = [];
  readonly counters: DispatcherCounters = { proposals: 0, proposalsLost: 0, connectionsLost: 0, keyringsInstalled: 0, keyringsRejected: 0 };
  readonly managerIds: string[];
  readonly workerIds: string[];
  private readonly statuses = new Map<string, { status: NodeStatus; message: string }>();
  private readonly managerBoxKeys = new Set<string>();
  private readonly randomBytes: (length: number) => Uint8Array;
  private connectionSerial = 0;
  private readonly keyConfig = keyRotationConfig({ rotationInterval: 60_000, installGrace: 10_000 });

  constructor(
    private readonly random: Random,
    private readonly config: DispatcherConfig,
    managers: number,
    workers: number,
  ) {
    const bytes = random.fork();
    this.randomBytes = (length) => Uint8Array.from({ length }, () => bytes.int(256));
    this.net = new VirtualNetwork<Packet>({ clock: this.clock, random: random.fork(), latency: { minMs: 1, maxMs: 20 } });
    this.managerIds = Array.from({ length: managers }, (_, i) => `m${i + 1}`);
    this.workerIds = Array.from({ length: workers }, (_, i) => `w${i + 1}`);
    for (const id of [...this.managerIds, ...this.workerIds]) this.addNode(id, this.managerIds.includes(id));
  }

  /** Starts every node and the periodic work. */
  start(): void {
    this.clock.every(SESSION_TICK_MS, () => this.tickAll());
    this.clock.every(SESSION_RECONCILE_MS, () => this.reconcileAll());
  }

  /** The leader: the first manager up, while a majority is up. */
  leader(): string | undefined {
    const up = this.managerIds.filter((id) => this.nodes.get(id)?.up === true);
    return up.length * 2 > this.managerIds.length ? up[0] : undefined;
  }

  /** The keyring version the replicated state holds. */
  keyVersion(): number {
    const leader = this.leader();
    return leader === undefined ? 0 : (this.node(leader).manager as ManagerParts).keys.version();
  }

  /** The node's recorded status. */
  status(nodeId: string): NodeStatus {
    return this.records.get(nodeId)?.status ?? "unknown";
  }

  /** The node's process dies: with `reset`, peers learn it at once (kill -9); without, never (power loss). */
  crash(id: string, reset: boolean): void {
    const node = this.node(id);
    node.up = false;
    this.net.crash(id);
    if (!reset) return;
    // The kernel of the dead process resets its connections; the network drops a crashed node's traffic, so deliver directly.
    const resets: [string, Packet][] = [
      ...[...node.dialled].map(([address, conn]): [string, Packet] => [address, { up: true, type: "reset", conn }]),
      ...[...(node.manager?.connections ?? [])].map(([conn, peer]): [string, Packet] => [peer, { up: false, type: "reset", conn }]),
    ];
    for (const [to, packet] of resets) this.clock.setTimer(this.random.between(1, 20), () => this.receive(this.node(to), id, packet));
  }

  /** The node starts again with fresh in-memory state (its keyring version survives on disk). */
  restart(id: string): void {
    const old = this.node(id);
    this.net.restart(id);
    this.addNode(id, old.isManager, old.boxKeys, old.receiver.version());
  }

  /** Whether `id`'s node session is open. */
  sessionOpen(id: string): boolean {
    return this.node(id).session.status().state === "open";
  }

  /** The keyring version node `id` holds. */
  installedVersion(id: string): number {
    return this.node(id).receiver.version();
  }

  /** The node `id`; throws for an id the cluster does not have. */
  node(id: string): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  private addNode(id: string, isManager: boolean, boxKeys = nacl.box.keyPair.fromSecretKey(this.randomBytes(32)), installedVersion = 0): void {
    if (isManager) this.managerBoxKeys.add(Buffer.from(boxKeys.publicKey).toString("hex"));
    const receiver = new KeyringReceiver({
      clusterId: CLUSTER_ID,
      nodeId: id,
      boxKeys,
      installedVersion,
      isManagerBoxKey: (key) => this.managerBoxKeys.has(Buffer.from(key).toString("hex")),
    });
    const session = new NodeSession({
      nodeId: id, config: this.config, random: this.random.fork(), keyring: receiver, managers: this.managerIds, ...(isManager ? { ownAddress: id } : {}),
    });
    let manager: ManagerParts | undefined;
    if (isManager) {
      const leader = this.leader();
      // A manager added later starts from the leader's state, as from a snapshot.
      const replica = new KeyStateReplica(CLUSTER_ID, leader !== undefined && leader !== id ? (this.node(leader).manager as ManagerParts).replica : undefined);
      const keys = new KeyManager({ config: this.keyConfig, clusterId: CLUSTER_ID, boxKeys, randomBytes: this.randomBytes, replicatedState: replica.keys });
      const distributor = new KeyDistributor(keys, this.keyConfig.distributionRetry);
      manager = { replica, keys, connections: new Map(), sessions: new ManagerSessions({ managerId: id, config: this.config, random: this.random.fork(), keys: distributor, gossipAddress: `${id}:7371` }) };
    }
    const node: SimNode = { id, isManager, up: true, boxKeys, receiver, session, dialled: new Map(), manager };
    this.nodes.set(id, node);
    this.net.attach(id, (from, packet) => this.receive(node, from, packet));
  }

  private tickAll(): void {
    const now = this.clock.now();
    const leader = this.leader();
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      this.runNodeActions(node, node.session.tick(now));
      if (!node.manager) continue;
      node.manager.keys.setLeader(node.id === leader);
      for (const entry of node.manager.keys.tick(now)) this.commitKeyEntry(node.id, entry);
      this.runManagerActions(node, node.manager.sessions.tick(now));
    }
  }

  private reconcileAll(): void {
    const now = this.clock.now();
    const leader = this.leader();
    const managers = this.managerIds.map((id) => ({ nodeId: id, address: id }));
    const reachableManagers = new Set(this.managerIds.filter((id) => this.node(id).up));
    for (const node of this.nodes.values()) {
      if (!node.up || !node.manager) continue;
      const view = { records: this.records, managers, leader: node.id === leader, reachableManagers };
      this.runManagerActions(node, node.manager.sessions.reconcile(view, now));
    }
  }

  private receive(node: SimNode, from: string, packet: Packet): void {
    if (!node.up) return;
    const now = this.clock.now();
    if (!packet.up) {
      const dialled = [...node.dialled].find(([, conn]) => conn === packet.conn);
      if (!dialled) return;
      const [address] = dialled;
      if (packet.type === "synAck") this.runNodeActions(node, node.session.connected(address, now));
      else if (packet.type === "reset") this.lose(node, address);
      else if (packet.type === "data") this.runNodeActions(node, node.session.receive(address, decodeManagerMessage(packet.bytes), now));
      return;
    }
    const manager = node.manager;
    if (!manager) return;
    if (packet.type === "syn") {
      manager.connections.set(packet.conn, from);
      this.net.send(node.id, from, { up: false, type: "synAck", conn: packet.conn });
      return;
    }
    if (!manager.connections.has(packet.conn)) {
      if (packet.type === "data") this.net.send(node.id, from, { up: false, type: "reset", conn: packet.conn });
      return;
    }
    if (packet.type === "reset") {
      manager.connections.delete(packet.conn);
      manager.sessions.connectionClosed(packet.conn);
    } else if (packet.type === "data") {
      const peer = this.node(from);
      const identity = { nodeId: from, boxPublicKey: peer.boxKeys.publicKey };
      this.runManagerActions(node, manager.sessions.receive(packet.conn, identity, decodeNodeMessage(packet.bytes), now));
    }
  }

  private lose(node: SimNode, address: string): void {
    node.dialled.delete(address);
    this.counters.connectionsLost++;
    this.runNodeActions(node, node.session.connectionLost(address, this.clock.now()));
  }

  private runNodeActions(node: SimNode, actions: NodeSessionAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case "dial": {
          const conn = `${node.id}->${action.address}#${++this.connectionSerial}`;
          node.dialled.set(action.address, conn);
          this.net.send(node.id, action.address, { up: true, type: "syn", conn });
          break;
        }
        case "send": {
          const conn = node.dialled.get(action.address);
          if (conn !== undefined) this.net.send(node.id, action.address, { up: true, type: "data", conn, bytes: encodeNodeMessage(action.message) });
          break;
        }
        case "hangUp": {
          const conn = node.dialled.get(action.address);
          node.dialled.delete(action.address);
          if (conn !== undefined) this.net.send(node.id, action.address, { up: true, type: "reset", conn });
          break;
        }
        case "install":
          this.counters.keyringsInstalled++;
          break;
        case "keyringRejected":
          if (action.reason !== "stale") this.counters.keyringsRejected++;
          break;
        case "removed":
          throw new Error(`${node.id} was told it is removed, which this simulation never does`);
      }
    }
  }

  private runManagerActions(node: SimNode, actions: ManagerSessionAction[]): void {
    const manager = node.manager as ManagerParts;
    for (const action of actions) {
      if (action.kind === "report") {
        this.propose(node.id, statusCommand(action.report, this.clock.now()));
        continue;
      }
      const peer = manager.connections.get(action.connectionId);
      if (peer === undefined) continue;
      if (action.kind === "send") this.net.send(node.id, peer, { up: false, type: "data", conn: action.connectionId, bytes: encodeManagerMessage(action.message) });
      else {
        manager.connections.delete(action.connectionId);
        this.net.send(node.id, peer, { up: false, type: "reset", conn: action.connectionId });
      }
    }
  }

  /** A proposal reaches the leader (followers forward) and commits, unless there is none or it goes down. */
  private propose(from: string, command: ReturnType<typeof statusCommand>): void {
    this.counters.proposals++;
    const leader = this.leader();
    if (leader === undefined || command.type !== "nodeStatus") {
      this.counters.proposalsLost++;
      return;
    }
    this.clock.setTimer(this.random.between(5, 60), () => {
      if (this.leader() !== leader || !this.node(from).up) {
        this.counters.proposalsLost++;
        return;
      }
      const previous = this.statuses.get(command.nodeId);
      if (previous?.status === command.status && previous.message === command.message) return;
      this.statuses.set(command.nodeId, { status: command.status, message: command.message });
      this.records.set(command.nodeId, sessionRecordOf({ status: command.status, statusMessage: command.message }));
      if (previous?.status !== command.status) this.changes.push({ nodeId: command.nodeId, status: command.status, at: this.clock.now() });
    });
  }

  private commitKeyEntry(proposer: string, entry: Uint8Array): void {
    this.clock.setTimer(this.random.between(5, 60), () => {
      if (this.leader() !== proposer) return;
      for (const node of this.nodes.values()) if (node.up && node.manager) node.manager.replica.apply(entry);
    });
  }
}
