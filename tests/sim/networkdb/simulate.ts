/**
 * NetworkDB simulations on the real membership core (see cluster.ts). Each scenario is one
 * deterministic run from a seed that throws when NetworkDB breaks a promise:
 *
 * - scope: w1..w3 on L, w3..w5 on R. w3 learns both, and no table data about R ever reaches
 *   w1 (nor about L w5), on any channel.
 * - convergence: random creates, updates and deletes on random nodes, under loss, duplication
 *   and reordering, end up identical on every node of the network.
 * - failure: a node frozen long enough to be declared dead has its entries hidden everywhere;
 *   when it comes back they reappear, the same versions, with nothing republished.
 * - reap: a node that stays dead has its hidden entries dropped after `nodeReapTimeout`.
 * - disconnect: a node cut off long enough for both sides to declare each other dead, with
 *   writes on both sides meanwhile, converges with no manual step once the cable is back.
 * - leave: a node leaving a network disappears from it with its entries, for good.
 * - restart: a node restarted with its state lost republishes what it still has; what it no
 *   longer has is deleted everywhere.
 * - scale: many nodes on overlapping networks with writes and two nodes cut off and back:
 *   everything converges, and network-scoped traffic only ever reaches that network's nodes.
 */
import assert from "node:assert";
import type { NetworkDb } from "../../../core/gossip/networkdb/networkdb.ts";
import type { EntryView } from "../../../core/gossip/networkdb/types.ts";
import { SeededRandom, type Random } from "../../kit/index.ts";
import type { SimulateOptions } from "../registry.ts";
import { NetDbCluster, type NetDbClusterOptions } from "./cluster.ts";

const value = (text: string) => new TextEncoder().encode(text);
const show = (entry: EntryView) => `${entry.table}/${entry.key}@${entry.owner}=${new TextDecoder().decode(entry.value)}`;
const names = (count: number) => Array.from({ length: count }, (_, i) => `w${i + 1}`);

/** Faults every scenario runs under unless it says otherwise. */
const faults = { loss: 0.05, duplication: 0.02, reorder: 0.05 };

/** Starts `count` nodes, joins them through w1 and waits for membership to converge. */
function startCluster(options: NetDbClusterOptions, count: number): { cluster: NetDbCluster; nodes: string[] } {
  const cluster = new NetDbCluster(options);
  const nodes = names(count);
  for (const node of nodes) cluster.start(node, node === "w1" ? [] : ["w1"]);
  assert(cluster.runUntil(() => cluster.gossip.converged(nodes), 30_000), "membership did not converge");
  return { cluster, nodes };
}

/** What `node` sees of `network`, sorted, as text. */
function viewOf(db: NetworkDb, network: string): string[] {
  return db.list(network).map(show).sort();
}

/** The truth of a network: every attached node's own live entries. */
function truth(cluster: NetDbCluster, members: readonly string[], network: string): string[] {
  return members.flatMap((node) => cluster.db(node).list(network).filter((entry) => entry.owner === node).map(show)).sort();
}

/** Whether every member sees exactly the truth of `network`. */
function converged(cluster: NetDbCluster, members: readonly string[], network: string): boolean {
  const expected = truth(cluster, members, network).join("\n");
  return members.every((node) => viewOf(cluster.db(node), network).join("\n") === expected);
}

function describeDivergence(cluster: NetDbCluster, members: readonly string[], network: string): string {
  const expected = truth(cluster, members, network);
  const lines = members.map((node) => {
    const view = viewOf(cluster.db(node), network);
    const missing = expected.filter((entry) => !view.includes(entry));
    const extra = view.filter((entry) => !expected.includes(entry));
    return `${node}: missing [${missing.join(", ")}] extra [${extra.join(", ")}]`;
  });
  return `network ${network} did not converge at ${cluster.clock.now()} ms:\n${lines.join("\n")}`;
}

function awaitConvergence(cluster: NetDbCluster, members: readonly string[], network: string, withinMs: number): void {
  if (!cluster.runUntil(() => converged(cluster, members, network), withinMs)) throw new Error(describeDivergence(cluster, members, network));
}

