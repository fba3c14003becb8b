/**
 * The dispatcher shells over real secure-channel sockets on loopback, with an in-memory manager
 * handle standing in for Raft: a node opens a session, gets the keyring installed into its gossip
 * keyring and is reported ready; when it goes silent it is reported down after three missed
 * heartbeats; a member sending garbage on its session is cut off and counted, and the manager
 * goes on serving.
 */
import { afterEach, describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import type { ClusterCommand, ClusterManagerHandle, ClusterNode, ClusterStateView, LocalIdentity, NodeRole } from "../../../core/cluster/contract.ts";
import { dispatcherConfig, sessionRecordOf } from "../../../core/cluster/dispatcher/index.ts";
import { ManagerSessionShell } from "../../../core/cluster/dispatcher/manager-shell.ts";
import { DispatcherMetrics } from "../../../core/cluster/dispatcher/metrics.ts";
import { NodeSessionShell } from "../../../core/cluster/dispatcher/node-shell.ts";
import { applyKeyEntry, EMPTY_KEY_STATE, KeyManager, keyRotationConfig } from "../../../core/cluster/keyrotation/index.ts";
import { nullLogger } from "../../../core/common/log.ts";
import { encodeCertificate, issueCertificate } from "../../../core/secure/certificate.ts";
import { dialSecure, listenSecure, rootPinOf, type SecureConnection, type SecureListener } from "../../../core/secure/channel/index.ts";
import { Keyring } from "../../../core/secure/keyring.ts";
import { waitFor } from "../agent-harness.ts";

const HOST = "127.0.0.1";
const CLUSTER_ID = "dispatcher-shell-test";
const HEARTBEAT_MS = 200;
const root = nacl.sign.keyPair();

/** A node's identity with a certificate from `root`, valid around now. */
function identity(nodeId: string, role: NodeRole, address: string): LocalIdentity {
  const signing = nacl.sign.keyPair();
  const box = nacl.box.keyPair();
  const now = Date.now();
  const fields = {
    clusterId: CLUSTER_ID, nodeId, role, signingKey: signing.publicKey, boxKey: box.publicKey,
    serial: `${nodeId}-1`, notBefore: now - 60_000, notAfter: now + 3_600_000,
  };
  return {
    nodeId, clusterId: CLUSTER_ID, role, address, listenAddress: address,
    certificate: encodeCertificate(issueCertificate(fields, root.secretKey)),
    signingSecretKey: signing.secretKey, boxPublicKey: box.publicKey, boxSecretKey: box.secretKey,
    rootPublicKey: root.publicKey, managerAddresses: [address],
  };
}

function clusterNode(node: LocalIdentity): ClusterNode {
  return {
    id: node.nodeId, hostname: node.nodeId, role: node.role, availability: "active", labels: {}, status: "unknown", statusMessage: "",
    address: node.address, certificateSerial: `${node.nodeId}-1`, signingPublicKey: new Uint8Array(32), boxPublicKey: node.boxPublicKey,
    joinedAt: 0, statusChangedAt: 0,
  };
}

/** Raft stand-in: proposals apply at once to an in-memory state with one gossip key. */
function fakeManager(nodes: LocalIdentity[]): ClusterManagerHandle & { proposed: ClusterCommand[] } {
  const key = { type: "rotate" as const, serial: 1, key: nacl.randomBytes(32), createdAt: 1, nextRotationAt: 2 };
  let state: ClusterStateView = {
    clusterId: CLUSTER_ID, rootPublicKey: root.publicKey, appliedIndex: 1,
    nodes: new Map(nodes.map((node) => [node.nodeId, clusterNode(node)])), revokedSerials: new Set(),
    gossipKeys: applyKeyEntry(EMPTY_KEY_STATE, key).state,
    joinTokens: { manager: { nonce: new Uint8Array(), sealed: new Uint8Array() }, worker: { nonce: new Uint8Array(), sealed: new Uint8Array() } },
  };
  const proposed: ClusterCommand[] = [];
  const [manager] = nodes as [LocalIdentity];
  const keyManager = new KeyManager({
    config: keyRotationConfig(), clusterId: CLUSTER_ID, boxKeys: { publicKey: manager.boxPublicKey, secretKey: manager.boxSecretKey },
    randomBytes: nacl.randomBytes, replicatedState: () => state.gossipKeys,
  });
  return {
    proposed,
    keyManager,
    isLeader: () => true,
    leaderId: () => manager.nodeId,
    state: () => state,
    async propose(command) {
      proposed.push(command);
      if (command.type !== "nodeStatus") return;
      const node = state.nodes.get(command.nodeId) as ClusterNode;
      state = { ...state, nodes: new Map(state.nodes).set(node.id, { ...node, status: command.status, statusMessage: command.message }) };
    },
    onApplied: () => () => {},
    onLeadershipChange: () => () => {},
    managers: () => [{ id: manager.nodeId, address: manager.address, reachability: "leader" }],
  };
}

const running: { stop(): void }[] = [];
afterEach(() => {
  for (const item of running.splice(0)) item.stop();
});

/** A manager shell behind a real secure listener. */
function serveManager(manager: LocalIdentity, handle: ClusterManagerHandle, registry: MetricsRegistry): { shell: ManagerSessionShell; listener: SecureListener } {
  const config = dispatcherConfig({ heartbeatPeriod: HEARTBEAT_MS, openTimeout: 1_000, orphanGrace: 5_000 });
  const shell = new ManagerSessionShell({ identity: manager, manager: handle, config, keyringRetryMs: 500, gossipAddress: `${HOST}:1`, metrics: new DispatcherMetrics(registry), logger: nullLogger });
  shell.start();
  const listener = listenSecure({
    host: HOST, port: 0, metrics: registry,
    credentials: { clusterId: CLUSTER_ID, rootPublicKey: root.publicKey, identity: manager, admitJoiners: false },
    onConnection: (connection) => shell.accept(connection),
  });
  running.push(shell, { stop: () => listener.close() });
  return { shell, listener };
}

function dial(node: LocalIdentity, port: number): Promise<SecureConnection> {
  return dialSecure({ host: HOST, port, metrics: new MetricsRegistry(), credentials: { clusterId: CLUSTER_ID, rootPin: rootPinOf(root.publicKey), identity: node } });
}

function startNode(node: LocalIdentity, port: number, keyring: Keyring): NodeSessionShell {
  const shell = new NodeSessionShell({
    identity: { ...node, managerAddresses: [`${HOST}:${port}`] },
    config: dispatcherConfig({ heartbeatPeriod: HEARTBEAT_MS, openTimeout: 1_000, reconnectBackoffMin: 100, reconnectBackoffMax: 500 }),
    dial: () => dial(node, port),
    keyring,
    onKeyringInstalled: () => {},
    onAccepted: () => {},
    metrics: new DispatcherMetrics(new MetricsRegistry()),
    logger: nullLogger,
  });
  shell.start();
  running.push(shell);
  return shell;
}

const statusOf = (handle: ClusterManagerHandle, nodeId: string) => handle.state().nodes.get(nodeId) as ClusterNode;

describe("dispatcher shells on real sockets", () => {
  test("a node opens a session, installs the keyring, is reported ready, and down after it goes silent", async () => {
    const manager = identity("m1", "manager", `${HOST}:0`);
    const worker = identity("w1", "worker", `${HOST}:0`);
    const handle = fakeManager([manager, worker]);
    const { listener } = serveManager(manager, handle, new MetricsRegistry());
    const keyring = new Keyring();
    const node = startNode(worker, listener.port, keyring);

    await waitFor(() => node.status().state === "open" && keyring.primary() !== undefined && statusOf(handle, "w1").status === "ready", { timeoutMs: 5_000, what: "session open, keyring installed, w1 ready" });
    expect(node.keyringVersion()).toBe(1);
    expect(keyring.primary()?.id).toBe("00000001");
    const session = node.status();
    expect(sessionRecordOf(statusOf(handle, "w1"))).toEqual({ status: "ready", sessionId: session.state === "open" ? session.sessionId : "", manager: "m1" });

    const silentAt = performance.now();
    node.stop();
    await waitFor(() => statusOf(handle, "w1").status === "down", { timeoutMs: 5_000, what: "w1 down" });
    expect(performance.now() - silentAt).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
    expect(statusOf(handle, "w1").statusMessage).toMatch(/^no heartbeat for \d+ s: session [0-9a-f]+ via m1$/);
  }, 20_000);

  test("garbage from an authenticated member is refused and counted; the manager keeps serving", async () => {
    const manager = identity("m1", "manager", `${HOST}:0`);
    const worker = identity("w1", "worker", `${HOST}:0`);
    const registry = new MetricsRegistry();
    const handle = fakeManager([manager, worker]);
    const { listener } = serveManager(manager, handle, registry);

    const attacker = await dial(worker, listener.port);
    const closed = new Promise<void>((resolve) => attacker.onClose(() => resolve()));
    attacker.send(new TextEncoder().encode("not a dispatcher message"));
    await closed;
    expect(registry.render()).toContain('shoal_dispatcher_messages_rejected_total{reason="undecodable"} 1');

    const stranger = identity("x9", "worker", `${HOST}:0`);
    const outsider = await dial(stranger, listener.port);
    await new Promise<void>((resolve) => outsider.onClose(() => resolve()));
    expect(registry.render()).toContain('shoal_dispatcher_messages_rejected_total{reason="notMember"} 1');

    const keyring = new Keyring();
    const node = startNode(worker, listener.port, keyring);
    await waitFor(() => node.status().state === "open" && keyring.primary() !== undefined, { timeoutMs: 5_000, what: "a good session after the garbage" });
  }, 20_000);
});
