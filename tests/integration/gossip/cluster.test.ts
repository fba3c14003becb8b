/**
 * Twenty gossip processes on 127.0.0.2 … 127.0.0.21, every packet sealed: they converge, a node
 * killed with SIGKILL is declared dead by all others, comes back alive everywhere when restarted,
 * a node holding a different key cannot join (its packets are counted as unknownKey drops, and
 * /metrics shows them), and a node stopped with SIGTERM is seen as having left.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GossipNodeProcess, eventually, writeKeyFile, type NodeSpec } from "./harness.ts";

const NODE_COUNT = 20;
const PORT = 20_000 + (process.pid % 12_000); // below the ephemeral range
const dir = mkdtempSync(join(tmpdir(), "shoal-"));
const keyFile = writeKeyFile(dir, "cluster.key");
const seeds = [2, 3, 4].map((octet) => `127.0.0.${octet}:${PORT}`);
const specs: NodeSpec[] = Array.from({ length: NODE_COUNT }, (_, i) => ({
  name: `node-${String(i + 1).padStart(2, "0")}`,
  host: `127.0.0.${i + 2}`,
  port: PORT,
  seeds,
  keyFile,
}));
const nodes = new Map<string, GossipNodeProcess>();
const extra: GossipNodeProcess[] = [];

/** True when every node in `observers` sees `name` in `state`; otherwise what is still missing. */
async function allSee(observers: GossipNodeProcess[], name: string, state: string): Promise<true | string> {
  const states = await Promise.all(observers.map(async (node) => [node.spec.name, await node.stateOf(name)] as const));
  const lagging = states.filter(([, seen]) => seen !== state);
  return lagging.length === 0 ? true : `${lagging.length} do not yet see ${name} ${state}: ${lagging.slice(0, 4).map(([who, seen]) => `${who}=${seen}`).join(", ")}`;
}

describe("20 gossip processes with encryption on loopback", () => {
  beforeAll(async () => {
    for (const spec of specs) nodes.set(spec.name, await GossipNodeProcess.spawn(spec));
    const all = [...nodes.values()];
    const took = await eventually("every node sees all 20 alive", 60_000, async () => {
      const views = await Promise.all(all.map((node) => node.view()));
      const short = views.filter((view) => view.members.filter((member) => member.state === "alive").length !== NODE_COUNT);
      return short.length === 0 ? true : `${short.length} nodes see fewer than ${NODE_COUNT} alive`;
    });
    console.log(`gossip cluster: ${NODE_COUNT} processes converged ${took} ms after the last start`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...nodes.values(), ...extra].map((node) => node.kill("SIGKILL")));
    rmSync(dir, { recursive: true, force: true });
  });

  test("kill -9 of one node: every other node declares it dead", async () => {
    const victim = specs[7]!.name;
    await nodes.get(victim)!.kill("SIGKILL");
    const others = [...nodes.values()].filter((node) => node.spec.name !== victim);
    const took = await eventually(`all see ${victim} dead`, 60_000, () => allSee(others, victim, "dead"));
    console.log(`gossip cluster: ${victim} declared dead by all ${others.length} others ${took} ms after SIGKILL`);
    for (const node of others) expect(await node.stateOf(node.spec.name)).toBe("alive");
  }, 90_000);

  test("the killed node restarted at the same address is alive again everywhere", async () => {
    const spec = specs[7]!;
    const restarted = await GossipNodeProcess.spawn(spec);
    nodes.set(spec.name, restarted);
    const all = [...nodes.values()];
    const took = await eventually(`all see ${spec.name} alive`, 60_000, () => allSee(all, spec.name, "alive"));
    console.log(`gossip cluster: restarted ${spec.name} alive everywhere after ${took} ms`);
    const view = await restarted.view();
    expect(view.members.filter((member) => member.state === "alive")).toHaveLength(NODE_COUNT);
  }, 90_000);

  test("a node with a different key cannot join, and its packets are dropped as unknownKey", async () => {
    const intruder = await GossipNodeProcess.spawn({ name: "intruder", host: "127.0.0.22", port: PORT, seeds, keyFile: writeKeyFile(dir, "other.key") });
    extra.push(intruder);
    const seedNodes = [...nodes.values()].filter((node) => seeds.includes(node.address));
    await eventually("the seeds drop the intruder's join as unknownKey", 30_000, async () => {
      const drops = await Promise.all(seedNodes.map(async (node) => (await node.view()).traffic.dropped.unknownKey));
      return drops.every((count) => count > 0) ? true : `unknownKey drops at the seeds: ${drops.join(", ")}`;
    });
    const intruderView = await intruder.view();
    expect(intruderView.members.map((member) => member.name)).toEqual(["intruder"]);
    for (const node of nodes.values()) expect(await node.stateOf("intruder")).toBeUndefined();
    const exposed = /^shoal_gossip_packets_dropped_total\{reason="unknownKey"\} (\d+)$/m.exec(await seedNodes[0]!.metricsText());
    expect(Number(exposed?.[1])).toBeGreaterThan(0);
  }, 60_000);

  test("SIGTERM leaves gracefully: every other node marks the node as left, not dead", async () => {
    const leaver = specs[12]!.name;
    await nodes.get(leaver)!.kill("SIGTERM");
    nodes.delete(leaver);
    const others = [...nodes.values()];
    // Most nodes hear the leave within a second; one the epidemic missed learns it when it next
    // probes the leaver (round-robin over 19 members) or at its next push-pull, hence the margin.
    const took = await eventually(`all see ${leaver} left`, 60_000, () => allSee(others, leaver, "left"));
    console.log(`gossip cluster: ${leaver} seen as left by all ${others.length} others ${took} ms after SIGTERM`);
  }, 90_000);
});
