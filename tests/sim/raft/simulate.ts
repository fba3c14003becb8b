/**
 * The Raft simulation (`npm run sim -- raft`): a 3- or 5-voter cluster with a KV state
 * machine, clients doing puts and ReadIndex gets, and a seeded fault schedule: message loss,
 * duplication and reordering, partitions, leader isolation, crashes that lose unsynced
 * writes, restarts, leadership transfers, snapshots (small thresholds, small chunks) and
 * membership changes (learners added, promoted, voters removed) mid-run.
 *
 * Checked every run: one leader per term, leader completeness, state machine safety (every
 * node applies the same entry at each index), log matching (periodically and at the end),
 * linearizability of the client history, and liveness: once faults stop, a leader commits a
 * new entry within `COMMIT_BOUND_TICKS`, and every member applies it within
 * `CATCH_UP_BOUND_TICKS`.
 */
import { MemoryStorage } from "../../../core/raft/storage.ts";
import type { ConfState, Message, NodeId } from "../../../core/raft/types.ts";
import { SeededRandom, Trace, VirtualClock, VirtualNetwork, type Random } from "../../kit/index.ts";
import { checkLinearizable, kvModel } from "../../kit/linearizability.ts";
import type { SimulateOptions } from "../registry.ts";
import { SimRaftCluster, unlessDropped } from "./cluster.ts";
import { SafetyMonitor } from "./invariants.ts";
import { encodePut } from "./kv.ts";
import { Workload } from "./clients.ts";

const TICK_MS = 20;
const FAULT_PHASE_MS = 3_000;
const COMMIT_BOUND_TICKS = 100;
const CATCH_UP_BOUND_TICKS = 300;
const LIVENESS_KEY = "__liveness";

/** What one run did. */
export interface RaftRunSummary {
  voters: number;
  leaders: number;
  appliedEntries: number;
  operations: number;
  completed: number;
  ticksToCommitAfterFaults: number;
  snapshotsInstalled: number;
  /** How many times each kind of fault was injected. */
  faults: Record<string, number>;
  finalConf: ConfState;
}

/** One run; throws on the first violated property. */
export function simulate(seed: number, options: SimulateOptions = {}): RaftRunSummary {
  const random = new SeededRandom(seed);
  const voterCount = options.nodes ?? (seed % 2 === 0 ? 5 : 3);
  const clock = new VirtualClock();
  // SHOAL_TRACE=1 keeps the last network events, printed when the seed fails (for replays).
  const trace = process.env.SHOAL_TRACE ? new Trace({ clock, keep: 400 }) : undefined;
  const net = new VirtualNetwork<Message>({
    clock,
    random: random.fork(),
    latency: { minMs: 1, maxMs: 8 },
    reorderDelayMs: 30,
    ...(trace === undefined ? {} : { trace, describe: describeMessage }),
  });
  try {
    return run(random, voterCount, clock, net);
  } catch (error) {
    if (trace !== undefined) console.error(trace.tail().join("\n"));
    throw error;
  }
}

function describeMessage(m: Message): string {
  return `${m.type} t${m.term} i${m.index} lt${m.logTerm} c${m.commit} n${m.entries.length}${m.reject ? ` reject hint ${m.rejectHint}` : ""}`;
}