/** Scope: w3 learns L and R; w1 never receives anything about R's tables, w5 nothing about L's. */
export function scopeScenario(seed: number, transport: NetDbClusterOptions["transport"] = "own"): { virtualMs: number; messagesToW1: number } {
  const { cluster } = startCluster({ seed, ...faults, transport }, 5);
  const L = ["w1", "w2", "w3"];
  const R = ["w3", "w4", "w5"];
  for (const node of L) cluster.act(node, (db) => db.joinNetwork("L"));
  for (const node of R) cluster.act(node, (db) => db.joinNetwork("R"));
  for (const [network, members] of [["L", L], ["R", R]] as const) {
    for (const node of members) for (let i = 0; i < 3; i++) cluster.act(node, (db) => db.createEntry(network, "endpoints", `${node}-${i}`, value(`${network}:${node}:${i}`)));
  }
  awaitConvergence(cluster, L, "L", 60_000);
  awaitConvergence(cluster, R, "R", 60_000);
  cluster.run(35_000); // past a periodic bulk sync, so that path is covered too
  assert(cluster.db("w3").list("L").length === 9 && cluster.db("w3").list("R").length === 9, "w3 does not hold both networks' entries");
  assert(cluster.db("w1").list("R").length === 0 && cluster.db("w5").list("L").length === 0, "an entry leaked across networks");
  const forbidden: Record<string, string> = { w1: "R", w5: "L" };
  let messagesToW1 = 0;
  for (const { to, channel, message } of cluster.received) {
    const other = forbidden[to];
    if (other === undefined) continue;
    if (to === "w1") messagesToW1 += 1;
    // Only join/leave records may name the other network (they are cluster-wide by design).
    if (message.type !== "attachments") assert(message.network !== other, `${to} received a ${message.type} message about ${other} on ${channel}`);
    const entries = message.type === "gossip" ? message.events : message.type === "bulk" ? message.entries : [];
    assert(!entries.some((entry) => new TextDecoder().decode(entry.value).startsWith(`${other}:`)), `${to} received an entry of ${other}`);
  }
  return { virtualMs: cluster.clock.now(), messagesToW1 };
}

/** Random writes on random nodes converge on every node of the network. */
export function convergenceScenario(
  seed: number,
  nodeCount = 8,
  config: NetDbClusterOptions["config"] = {},
): { virtualMs: number; operations: number; convergedAfterMs: number; busyBytesPerNodePerSecond: number; idleBytesPerNodePerSecond: number } {
  const { cluster, nodes } = startCluster({ seed, loss: 0.1, duplication: 0.05, reorder: 0.1, config }, nodeCount);
  const random: Random = new SeededRandom(seed ^ 0x5eed);
  const onM = nodes.filter((_, i) => i % 2 === 0);
  for (const node of nodes) cluster.act(node, (db) => db.joinNetwork("N"));
  for (const node of onM) cluster.act(node, (db) => db.joinNetwork("M"));
  let operations = 0;
  let nextKey = 0;
  const busyFrom = { at: cluster.clock.now(), bytes: cluster.bytesSent() };
  for (let step = 0; step < 200; step++) {
    cluster.run(100);
    const node = nodes[random.int(nodes.length)] as string;
    const network = onM.includes(node) && random.chance(0.3) ? "M" : "N";
    const own = cluster.db(node).list(network).filter((entry) => entry.owner === node);
    const target = own.length === 0 ? undefined : own[random.int(own.length)];
    const roll = random.next();
    cluster.act(node, (db) => {
      if (target === undefined || roll < 0.5) db.createEntry(network, random.chance(0.5) ? "endpoints" : "services", `k${nextKey++}`, value(`v${step}`));
      else if (roll < 0.8) db.updateEntry(network, target.table, target.key, value(`u${step}`));
      else db.deleteEntry(network, target.table, target.key);
    });
    operations += 1;
  }
  const lastWriteAt = cluster.clock.now();
  awaitConvergence(cluster, nodes, "N", 90_000);
  awaitConvergence(cluster, onM, "M", 90_000);
  const convergedAfterMs = cluster.clock.now() - lastWriteAt;
  assert(nodes.filter((node) => !onM.includes(node)).every((node) => cluster.db(node).list("M").length === 0), "M's entries reached a node not on M");
  const perNodePerSecond = (from: { at: number; bytes: number }) => Math.round(((cluster.bytesSent() - from.bytes) / nodes.length / (cluster.clock.now() - from.at)) * 1000);
  const busyBytesPerNodePerSecond = perNodePerSecond(busyFrom);
  // Steady state: no writes for a minute, only periodic bulk syncs (two per network per node).
  const idleFrom = { at: cluster.clock.now(), bytes: cluster.bytesSent() };
  cluster.run(60_000);
  const idleBytesPerNodePerSecond = perNodePerSecond(idleFrom);
  return { virtualMs: cluster.clock.now(), operations, convergedAfterMs, busyBytesPerNodePerSecond, idleBytesPerNodePerSecond };
}

