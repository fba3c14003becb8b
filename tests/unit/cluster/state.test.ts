/**
 * The cluster state machine: every command kind applied, refusals leave the state untouched on
 * every replica alike, malformed commands are refused rather than thrown, and the state survives
 * a reopen and a snapshot round trip.
 */
import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { encodeCbor, encodeEnvelope } from "../../../core/common/envelope.ts";
import { encodeClusterCommand } from "../../../core/cluster/codec.ts";
import type { ClusterCommand, ClusterNode } from "../../../core/cluster/contract.ts";
import { statusCommand } from "../../../core/cluster/dispatcher/status.ts";
import { encodeKeyEntry } from "../../../core/cluster/keyrotation/index.ts";
import { ClusterStateMachine, decodeClusterState, encodeClusterState } from "../../../core/cluster/state-machine.ts";
import { applyCommand, EMPTY_CLUSTER_STATE } from "../../../core/cluster/state.ts";
import { tempDir } from "../store/temp-dirs.ts";

const sealed = () => ({ nonce: new Uint8Array(24).fill(1), sealed: new Uint8Array(48).fill(2) });

function node(id: string, role: "manager" | "worker" = "worker", serial = `serial-${id}`): ClusterNode {
  return {
    id, hostname: `host-${id}`, role, availability: "active", labels: {}, status: "unknown", statusMessage: "",
    address: `127.0.0.1:${7000 + id.length}`, certificateSerial: serial, signingPublicKey: new Uint8Array(32).fill(3),
    boxPublicKey: new Uint8Array(32).fill(4), joinedAt: 1000, statusChangedAt: 1000,
  };
}

const init: ClusterCommand = { type: "clusterInit", clusterId: "c1", rootPublicKey: new Uint8Array(32).fill(9), joinTokens: { manager: sealed(), worker: sealed() }, node: node("m1", "manager") };

/** A state machine that has applied `commands` from index 1; returns it and each command's refusal code. */
function applied(commands: ClusterCommand[]): { machine: ClusterStateMachine; refusals: (string | undefined)[] } {
  const machine = new ClusterStateMachine(tempDir());
  const results = machine.apply(commands.map((command, i) => ({ index: i + 1, data: encodeClusterCommand(command) })), commands.length);
  return { machine, refusals: results.map((result) => result.refusal?.code) };
}