function run(random: Random, voterCount: number, clock: VirtualClock, net: VirtualNetwork<Message>): RaftRunSummary {
  const monitor = new SafetyMonitor();
  const workload = new Workload({ clock, random: random.fork(), keys: ["x", "y", "z"], timeoutMs: 400, thinkMs: 20 });
  const cluster = new SimRaftCluster({
    clock,
    random: random.fork(),
    net,
    monitor,
    observer: workload,
    maxPersistDelayMs: 3,
    raft: {
      tickMs: TICK_MS,
      // Without either, a removed node that never learned of its removal keeps deposing
      // leaders (the known disruptive-server problem), so at least one is always on.
      ...preVoteAndCheckQuorum(random),
      snapshotThreshold: 15 + random.int(40),
      entriesKeptAfterSnapshot: random.int(10),
      maxSnapshotChunkBytes: 64 + random.int(512),
      maxSizePerMsg: 256 + random.int(2048),
      maxInflightMsgs: 1 + random.int(8),
    },
  });

  const founders = Array.from({ length: voterCount }, (_, i) => `n${i + 1}`);
  for (const id of founders) cluster.spawn(id, MemoryStorage.bootstrap({ voters: founders, learners: [], votersOutgoing: [] }));
  const faults = new FaultSchedule(random.fork(), cluster, net, voterCount);
  workload.start(cluster, 3, () => faults.members());
  const logCheck = clock.every(250, () => cluster.checkLogMatching());

  // Faults come and go for the whole fault phase.
  for (let at = 0; at < FAULT_PHASE_MS; at += 50 + random.int(300)) clock.setTimer(at, () => faults.next());
  clock.advance(FAULT_PHASE_MS);

  // Faults stop: heal, restart members, shut down nodes no longer in the cluster.
  net.heal();
  net.setLoss(0);
  net.setDuplication(0);
  net.setReorder(0);
  for (const id of cluster.nodes.keys()) cluster.restart(id);

  // Liveness: a leader commits a new entry within the bound, then every member applies it.
  const healedAt = clock.now();
  let proposedTerm = -1;
  const marker = encodePut({ client: LIVENESS_KEY, seq: 1, key: LIVENESS_KEY, value: "done" });
  const committed = clock.runUntil(
    () => {
      const leader = cluster.leaders()[0];
      if (leader?.raft !== undefined && leader.raft.raft.term !== proposedTerm) {
        if (unlessDropped(() => cluster.act(leader, (raft) => raft.propose(marker)))) proposedTerm = leader.raft.raft.term;
      }
      const voters = faults.latestConf().voters;
      const applied = voters.filter((id) => cluster.get(id).machine.get(LIVENESS_KEY) === "done").length;
      return applied > voters.length / 2;
    },
    COMMIT_BOUND_TICKS * TICK_MS,
    TICK_MS,
  );
  if (!committed) throw new Error(`liveness: no commit within ${COMMIT_BOUND_TICKS} ticks after faults stopped (${describe(cluster)})`);
  const ticksToCommit = Math.ceil((clock.now() - healedAt) / TICK_MS);
  const caughtUp = clock.runUntil(() => {
    const conf = faults.latestConf();
    return [...conf.voters, ...conf.learners].every((id) => cluster.get(id).machine.get(LIVENESS_KEY) === "done");
  }, CATCH_UP_BOUND_TICKS * TICK_MS, TICK_MS);
  if (!caughtUp) {
    const ids = [...cluster.nodes.keys()];
    const reach = ids.map((a) => ids.filter((b) => b !== a && !net.canReach(a, b)).map((b) => `${a}->${b}`).join(",")).join(" ");
    throw new Error(`liveness: members did not all apply the new entry within ${CATCH_UP_BOUND_TICKS} ticks (${describe(cluster)}) unreachable: ${reach} stats ${JSON.stringify(net.stats())}`);
  }

  workload.stop();
  clock.clearTimer(logCheck);
  cluster.checkLogMatching();
  const verdict = checkLinearizable(kvModel, workload.history);
  if (!verdict.ok) throw new Error(`linearizability: no valid order for this sub-history:\n  ${verdict.counterexample?.join("\n  ")}`);

  return {
    voters: voterCount,
    leaders: faults.leadersSeen.size,
    appliedEntries: monitor.appliedCount(),
    operations: workload.history.length,
    completed: workload.completed,
    ticksToCommitAfterFaults: ticksToCommit,
    snapshotsInstalled: cluster.snapshotsInstalled,
    faults: faults.injected,
    finalConf: faults.latestConf(),
  };
}

function preVoteAndCheckQuorum(random: Random): { preVote: boolean; checkQuorum: boolean } {
  const preVote = random.chance(0.75);
  return { preVote, checkQuorum: preVote ? random.chance(0.75) : true };
}

function describe(cluster: SimRaftCluster): string {
  return [...cluster.nodes.values()]
    .map((n) => {
      const s = n.raft?.status();
      if (s === undefined) return `${n.id}: down`;
      const peers = [...s.peers].map(([id, p]) => `${id}=${p.state}/${p.match}/${p.next}${p.recentActive ? "" : "(idle)"}`).join(" ");
      return `${n.id}: ${s.role} t${s.term} commit ${s.commit} applied ${s.applied} last ${s.lastIndex} voters ${s.conf.voters.join(",")}${peers ? ` [${peers}]` : ""}`;
    })
    .join("; ");
}