/** A node declared dead has its entries hidden, then restored as the same versions when it returns. */
export function failureScenario(seed: number): { virtualMs: number } {
  const { cluster, nodes } = startCluster({ seed, ...faults }, 6);
  for (const node of nodes) cluster.act(node, (db) => db.joinNetwork("N"));
  for (const node of nodes) for (let i = 0; i < 2; i++) cluster.act(node, (db) => db.createEntry("N", "endpoints", `${node}-${i}`, value(`${node}:${i}`)));
  awaitConvergence(cluster, nodes, "N", 60_000);
  const others = nodes.filter((node) => node !== "w6");
  const before = viewOf(cluster.db("w1"), "N").filter((entry) => entry.includes("@w6="));
  const versions = cluster.db("w1").list("N").filter((entry) => entry.owner === "w6").map((entry) => `${entry.key}:${entry.ltime}`).sort();
  cluster.stall("w6", 60_000);
  assert(cluster.runUntil(() => cluster.allSee(others, "w6", ["dead"]), 60_000), "w6 was not declared dead while frozen");
  for (const node of others) {
    assert(cluster.db(node).list("N").every((entry) => entry.owner !== "w6"), `${node} still shows w6's entries after it was declared dead`);
    assert(cluster.db(node).stats().hiddenEntries >= 2, `${node} dropped w6's entries instead of hiding them`);
  }
  assert(cluster.runUntil(() => cluster.allSee(others, "w6", ["alive"]), 60_000), "w6 did not come back");
  awaitConvergence(cluster, nodes, "N", 30_000);
  for (const node of others) {
    assert(viewOf(cluster.db(node), "N").filter((entry) => entry.includes("@w6=")).join() === before.join(), `${node} did not restore w6's entries`);
    const restored = cluster.db(node).list("N").filter((entry) => entry.owner === "w6").map((entry) => `${entry.key}:${entry.ltime}`).sort();
    assert(restored.join() === versions.join(), `${node} holds republished versions of w6's entries, not the restored ones`);
  }
  return { virtualMs: cluster.clock.now() };
}

/** A node that stays dead has its hidden entries dropped after `nodeReapTimeout`, not before. */
export function reapScenario(seed: number): { virtualMs: number } {
  const nodeReapTimeout = 120_000;
  const { cluster, nodes } = startCluster({ seed, ...faults, config: { nodeReapTimeout, reapInterval: 1_000 } }, 5);
  for (const node of nodes) cluster.act(node, (db) => db.joinNetwork("N"));
  for (const node of nodes) cluster.act(node, (db) => db.createEntry("N", "endpoints", `${node}`, value(node)));
  awaitConvergence(cluster, nodes, "N", 60_000);
  const survivors = nodes.filter((node) => node !== "w5");
  cluster.crash("w5");
  assert(cluster.runUntil(() => cluster.allSee(survivors, "w5", ["dead", "unknown"]), 60_000), "w5 was not declared dead");
  const deadAt = cluster.clock.now();
  for (const node of survivors) assert(cluster.db(node).stats().hiddenEntries === 1, `${node} does not hold w5's entry hidden`);
  // Kept while it may come back (other nodes may have declared it dead a little earlier).
  cluster.run(nodeReapTimeout - 30_000);
  for (const node of survivors) assert(cluster.db(node).stats().hiddenEntries === 1, `${node} dropped w5's entry before nodeReapTimeout`);
  assert(cluster.runUntil(() => survivors.every((node) => cluster.db(node).stats().hiddenEntries === 0), 60_000), "w5's entry was not reaped");
  assert(cluster.clock.now() - deadAt >= nodeReapTimeout - 30_000, "reaped too early");
  for (const node of survivors) assert(!new TextDecoder().decode(cluster.db(node).localState()).includes("w5"), `${node} still holds w5's attachments`);
  awaitConvergence(cluster, survivors, "N", 1_000);
  return { virtualMs: cluster.clock.now() };
}

