/**
 * Failover time with the default timing (`npm run sim -- raft-failover`): a 3-node cluster on
 * a LAN-like network (0–2 ms links) with `RAFT_DEFAULTS`; the leader crashes at a random
 * moment, and the run measures the virtual time until a new leader has committed and applied
 * a write. The target is under 1.5 s at the worst draw, not just on average.
 */
import { RAFT_DEFAULTS } from "../../../core/raft/config.ts";
import { MemoryStorage } from "../../../core/raft/storage.ts";
import type { Message } from "../../../core/raft/types.ts";
import { SeededRandom, VirtualClock, VirtualNetwork } from "../../kit/index.ts";
import type { SimulateOptions } from "../registry.ts";
import { SimRaftCluster, unlessDropped } from "./cluster.ts";
import { SafetyMonitor } from "./invariants.ts";
import { encodePut } from "./kv.ts";

/** The failover bound the defaults must meet. */
export const FAILOVER_TARGET_MS = 1500;

/** What one failover took. */
export interface FailoverSummary {
  failoverMs: number;
  oldLeader: string;
  newLeader: string;
}

/** One failover; throws when no new leader commits within twice the target. */
export function simulate(seed: number, options: SimulateOptions = {}): FailoverSummary {
  const random = new SeededRandom(seed);
  const clock = new VirtualClock();
  const net = new VirtualNetwork<Message>({ clock, random: random.fork(), latency: { minMs: 0, maxMs: 2 } });
  const cluster = new SimRaftCluster({
    clock,
    random: random.fork(),
    net,
    monitor: new SafetyMonitor(),
    observer: { putApplied: () => {}, readReady: () => {} },
    raft: {},
    maxPersistDelayMs: 2,
  });
  const ids = Array.from({ length: options.nodes ?? 3 }, (_, i) => `n${i + 1}`);
  for (const id of ids) cluster.spawn(id, MemoryStorage.bootstrap({ voters: ids, learners: [], votersOutgoing: [] }));
  if (!clock.runUntil(() => cluster.leaders().length === 1, 10_000, 10)) throw new Error("no leader elected at start");
  // Crash at a random point of the heartbeat cycle.
  clock.advance(1000 + random.int(RAFT_DEFAULTS.tickMs * 10));
  const old = cluster.leaders()[0];
  if (old === undefined) throw new Error("leader lost before the crash");
  cluster.crash(old.id);
  const crashedAt = clock.now();
  const key = "failover";
  let proposedTerm = -1;
  const recovered = clock.runUntil(
    () => {
      const leader = cluster.leaders().find((n) => n.id !== old.id);
      if (leader?.raft === undefined) return false;
      if (leader.raft.raft.term !== proposedTerm) {
        const put = encodePut({ client: key, seq: leader.raft.raft.term, key, value: "written" });
        if (unlessDropped(() => cluster.act(leader, (raft) => raft.propose(put)))) proposedTerm = leader.raft.raft.term;
      }
      return leader.machine.get(key) === "written";
    },
    2 * FAILOVER_TARGET_MS,
    1,
  );
  if (!recovered) throw new Error(`no new leader committed a write within ${2 * FAILOVER_TARGET_MS} ms of the leader crash`);
  const newLeader = cluster.leaders().find((n) => n.id !== old.id)?.id ?? "?";
  return { failoverMs: clock.now() - crashedAt, oldLeader: old.id, newLeader };
}