describe("cluster state", () => {
  test("applies init, joins, updates, role changes, status, renewals and removal", () => {
    const { machine, refusals } = applied([
      init,
      { type: "nodeAdd", node: node("w1") },
      { type: "nodeAdd", node: node("m2", "manager") },
      { type: "nodeUpdate", nodeId: "w1", availability: "drain", labelsAdd: { zone: "a", rack: "1" } },
      { type: "nodeUpdate", nodeId: "w1", labelsRemove: ["rack"] },
      { type: "nodeStatus", nodeId: "w1", status: "ready", message: "", at: 2000 },
      { type: "nodeHeartbeatAddress", nodeId: "w1", address: "127.0.0.9:7370" },
      { type: "nodeRole", nodeId: "w1", role: "manager" },
      { type: "certificateRenew", nodeId: "m2", serial: "serial-m2b", replacing: "serial-m2" },
      { type: "nodeRemove", nodeId: "m2" },
    ]);
    expect(refusals).toEqual(Array(10).fill(undefined));
    const state = machine.state();
    expect(state.clusterId).toBe("c1");
    expect([...state.nodes.keys()].sort()).toEqual(["m1", "w1"]);
    expect(state.nodes.get("w1")).toMatchObject({ availability: "drain", labels: { zone: "a" }, status: "ready", statusChangedAt: 2000, address: "127.0.0.9:7370", role: "manager" });
    // The removal revokes both certificates the node could still present: the renewed one and the one it renewed from.
    expect([...state.revokedSerials].sort()).toEqual(["serial-m2", "serial-m2b"]);
    expect(state.appliedIndex).toBe(10);
    machine.close();
  });

  test("a renewal whose reply was lost: the node renews again from the certificate it holds", () => {
    const { machine, refusals } = applied([
      init,
      { type: "nodeAdd", node: node("w1") },
      // Issued, committed, but the reply never reached the node: it still holds serial-w1.
      { type: "certificateRenew", nodeId: "w1", serial: "lost", replacing: "serial-w1" },
      { type: "certificateRenew", nodeId: "w1", serial: "second", replacing: "serial-w1" },
      // The node now renews from "second": "serial-w1" goes, and a stale or unknown serial is refused.
      { type: "certificateRenew", nodeId: "w1", serial: "third", replacing: "second" },
      { type: "certificateRenew", nodeId: "w1", serial: "fourth", replacing: "serial-w1" },
      { type: "certificateRenew", nodeId: "w1", serial: "lost", replacing: "third" },
    ]);
    expect(refusals).toEqual([undefined, undefined, undefined, undefined, undefined, "certificate_superseded", "certificate_revoked"]);
    const state = machine.state();
    expect(state.nodes.get("w1")).toMatchObject({ certificateSerial: "third", previousCertificateSerial: "second" });
    expect([...state.revokedSerials].sort()).toEqual(["lost", "serial-w1"]);
    expect(decodeClusterState(encodeClusterState(state)).nodes.get("w1")?.previousCertificateSerial).toBe("second");
    machine.close();
  });

  test("refusals change nothing and are the same on every replica", () => {
    const commands: ClusterCommand[] = [
      { type: "nodeAdd", node: node("w0") },
      init,
      init,
      { type: "nodeAdd", node: node("m1") },
      { type: "nodeUpdate", nodeId: "ghost", availability: "pause" },
      { type: "nodeRole", nodeId: "m1", role: "worker" },
      { type: "nodeRemove", nodeId: "m1" },
      { type: "gossipKey", entry: new Uint8Array([1, 2, 3]) },
    ];
    const first = applied(commands);
    const second = applied(commands);
    const expected = ["cluster_not_initialised", undefined, "cluster_exists", "node_exists", "node_not_found", "last_manager", "last_manager", "invalid_command"];
    expect(first.refusals).toEqual(expected);
    expect(second.refusals).toEqual(expected);
    expect(encodeClusterState(first.machine.state())).toEqual(encodeClusterState(second.machine.state()));
    expect([...first.machine.state().nodes.keys()]).toEqual(["m1"]);
    first.machine.close();
    second.machine.close();
  });

  test("rotating a role's join token replaces that role's secret only", () => {
    const rotated = { nonce: new Uint8Array(24).fill(7), sealed: new Uint8Array(48).fill(8) };
    const { machine, refusals } = applied([init, { type: "joinTokenRotate", role: "worker", secret: rotated }]);
    expect(refusals).toEqual([undefined, undefined]);
    expect(machine.state().joinTokens.worker).toEqual(rotated);
    expect(machine.state().joinTokens.manager).toEqual(sealed());
    machine.close();
  });

  test("a node whose certificate was revoked cannot be added back under that serial", () => {
    const { refusals, machine } = applied([init, { type: "nodeAdd", node: node("w1") }, { type: "nodeRemove", nodeId: "w1" }, { type: "nodeAdd", node: node("w1") }]);
    expect(refusals).toEqual([undefined, undefined, undefined, "certificate_revoked"]);
    machine.close();
  });

  test("malformed commands are refused as invalid_command, never thrown", () => {
    const machine = new ClusterStateMachine(tempDir());
    machine.apply([{ index: 1, data: encodeClusterCommand(init) }], 1);
    const hostile: Uint8Array[] = [
      new Uint8Array([0xff, 0x00, 0x13]),
      encodeCbor({ anything: true }),
      encodeEnvelope("cluster.cmd", 1, { type: "nodeRemove" }),
      encodeEnvelope("cluster.cmd", 1, { type: "nodeUpdate", nodeId: "m1", availability: "sleeping" }),
      encodeEnvelope("cluster.cmd", 1, { type: "nodeUpdate", nodeId: "m1", labelsAdd: { "bad key!": "x" } }),
      encodeEnvelope("cluster.cmd", 1, { type: "nodeStatus", nodeId: "m1", status: "ready", message: "", at: -5 }),
      encodeEnvelope("cluster.cmd", 1, { type: "nodeAdd", node: { ...node("w9"), signingPublicKey: new Uint8Array(3) } }),
      encodeEnvelope("cluster.cmd", 1, { type: "nodeHeartbeatAddress", nodeId: "m1", address: "no-port" }),
      encodeEnvelope("cluster.cmd", 1, { type: "rm -rf" }),
      encodeEnvelope("cluster.cmd", 2, { type: "nodeRemove", nodeId: "m1" }),
    ];
    const before = encodeClusterState(machine.state());
    const results = machine.apply(hostile.map((data, i) => ({ index: i + 2, data })), hostile.length + 1);
    expect(results.map((result) => result.refusal?.code)).toEqual(Array(hostile.length).fill("invalid_command"));
    for (const result of results) expect(result.refusal?.message.length).toBeGreaterThan(0);
    // Only the applied index moved.
    expect(decodeClusterState(before).nodes).toEqual(machine.state().nodes);
    expect(machine.appliedIndex()).toBe(hostile.length + 1);
    machine.close();
  });

  test("gossip key entries go through the key rotation rules", () => {
    const key = (serial: number) => encodeKeyEntry({ type: "rotate", serial, key: nacl.randomBytes(32), createdAt: 10, nextRotationAt: 20 });
    const { machine, refusals } = applied([init, { type: "gossipKey", entry: key(1) }, { type: "gossipKey", entry: key(1) }, { type: "gossipKey", entry: key(2) }]);
    expect(refusals).toEqual([undefined, undefined, "gossip_key_stale", undefined]);
    expect(machine.state().gossipKeys.keys.map((entry) => entry.serial)).toEqual([1, 2]);
    machine.close();
  });

  test("state survives a reopen and a snapshot restore on another replica", () => {
    const dir = tempDir();
    const machine = new ClusterStateMachine(dir);
    machine.apply([{ index: 1, data: encodeClusterCommand(init) }, { index: 2, data: encodeClusterCommand({ type: "nodeAdd", node: node("w1") }) }], 3);
    const snapshot = machine.snapshot();
    machine.close();
    const reopened = new ClusterStateMachine(dir);
    expect(reopened.appliedIndex()).toBe(3);
    expect([...reopened.state().nodes.keys()]).toEqual(["m1", "w1"]);
    reopened.close();

    const other = new ClusterStateMachine(tempDir());
    // Restore listeners hear of the new state (the manager re-derives its peers and key schedule); a corrupt snapshot tells them nothing.
    const heard: number[] = [];
    other.onRestored((state) => heard.push(state.nodes.size));
    other.restore({ meta: { index: 3, term: 1, conf: { voters: ["m1"], learners: [], votersOutgoing: [] } }, data: snapshot });
    expect(encodeClusterState(other.state())).toEqual(snapshot);
    expect(() => other.restore({ meta: { index: 4, term: 1, conf: { voters: [], learners: [], votersOutgoing: [] } }, data: new Uint8Array([1, 2]) })).toThrow();
    expect(other.appliedIndex()).toBe(3);
    expect(heard).toEqual([2]);
    other.close();
  });

  test("a down report about a session the record no longer names is ignored; one about the current session applies", () => {
    const first = applyCommand(EMPTY_CLUSTER_STATE, init);
    const added = first.state && applyCommand(first.state, { type: "nodeAdd", node: node("w1") });
    if (!added?.state) throw new Error("setup refused");
    const report = (status: "ready" | "down", sessionId: string, manager: string, at: number) =>
      statusCommand({ nodeId: "w1", status, sessionId, manager, ...(status === "down" ? { reason: "no heartbeat for 2 s" } : {}) }, at);
    // The node failed over from m1 (session aa) to m2 (session bb) while m1, cut off, proposed aa down.
    const failedOver = applyCommand(applyCommand(added.state, report("ready", "aa", "m1", 1)).state!, report("ready", "bb", "m2", 2)).state!;
    const late = applyCommand(failedOver, report("down", "aa", "m1", 3));
    expect(late.state?.nodes.get("w1")).toMatchObject({ status: "ready", statusChangedAt: 2 });
    const current = applyCommand(failedOver, report("down", "bb", "m2", 4));
    expect(current.state?.nodes.get("w1")).toMatchObject({ status: "down", statusChangedAt: 4 });
  });

  test("the pure apply never mutates its input", () => {
    const first = applyCommand(EMPTY_CLUSTER_STATE, init);
    if (!first.state) throw new Error("init refused");
    const frozen = encodeClusterState(first.state);
    applyCommand(first.state, { type: "nodeAdd", node: node("w1") });
    applyCommand(first.state, { type: "nodeUpdate", nodeId: "m1", labelsAdd: { a: "b" } });
    expect(encodeClusterState(first.state)).toEqual(frozen);
  });
});