/** A brief disconnect, with writes on both sides meanwhile, heals with no manual step. */
export function disconnectScenario(seed: number): { virtualMs: number; hiddenSeen: boolean } {
  const { cluster, nodes } = startCluster({ seed, ...faults }, 5);
  const random = new SeededRandom(seed ^ 0xd15c);
  for (const node of nodes) cluster.act(node, (db) => db.joinNetwork("N"));
  for (const node of nodes) for (let i = 0; i < 2; i++) cluster.act(node, (db) => db.createEntry("N", "endpoints", `${node}-${i}`, value(`${node}:${i}`)));
  awaitConvergence(cluster, nodes, "N", 60_000);
  const others = nodes.filter((node) => node !== "w5");
  let hiddenSeen = false;
  cluster.db("w1").watch({ network: "N", replay: false }, (event) => {
    if (event.kind === "delete" && event.entry.owner === "w5") hiddenSeen = true;
  });
  cluster.isolate("w5");
  assert(cluster.runUntil(() => cluster.allSee(others, "w5", ["dead"]), 60_000), "w5 was not declared dead while cut off");
  // Both sides keep working while apart.
  cluster.act("w5", (db) => db.updateEntry("N", "endpoints", "w5-0", value("w5:changed")));
  cluster.act("w5", (db) => db.createEntry("N", "endpoints", "w5-new", value("w5:new")));
  cluster.act("w2", (db) => db.deleteEntry("N", "endpoints", "w2-1"));
  cluster.act("w3", (db) => db.createEntry("N", "endpoints", "w3-new", value("w3:new")));
  cluster.run(random.between(5_000, 20_000));
  cluster.heal();
  assert(cluster.runUntil(() => cluster.allSee(nodes, "w5", ["alive"]) && nodes.every((node) => cluster.allSee(nodes, node, ["alive"])), 60_000), "membership did not heal");
  awaitConvergence(cluster, nodes, "N", 30_000);
  assert(hiddenSeen, "w1 never hid w5's entries while w5 was dead");
  assert(cluster.db("w1").list("N").length === 11, "entries lost across the disconnect");
  return { virtualMs: cluster.clock.now(), hiddenSeen };
}

/** A node leaving a network takes its entries with it, for good. */
export function leaveScenario(seed: number): { virtualMs: number } {
  const { cluster, nodes } = startCluster({ seed, ...faults }, 5);
  for (const node of nodes) cluster.act(node, (db) => db.joinNetwork("N"));
  for (const node of nodes) cluster.act(node, (db) => db.createEntry("N", "endpoints", node, value(node)));
  awaitConvergence(cluster, nodes, "N", 60_000);
  const stayers = nodes.filter((node) => node !== "w2");
  const reappeared: string[] = [];
  for (const node of stayers) {
    cluster.db(node).watch({ network: "N", replay: false }, (event) => {
      if (event.kind !== "delete" && event.entry.owner === "w2") reappeared.push(node);
    });
  }
  cluster.act("w2", (db) => db.leaveNetwork("N"));
  assert(
    cluster.runUntil(() => stayers.every((node) => cluster.db(node).list("N").every((entry) => entry.owner !== "w2") && !cluster.db(node).nodes("N").includes("w2")), 10_000),
    "w2's entries outlived its leave",
  );
  cluster.run(65_000); // two periodic bulk syncs: nothing of w2's may come back
  assert(reappeared.length === 0, `w2's entries reappeared on ${reappeared.join(", ")}`);
  awaitConvergence(cluster, stayers, "N", 1_000);
  assert(cluster.db("w2").list("N").length === 0, "w2 still shows the network it left");
  return { virtualMs: cluster.clock.now() };
}

