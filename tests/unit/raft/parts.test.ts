import { describe, expect, test } from "bun:test";
import { RAFT_DEFAULTS, raftConfig } from "../../../core/raft/config.ts";
import { CompactedError, RaftConfigError, SnapshotOutOfDateError, UnavailableError } from "../../../core/raft/errors.ts";
import { Inflights } from "../../../core/raft/inflights.ts";
import { committedIndex, quorumSize, voteResult } from "../../../core/raft/quorum.ts";
import { bootstrapLog, MemoryStorage } from "../../../core/raft/storage.ts";
import type { Entry } from "../../../core/raft/types.ts";

const entry = (index: number, term: number, bytes = 0): Entry => ({ index, term, type: "normal", data: new Uint8Array(bytes) });

describe("raft config", () => {
  test("defaults meet the failover target: worst-case election timeout plus a round trip under 1.5 s", () => {
    const config = raftConfig({ id: "a" });
    const worstTimeoutMs = 2 * config.electionTicks * config.tickMs;
    expect(worstTimeoutMs).toBeLessThanOrEqual(1000);
    expect(config.heartbeatTicks).toBeLessThan(config.electionTicks);
    expect(config.preVote && config.checkQuorum).toBe(true);
  });

  test("rejects missing or out-of-range values with the field's name", () => {
    expect(() => raftConfig({ id: "" })).toThrow(RaftConfigError);
    expect(() => raftConfig({ id: "a", electionTicks: 0 })).toThrow(/electionTicks/);
    expect(() => raftConfig({ id: "a", heartbeatTicks: 5, electionTicks: 5 })).toThrow(/electionTicks must exceed heartbeatTicks/);
    expect(() => raftConfig({ id: "a", maxInflightMsgs: 1.5 })).toThrow(/maxInflightMsgs/);
    expect(() => raftConfig({ id: "a", entriesKeptAfterSnapshot: -1 })).toThrow(/entriesKeptAfterSnapshot/);
    expect(() => raftConfig({ id: "a", readOnlyOption: "lease", checkQuorum: false })).toThrow(/requires checkQuorum/);
    expect(() => raftConfig({ id: "a", readOnlyOption: "fast" as never })).toThrow(/readOnlyOption/);
  });

  test("the defaults pass validation and are used as they are", () => {
    expect(raftConfig({ id: "a" })).toEqual({ ...RAFT_DEFAULTS, id: "a" });
  });
});

describe("MemoryStorage", () => {
  test("serves entries and terms in range and refuses compacted or missing ones", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(3);
    expect(storage.entries(1, 4, Infinity).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(storage.term(3)).toBe(2);
    expect(() => storage.entries(2, 5, Infinity)).toThrow(UnavailableError);
    storage.createSnapshot(2, { voters: ["a"], learners: [], votersOutgoing: [] }, new Uint8Array([1]));
    storage.compact(2);
    expect(storage.firstIndex()).toBe(3);
    expect(storage.term(2)).toBe(1);
    expect(() => storage.entries(2, 3, Infinity)).toThrow(CompactedError);
    expect(() => storage.term(1)).toThrow(CompactedError);
  });

  test("limits reads by bytes but always returns at least one entry", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1, 100), entry(2, 1, 100), entry(3, 1, 100)]);
    expect(storage.entries(1, 4, 1)).toHaveLength(1);
    expect(storage.entries(1, 4, 250)).toHaveLength(2);
  });

  test("append replaces a conflicting suffix and refuses a gap", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    storage.append([entry(2, 2)]);
    expect(storage.lastIndex()).toBe(2);
    expect(storage.term(2)).toBe(2);
    expect(() => storage.append([entry(5, 2)])).toThrow(UnavailableError);
  });

  test("applying a snapshot replaces the log; an older snapshot is refused", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1)]);
    const conf = { voters: ["a"], learners: [], votersOutgoing: [] };
    storage.applySnapshot({ meta: { index: 10, term: 3, conf }, data: new Uint8Array() });
    expect(storage.firstIndex()).toBe(11);
    expect(storage.lastIndex()).toBe(10);
    expect(storage.term(10)).toBe(3);
    expect(() => storage.applySnapshot({ meta: { index: 5, term: 2, conf }, data: new Uint8Array() })).toThrow(SnapshotOutOfDateError);
  });

  test("bootstrap writes one committed membership entry per founding member", () => {
    const { entries, hardState } = bootstrapLog({ voters: ["a", "b"], learners: ["c"], votersOutgoing: [] });
    expect(entries.map((e) => e.type)).toEqual(["conf", "conf", "conf"]);
    expect(hardState).toEqual({ term: 1, vote: "", commit: 3 });
  });
});

describe("quorum math", () => {
  test("majorities", () => {
    expect([1, 2, 3, 4, 5].map(quorumSize)).toEqual([1, 2, 2, 3, 3]);
  });

  test("the committed index is the highest index on a majority", () => {
    const match: Record<string, number> = { a: 10, b: 7, c: 3, d: 9, e: 1 };
    expect(committedIndex(["a", "b", "c", "d", "e"], (id) => match[id] ?? 0)).toBe(7);
    expect(committedIndex(["a", "b", "c", "d"], (id) => match[id] ?? 0)).toBe(7);
    expect(committedIndex([], () => 5)).toBe(0);
  });

  test("elections are won, lost or pending", () => {
    const voters = ["a", "b", "c"];
    expect(voteResult(voters, new Map([["a", true]]))).toBe("pending");
    expect(voteResult(voters, new Map([["a", true], ["b", true]]))).toBe("won");
    expect(voteResult(voters, new Map([["a", true], ["b", false], ["c", false]]))).toBe("lost");
    // Votes from non-voters do not count.
    expect(voteResult(voters, new Map([["a", true], ["x", true]]))).toBe("pending");
  });
});

describe("Inflights", () => {
  test("fills up by count or by bytes and frees acknowledged appends", () => {
    const byCount = new Inflights(2, 0);
    byCount.add(5, 10);
    byCount.add(8, 10);
    expect(byCount.full()).toBe(true);
    byCount.freeLE(5);
    expect(byCount.full()).toBe(false);
    expect(byCount.count()).toBe(1);
    const byBytes = new Inflights(100, 50);
    byBytes.add(1, 30);
    expect(byBytes.full()).toBe(false);
    byBytes.add(2, 30);
    expect(byBytes.full()).toBe(true);
    byBytes.freeFirstOne();
    expect(byBytes.bytes()).toBe(30);
  });
});