/** Draws the next fault each time it is called. */
class FaultSchedule {
  /** `leader@term` pairs observed, to report how many elections a run had. */
  readonly leadersSeen = new Set<string>();
  /** Count of each fault kind injected. */
  readonly injected: Record<string, number> = {};
  private nextId: number;

  constructor(
    private readonly random: Random,
    private readonly cluster: SimRaftCluster,
    private readonly net: VirtualNetwork<Message>,
    private readonly baseVoters: number,
  ) {
    this.nextId = baseVoters + 1;
  }

  /** The membership as applied by the most advanced running node. */
  latestConf(): ConfState {
    let best: { applied: number; conf: ConfState } | undefined;
    for (const node of this.cluster.nodes.values()) {
      const raft = node.raft;
      if (raft === undefined) continue;
      if (best === undefined || node.applied > best.applied) best = { applied: node.applied, conf: raft.confState() };
    }
    return best?.conf ?? { voters: [], learners: [], votersOutgoing: [] };
  }

  /** Current members (voters and learners) of the latest configuration. */
  members(): NodeId[] {
    const conf = this.latestConf();
    return [...conf.voters, ...conf.learners];
  }

  next(): void {
    for (const leader of this.cluster.leaders()) this.leadersSeen.add(`${leader.id}@${leader.raft?.raft.term}`);
    const ids = [...this.cluster.nodes.keys()];
    const pick = () => ids[this.random.int(ids.length)] as NodeId;
    const roll = this.random.int(100);
    if (roll < 10) {
      // A random split into two sides.
      const shuffled = this.random.shuffle([...ids]);
      const cut = 1 + this.random.int(Math.max(1, shuffled.length - 1));
      this.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      this.count("partition");
    } else if (roll < 18) {
      const leader = this.cluster.leaders()[0];
      if (leader !== undefined) {
        this.net.isolate(leader.id);
        this.count("isolateLeader");
      }
    } else if (roll < 38) {
      this.net.heal();
    } else if (roll < 48) {
      this.cluster.crash(pick());
      this.count("crash");
    } else if (roll < 62) {
      for (const id of ids) if (!this.cluster.isUp(id) && this.random.chance(0.5)) this.cluster.restart(id);
    } else if (roll < 72) {
      this.net.setLoss(this.random.chance(0.5) ? 0 : this.random.next() * 0.3);
      this.net.setDuplication(this.random.chance(0.5) ? 0 : this.random.next() * 0.2);
      this.net.setReorder(this.random.chance(0.5) ? 0 : this.random.next() * 0.3);
      this.count("linkQuality");
    } else if (roll < 88) {
      this.changeMembership();
    } else if (roll < 94) {
      const leader = this.cluster.leaders()[0];
      const voters = leader?.raft?.confState().voters ?? [];
      const target = voters[this.random.int(Math.max(1, voters.length))];
      if (leader !== undefined && target !== undefined && unlessDropped(() => this.cluster.act(leader, (raft) => raft.transferLeadership(target)))) this.count("transfer");
    }
    // Otherwise: a quiet spell.
  }

  /** One step of a membership cycle: add a learner, promote it, remove a voter. */
  private changeMembership(): void {
    const leader = this.cluster.leaders()[0];
    const raft = leader?.raft;
    if (leader === undefined || raft === undefined) return;
    const conf = raft.confState();
    const learner = conf.learners[0];
    if (learner !== undefined) {
      if (unlessDropped(() => this.cluster.act(leader, (node) => node.promoteLearner(learner)))) this.count("promoteLearner");
    } else if (conf.voters.length > this.baseVoters) {
      const victim = conf.voters[this.random.int(conf.voters.length)] as NodeId;
      if (unlessDropped(() => this.cluster.act(leader, (node) => node.removeNode(victim)))) this.count("removeVoter");
    } else {
      // Node ids are never reused: a removed node's old votes must not meet a fresh disk.
      const id = `n${this.nextId++}`;
      this.cluster.spawn(id, new MemoryStorage());
      if (unlessDropped(() => this.cluster.act(leader, (node) => node.addLearner(id)))) this.count("addLearner");
    }
  }

  private count(kind: string): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
  }
}