/** A node restarted with its state lost: what it republishes wins, what it lost is deleted. */
export function restartScenario(seed: number): { virtualMs: number } {
  const { cluster, nodes } = startCluster({ seed, ...faults }, 5);
  for (const node of nodes) cluster.act(node, (db) => db.joinNetwork("N"));
  for (const node of nodes) for (let i = 0; i < 2; i++) cluster.act(node, (db) => db.createEntry("N", "endpoints", `${node}-${i}`, value(`${node}:${i}`)));
  // Many writes, so w3's Lamport clock is well ahead of a fresh process's.
  for (let i = 0; i < 30; i++) cluster.act("w3", (db) => db.updateEntry("N", "endpoints", "w3-0", value(`w3:0:${i}`)));
  awaitConvergence(cluster, nodes, "N", 60_000);
  cluster.crash("w3");
  cluster.run(2_000);
  const db = cluster.start("w3", ["w1"]);
  cluster.act("w3", () => db.joinNetwork("N"));
  cluster.act("w3", () => db.createEntry("N", "endpoints", "w3-0", value("w3:reborn")));
  awaitConvergence(cluster, nodes, "N", 60_000);
  for (const node of nodes) {
    const entries = viewOf(cluster.db(node), "N").filter((entry) => entry.includes("@w3="));
    assert(entries.join() === "endpoints/w3-0@w3=w3:reborn", `${node} sees ${entries.join(", ")} for w3`);
  }
  return { virtualMs: cluster.clock.now() };
}

/**
 * Many nodes on several overlapping networks, writes everywhere, two nodes cut off long enough
 * to be declared dead and then back: every network converges, and no node ever receives a
 * network-scoped message about a network it is not on.
 */
export function scaleScenario(seed: number, nodeCount = 20): { virtualMs: number; messages: number; convergedAfterMs: number } {
  const { cluster, nodes } = startCluster({ seed, ...faults }, nodeCount);
  const random = new SeededRandom(seed ^ 0x5ca1e);
  const networks = ["n0", "n1", "n2", "n3", "n4"];
  const members = new Map(networks.map((network) => [network, [] as string[]]));
  nodes.forEach((node, i) => {
    const mine = new Set([networks[i % networks.length] as string, networks[random.int(networks.length)] as string]);
    for (const network of mine) {
      members.get(network)?.push(node);
      cluster.act(node, (db) => db.joinNetwork(network));
    }
  });
  const networksOf = (node: string) => networks.filter((network) => members.get(network)?.includes(node));
  let nextKey = 0;
  const write = () => {
    const node = nodes[random.int(nodes.length)] as string;
    const mine = networksOf(node);
    const network = mine[random.int(mine.length)] as string;
    const own = cluster.db(node).list(network).filter((entry) => entry.owner === node);
    const target = own.length === 0 ? undefined : own[random.int(own.length)];
    cluster.act(node, (db) => {
      if (target === undefined || random.chance(0.5)) db.createEntry(network, "endpoints", `k${nextKey++}`, value(`${network}:${node}`));
      else if (random.chance(0.6)) db.updateEntry(network, target.table, target.key, value(`${network}:${node}:u`));
      else db.deleteEntry(network, target.table, target.key);
    });
  };
  for (let i = 0; i < 100; i++) {
    cluster.run(50);
    write();
  }
  const cut = [nodes[1] as string, nodes[nodes.length - 1] as string];
  for (const node of cut) cluster.isolate(node);
  const rest = nodes.filter((node) => !cut.includes(node));
  for (const node of cut) assert(cluster.runUntil(() => cluster.allSee(rest, node, ["dead"]), 90_000), `${node} was not declared dead while cut off`);
  for (let i = 0; i < 100; i++) {
    cluster.run(50);
    write();
  }
  cluster.heal();
  const healedAt = cluster.clock.now();
  for (const network of networks) awaitConvergence(cluster, members.get(network) ?? [], network, 120_000);
  const convergedAfterMs = cluster.clock.now() - healedAt;
  for (const { to, channel, message } of cluster.received) {
    if (message.type === "attachments") continue;
    assert(networksOf(to).includes(message.network), `${to} received a ${message.type} message about ${message.network} on ${channel}`);
  }
  return { virtualMs: cluster.clock.now(), messages: cluster.received.length, convergedAfterMs };
}

/** Every scenario, in order, for one seed (what `npm run sim -- networkdb --seed <n>` replays). */
export function simulate(seed: number, options: SimulateOptions = {}): Record<string, unknown> {
  return {
    scope: scopeScenario(seed),
    scopeOverMembership: scopeScenario(seed, "membership"),
    convergence: convergenceScenario(seed, options.nodes),
    failure: failureScenario(seed),
    reap: reapScenario(seed),
    disconnect: disconnectScenario(seed),
    leave: leaveScenario(seed),
    restart: restartScenario(seed),
    scale: scaleScenario(seed, options.nodes),
  };
}
