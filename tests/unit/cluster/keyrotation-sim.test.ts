import { describe, expect, test } from "bun:test";
import { encodeKeyEntry, keyRotationConfig } from "../../../core/cluster/keyrotation/index.ts";
import { runSeeds, SeededRandom } from "../../kit/index.ts";
import { RotationAudit } from "../../sim/keyrotation/audit.ts";
import { KeyRotationCluster, ProbeFailure } from "../../sim/keyrotation/cluster.ts";
import { simulate } from "../../sim/keyrotation/simulate.ts";
import { simulations } from "../../sim/registry.ts";

describe("gossip key rotation simulation", () => {
  test(
    "nodes offline across rotations, leader changes and a lossy session network: no unknown-key drops, schedule kept",
    () => {
      let rotations = 0;
      const ran = runSeeds({
        name: "keyrotation",
        seeds: 20,
        run: (seed) => {
          const summary = simulate(seed);
          rotations += summary.rotations;
          expect(summary.probesOpened).toBeGreaterThan(10_000);
          expect(summary.returnChecks).toBeGreaterThanOrEqual(summary.nodes);
        },
      });
      expect(rotations).toBeGreaterThanOrEqual(ran * 8);
    },
    60_000,
  );

  test("a run replays exactly from its seed", () => {
    const first = simulate(7);
    expect(simulate(7)).toEqual(first);
    expect(first.elections).toBeGreaterThan(3);
  }, 20_000);

  test("is registered under the name its replay line uses", async () => {
    const module = await simulations.keyrotation?.load();
    expect(module?.simulate).toBe(simulate);
  });

  test("rejects a cluster too small for the outage plan", () => {
    expect(() => simulate(1, { nodes: 5 })).toThrow(/at least 6 nodes/);
  });
});

describe("the simulation's checkers fail on a broken protocol", () => {
  const config = keyRotationConfig({ rotationInterval: 120_000, installGrace: 20_000 });
  const key = (fill: number) => new Uint8Array(32).fill(fill);
  const rotate = (serial: number, fill: number, createdAt: number, nextRotationAt: number) => encodeKeyEntry({ type: "rotate", serial, key: key(fill), createdAt, nextRotationAt });
  const committed = (data: Uint8Array, committedAt: number) => ({ data, committedAt, proposer: "manager-1" });

  test("a schedule restarted by a leader change", () => {
    const audit = new RotationAudit(config, 30_000, 60);
    audit.observe(committed(rotate(1, 1, 0, 120_000), 10));
    expect(() => audit.observe(committed(rotate(2, 2, 125_000, 245_000), 125_010))).toThrow(/not 120000 \+ one interval/);
  });

  test("a rotation long after its slot, and a repeated key", () => {
    const late = new RotationAudit(config, 30_000, 60);
    late.observe(committed(rotate(1, 1, 0, 120_000), 10));
    expect(() => late.observe(committed(rotate(2, 2, 200_000, 240_000), 200_010))).toThrow(/after its slot/);
    const repeated = new RotationAudit(config, 30_000, 60);
    repeated.observe(committed(rotate(1, 1, 0, 120_000), 10));
    expect(() => repeated.observe(committed(rotate(2, 1, 120_000, 240_000), 120_010))).toThrow(/repeats an earlier key/);
  });

  test("a node that cannot open a synced peer's probe", () => {
    const cluster = new KeyRotationCluster(new SeededRandom(1), {
      managers: 1,
      workers: 1,
      config,
      tickMs: 250,
      helloRetryMs: 1_000,
      failover: { minMs: 1_000, maxMs: 2_000 },
      sessionTimeoutMs: 15_000,
      election: { minMs: 100, maxMs: 200 },
      loss: 0,
      duplication: 0,
      reorder: 0,
    });
    cluster.node("manager-1").keyring.install(key(1));
    cluster.node("worker-1").keyring.install(key(2));
    expect(() => cluster.probe(cluster.node("manager-1"), cluster.node("worker-1"))).toThrow(ProbeFailure);
  });
});
