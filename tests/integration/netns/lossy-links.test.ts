/**
 * Imperfect links between real hosts: three managers and two workers, each `dist/shoal agent` in
 * its own network namespace. One-way loss (a worker hears nothing from one manager; the leader
 * hears nothing from one follower) and a lossy link (a manager losing packets both ways, at
 * random) are made with nftables; delay and loss
 * with tc netem where the kernel has it. Through each window the cluster must stay as it was:
 * nobody declared dead by gossip, every node ready, and at most one leader change.
 */
import { describe, expect, test } from "bun:test";
import { gossipMembersOf, logCount, netemUnavailable, netnsClusterForFile, netnsUnavailable } from "./harness.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.log(`netns lossy-link tests skipped: ${unavailable}`);
const netemMissing = unavailable === undefined ? netemUnavailable() : unavailable;
if (unavailable === undefined && netemMissing) console.log(`netns netem test skipped: ${netemMissing}`);

/** How long each fault is held while the cluster is watched. */
const WINDOW_MS = 12_000;
/** Leader changes tolerated over a window: one unlucky election, never a churn. */
const MAX_LEADER_CHANGES = 1;

const managerNames = ["m1", "m2", "m3"];
const netns = netnsClusterForFile(managerNames, ["w1", "w2"]);

/** Gossip deaths logged by every node, and elections won by every manager, so far. */
function tally(): { deaths: number; elections: number } {
  let deaths = 0;
  let elections = 0;
  for (const each of netns.nodes()) {
    deaths += logCount(each, "gossip member dead");
    if (managerNames.includes(each.name)) elections += logCount(each, "raft role changed", "role=leader");
  }
  return { deaths, elections };
}

/**
 * Watches the cluster for `WINDOW_MS` with the faults in place: samples the leader each manager
 * sees, then checks nobody was declared dead, the leader changed at most `MAX_LEADER_CHANGES`
 * times, every node is still listed ready and every gossip view has every member alive or suspect.
 */
async function expectStableThroughWindow(what: string): Promise<void> {
  const before = tally();
  const managers = managerNames.map(netns.node);
  const leaders: string[] = [];
  const started = performance.now();
  while (performance.now() - started < WINDOW_MS) {
    const seen = await Promise.all(managers.map((manager) => netns.cluster.leaderSeenBy(manager).catch(() => "")));
    for (const leader of seen) if (leader !== "" && leader !== leaders.at(-1)) leaders.push(leader);
    await Bun.sleep(200);
  }
  const after = tally();
  console.log(`netns ${what}: over ${WINDOW_MS} ms, ${after.deaths - before.deaths} gossip deaths, ${after.elections - before.elections} elections, leaders seen ${leaders.length}`);
  expect(after.deaths - before.deaths).toBe(0);
  expect(after.elections - before.elections).toBeLessThanOrEqual(MAX_LEADER_CHANGES);
  expect(leaders.length - 1).toBeLessThanOrEqual(MAX_LEADER_CHANGES);
  const listed = netns.cluster.list(netns.node("m1"));
  expect(listed.filter((entry) => entry.status !== "ready").map((entry) => `${entry.hostname} ${entry.status}`)).toEqual([]);
  for (const each of netns.nodes()) {
    const members = await gossipMembersOf(each);
    expect(members.filter((member) => member.state === "dead" || member.state === "left").map((member) => `${each.name} sees ${member.meta?.hostname} ${member.state}`)).toEqual([]);
    expect(members.length).toBe(netns.nodes().length);
  }
}

describe("lossy links between network namespaces", () => {
  test.skipIf(unavailable !== undefined)("one-way loss and a randomly lossy link leave the cluster as it was", async () => {
    netns.lab.dropInbound(netns.node("w1").host, [netns.node("m2").host]);
    netns.lab.lossyLink(netns.node("m3").host, 15);
    await expectStableThroughWindow("one-way loss w1<-m2, 15% loss at m3");
  }, 60_000);

  test.skipIf(unavailable !== undefined)("a leader that hears nothing from one follower keeps leading and nobody is declared dead", async () => {
    const leader = netns.cluster.list(netns.node("m1")).find((entry) => entry.managerStatus === "leader");
    const follower = managerNames.map(netns.node).find((manager) => manager.name !== leader?.hostname);
    if (!leader || !follower) throw new Error("no leader and follower to cut one way");
    netns.lab.dropInbound(netns.node(leader.hostname).host, [follower.host]);
    await expectStableThroughWindow(`one-way loss ${leader.hostname}<-${follower.name} (leader from a follower)`);
  }, 60_000);

  test.skipIf(netemMissing !== undefined)("delay with jitter and loss from tc netem leave the cluster as it was", async () => {
    for (const name of ["m3", "w2"]) netns.lab.netem(netns.node(name).host, ["delay", "20ms", "10ms", "loss", "10%"]);
    await expectStableThroughWindow("netem 20±10 ms, 10% loss at m3 and w2");
  }, 60_000);
});
