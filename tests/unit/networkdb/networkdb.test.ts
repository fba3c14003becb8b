import { describe, expect, test } from "bun:test";
import { SeededRandom } from "../../../core/common/random.ts";
import { decodeMessage } from "../../../core/gossip/networkdb/codec.ts";
import { applyMemberEvent, sendOutbox } from "../../../core/gossip/networkdb/membership.ts";
import { NetworkDb, NetworkDbError } from "../../../core/gossip/networkdb/networkdb.ts";
import type { WatchEvent } from "../../../core/gossip/networkdb/types.ts";
import type { Member } from "../../../core/gossip/types.ts";
import { Fixture, str, text } from "./fixture.ts";

const limits = { maxValueBytes: 640, maxReapInMs: Number.MAX_SAFE_INTEGER };

function joined(names: string[], network: string, fixture = new Fixture(names)): Fixture {
  for (const name of names) fixture.db(name).joinNetwork(network);
  fixture.settle();
  return fixture;
}

const keys = (db: NetworkDb, network: string) => db.list(network).map((view) => `${view.key}=${str(view.value)}`).sort();

describe("local API", () => {
  test("writes need an attached network, valid names, a free key, ownership and a bounded value", () => {
    const fixture = joined(["a", "b"], "L");
    const a = fixture.db("a");
    const b = fixture.db("b");
    expect(() => a.createEntry("R", "t", "k", text("v"))).toThrow(NetworkDbError);
    expect(() => a.createEntry("L", "t", "bad key", text("v"))).toThrow(NetworkDbError);
    expect(() => a.joinNetwork("")).toThrow(NetworkDbError);
    expect(() => a.createEntry("L", "t", "k", new Uint8Array(641))).toThrow(/maxValueBytes/);
    a.createEntry("L", "t", "k", text("v"));
    expect(() => a.createEntry("L", "t", "k", text("again"))).toThrow(/already exists/);
    fixture.run(1_000);
    expect(() => b.updateEntry("L", "t", "k", text("mine?"))).toThrow(/owned by a/);
    expect(() => b.deleteEntry("L", "t", "k")).toThrow(/owned by a/);
    expect(() => a.updateEntry("L", "t", "missing", text("v"))).toThrow(/no entry/);
    a.deleteEntry("L", "t", "k");
    expect(() => a.deleteEntry("L", "t", "k")).toThrow(/no entry/);
    expect(a.get("L", "t", "k")).toBeUndefined();
    a.createEntry("L", "t", "k", text("reborn"));
    expect(str(a.get("L", "t", "k")?.value)).toBe("reborn");
  });

  test("joining and leaving is idempotent and reported by networks() and nodes()", () => {
    const fixture = joined(["a", "b"], "L");
    const a = fixture.db("a");
    a.joinNetwork("L");
    expect(a.networks()).toEqual(["L"]);
    expect(a.nodes("L").sort()).toEqual(["a", "b"]);
    a.leaveNetwork("L");
    a.leaveNetwork("L");
    fixture.settle();
    expect(a.networks()).toEqual([]);
    expect(fixture.db("b").nodes("L")).toEqual(["b"]);
  });
});

describe("replication", () => {
  test("creates, updates and deletes reach every node on the network with watch events", () => {
    const fixture = joined(["a", "b", "c"], "L");
    const events: WatchEvent[] = [];
    fixture.db("c").watch({ network: "L", table: "t" }, (event) => events.push(event));
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.db("a").createEntry("L", "other", "k", text("x"));
    fixture.run(1_000);
    fixture.db("a").updateEntry("L", "t", "k", text("2"));
    fixture.run(1_000);
    fixture.db("a").deleteEntry("L", "t", "k");
    fixture.run(1_000);
    expect(events.map((event) => `${event.kind} ${event.entry.key}=${str(event.entry.value)}`)).toEqual(["create k=1", "update k=2", "delete k=2"]);
    expect(keys(fixture.db("b"), "L")).toEqual(["k=x"]);
  });

  test("watch replays what is visible, can skip the replay, and stops after cancel", () => {
    const fixture = joined(["a", "b"], "L");
    fixture.db("a").createEntry("L", "t", "k1", text("1"));
    fixture.run(1_000);
    const replayed: string[] = [];
    const live: string[] = [];
    const cancel = fixture.db("b").watch({ network: "L" }, (event) => replayed.push(`${event.kind} ${event.entry.key}`));
    fixture.db("b").watch({ network: "L", replay: false }, (event) => live.push(`${event.kind} ${event.entry.key}`));
    expect(replayed).toEqual(["create k1"]);
    cancel();
    fixture.db("a").createEntry("L", "t", "k2", text("2"));
    fixture.run(1_000);
    expect(replayed).toEqual(["create k1"]);
    expect(live).toEqual(["create k2"]);
  });

  test("a listener writing from inside its callback sees its write delivered after the current event", () => {
    const fixture = joined(["a"], "L");
    const a = fixture.db("a");
    const seen: string[] = [];
    a.watch({ network: "L" }, (event) => {
      seen.push(`${event.kind} ${event.entry.key}`);
      if (event.entry.key === "first") a.createEntry("L", "t", "second", text("2"));
    });
    a.createEntry("L", "t", "first", text("1"));
    expect(seen).toEqual(["create first", "create second"]);
  });

  test("a listener that throws is reported and skipped; state and other listeners are unaffected", () => {
    const errors: string[] = [];
    const db = new NetworkDb({ self: "a", random: new SeededRandom(1), now: 0, onListenerError: (error, event) => errors.push(`${String(error)} on ${event.kind} ${event.entry.key}`) });
    db.joinNetwork("L");
    const seen: string[] = [];
    db.watch({ network: "L" }, () => {
      throw new Error("listener bug");
    });
    db.watch({ network: "L" }, (event) => seen.push(event.entry.key));
    db.createEntry("L", "t", "k1", text("1"));
    db.createEntry("L", "t", "k2", text("2"));
    expect(seen).toEqual(["k1", "k2"]);
    expect(errors).toEqual(["Error: listener bug on create k1", "Error: listener bug on create k2"]);
    expect(db.stats().listenerErrors).toBe(2);
    expect(db.list("L").length).toBe(2);
  });

  test("entries never reach nodes outside their network", () => {
    const fixture = new Fixture(["w1", "w2", "w3"]);
    fixture.db("w1").joinNetwork("L");
    fixture.db("w2").joinNetwork("L");
    fixture.db("w2").joinNetwork("R");
    fixture.db("w3").joinNetwork("R");
    fixture.settle();
    fixture.db("w1").createEntry("L", "t", "l", text("L"));
    fixture.db("w3").createEntry("R", "t", "r", text("R"));
    fixture.run(5_000);
    expect(keys(fixture.db("w2"), "L")).toEqual(["l=L"]);
    expect(keys(fixture.db("w2"), "R")).toEqual(["r=R"]);
    expect(fixture.db("w1").list("R")).toEqual([]);
    expect(fixture.delivered.filter((message) => message.to === "w1" && message.network === "R")).toEqual([]);
    expect(fixture.delivered.filter((message) => message.to === "w3" && message.network === "L")).toEqual([]);
  });

  test("gossip messages stay under maxMessageBytes and bulk syncs split at maxBulkSyncBytes", () => {
    const fixture = joined(["a", "b"], "L", new Fixture(["a", "b"], { maxBulkSyncBytes: 4_096 }));
    for (let i = 0; i < 60; i++) fixture.db("a").createEntry("L", "t", `key-${i}`, new Uint8Array(200).fill(i));
    fixture.run(10_000);
    expect(fixture.db("b").list("L").length).toBe(60);
    const gossip = fixture.delivered.filter((message) => message.transport === "packet" && message.network === "L");
    expect(gossip.length).toBeGreaterThan(10);
    expect(Math.max(...gossip.map((message) => message.bytes.length))).toBeLessThanOrEqual(1_300);
    // A fresh node's join pulls all 60 entries in several bulk messages, each under the cap.
    fixture.dbs.set("c", new NetworkDb({ self: "c", random: new SeededRandom(9), now: fixture.now, config: { maxBulkSyncBytes: 4_096 } }));
    for (const other of ["a", "b"]) {
      fixture.db("c").memberAlive(other);
      fixture.db(other).memberAlive("c");
    }
    fixture.db("c").mergeRemoteState(fixture.db("a").localState());
    const before = fixture.delivered.length;
    fixture.db("c").joinNetwork("L");
    fixture.settle();
    const bulk = fixture.delivered.slice(before).filter((message) => message.transport === "stream" && message.to === "c");
    expect(bulk.length).toBeGreaterThan(3);
    expect(Math.max(...bulk.map((message) => message.bytes.length))).toBeLessThanOrEqual(4_096);
    expect(fixture.db("c").list("L").length).toBe(60);
  });
});

describe("failed nodes", () => {
  test("a failed owner's entries are hidden, kept fresh, and restored when it is alive again", () => {
    const fixture = joined(["a", "b", "c"], "L");
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.run(1_000);
    const events: string[] = [];
    fixture.db("c").watch({ network: "L", replay: false }, (event) => events.push(`${event.kind} ${str(event.entry.value)}`));
    fixture.db("b").memberFailed("a");
    fixture.db("c").memberFailed("a");
    expect(fixture.db("c").get("L", "t", "k")).toBeUndefined();
    expect(fixture.db("c").nodes("L").sort()).toEqual(["b", "c"]);
    // While failed for c, a's update still arrives through b and is stored, hidden.
    fixture.db("c").memberAlive("b");
    fixture.db("a").updateEntry("L", "t", "k", text("2"));
    fixture.db("b").memberAlive("a");
    fixture.run(2_000);
    expect(fixture.db("c").get("L", "t", "k")).toBeUndefined();
    fixture.db("c").memberAlive("a");
    fixture.settle();
    expect(str(fixture.db("c").get("L", "t", "k")?.value)).toBe("2");
    expect(events).toEqual(["delete 1", "create 2"]);
  });

  test("membership's verdict is trusted: a node reaped by membership may return at a lower incarnation", () => {
    const fixture = joined(["a", "b"], "L");
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.run(1_000);
    const b = fixture.db("b");
    const member = (incarnation: number): Member => ({ name: "a", address: "a", meta: new Uint8Array(), incarnation, state: "alive", stateChangedAt: 0 });
    applyMemberEvent(b, { type: "member", change: "dead", member: member(5) });
    applyMemberEvent(b, { type: "member", change: "reap", member: member(5) });
    expect(b.get("L", "t", "k")).toBeUndefined();
    applyMemberEvent(b, { type: "member", change: "join", member: member(1) });
    expect(str(b.get("L", "t", "k")?.value)).toBe("1");
  });

  test("a failed node's state is dropped after nodeReapTimeout, and republished if it comes back later", () => {
    const fixture = joined(["a", "b"], "L", new Fixture(["a", "b"], { nodeReapTimeout: 60_000, reapInterval: 1_000 }));
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.run(1_000);
    fixture.unreachable.add("a");
    fixture.db("b").memberFailed("a");
    fixture.db("a").memberFailed("b");
    fixture.run(59_000);
    expect(fixture.db("b").nodes("L")).toEqual(["b"]);
    expect(fixture.db("b").localState().length).toBeGreaterThan(0);
    fixture.run(3_000);
    const state = decodeMessage(fixture.db("b").localState(), limits);
    expect(state.type === "attachments" && state.records.map((record) => record.node)).toEqual(["b"]);
    // a comes back long after: it republishes its entries and relearns b's.
    fixture.db("b").createEntry("L", "t", "kb", text("b"));
    fixture.unreachable.delete("a");
    fixture.db("b").memberAlive("a");
    fixture.db("a").memberAlive("b");
    fixture.run(10_000);
    expect(keys(fixture.db("b"), "L")).toEqual(["k=1", "kb=b"]);
    expect(keys(fixture.db("a"), "L")).toEqual(["k=1", "kb=b"]);
  });

  test("a member that left gracefully has its entries dropped at once", () => {
    const fixture = joined(["a", "b"], "L");
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.run(1_000);
    fixture.db("b").memberLeft("a");
    expect(fixture.db("b").list("L")).toEqual([]);
    expect(fixture.db("b").nodes("L")).toEqual(["b"]);
  });

  test("applyMemberEvent maps membership changes", () => {
    const fixture = joined(["a", "b"], "L");
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.run(1_000);
    const b = fixture.db("b");
    const member = (incarnation: number): Member => ({ name: "a", address: "a", meta: new Uint8Array(), incarnation, state: "alive", stateChangedAt: 0 });
    applyMemberEvent(b, { type: "member", change: "suspect", member: member(1) });
    expect(b.get("L", "t", "k")).toBeDefined();
    applyMemberEvent(b, { type: "member", change: "dead", member: member(1) });
    expect(b.get("L", "t", "k")).toBeUndefined();
    applyMemberEvent(b, { type: "member", change: "reap", member: member(1) });
    applyMemberEvent(b, { type: "member", change: "join", member: member(2) });
    expect(b.get("L", "t", "k")).toBeDefined();
    applyMemberEvent(b, { type: "joinComplete", contacted: 1 });
    applyMemberEvent(b, { type: "member", change: "leave", member: member(2) });
    expect(b.list("L")).toEqual([]);
  });
});

test("sendOutbox sends gossip as datagrams and bulk syncs as streams, counting unknown destinations", () => {
  const fixture = joined(["a", "b"], "L");
  fixture.db("a").createEntry("L", "t", "k", text("1"));
  fixture.db("a").memberFailed("b");
  fixture.db("a").memberAlive("b"); // sends a's attachments (datagram) and a bulk sync (stream)
  fixture.db("a").tick(1_000); // gossips the entry (datagram)
  const calls: string[] = [];
  const membership = {
    sendUser: (to: string, data: Uint8Array) => (calls.push(`packet ${to} ${decodeMessage(data, limits).type}`), to === "b"),
    sendUserReliable: (to: string, data: Uint8Array) => (calls.push(`stream ${to} ${decodeMessage(data, limits).type}`), false),
  };
  const undeliverable = sendOutbox(fixture.db("a"), membership);
  expect(new Set(calls)).toEqual(new Set(["packet b attachments", "packet b gossip", "stream b bulk"]));
  expect(undeliverable).toBe(calls.filter((call) => call.startsWith("stream")).length);
  expect(fixture.db("a").takeOutbox()).toEqual([]);
});

describe("network membership", () => {
  test("leaving a network removes the node's entries for the others, and stale copies stay out", () => {
    const fixture = joined(["a", "b", "c"], "L");
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.run(1_000);
    // Capture a gossip copy of a's entry to replay after the leave.
    const stale = fixture.delivered.find((message) => message.from === "a" && message.transport === "packet" && message.network === "L");
    expect(stale).toBeDefined();
    fixture.db("a").leaveNetwork("L");
    fixture.settle();
    expect(fixture.db("b").list("L")).toEqual([]);
    expect(fixture.db("c").list("L")).toEqual([]);
    fixture.db("b").notifyMsg(stale?.bytes as Uint8Array);
    expect(fixture.db("b").list("L")).toEqual([]);
    expect(fixture.db("b").stats().staleEntriesIgnored).toBeGreaterThan(0);
    // Re-joining starts a new attachment: new entries are accepted.
    fixture.db("a").joinNetwork("L");
    fixture.db("a").createEntry("L", "t", "k", text("2"));
    fixture.run(1_000);
    expect(keys(fixture.db("c"), "L")).toEqual(["k=2"]);
  });

  test("a node that is sent traffic for a network it left corrects the sender", () => {
    const fixture = joined(["a", "b"], "L");
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    // b misses a's leave (and its broadcast): it still gossips to a.
    fixture.unreachable.add("b");
    fixture.db("a").leaveNetwork("L");
    fixture.settle();
    fixture.unreachable.delete("b");
    expect(fixture.db("b").nodes("L").sort()).toEqual(["a", "b"]);
    fixture.db("b").createEntry("L", "t", "kb", text("b"));
    fixture.run(1_000);
    expect(fixture.db("a").stats().notAttachedDropped).toBeGreaterThan(0);
    expect(fixture.db("b").nodes("L")).toEqual(["b"]);
    expect(fixture.db("b").list("L").map((view) => view.key)).toEqual(["kb"]);
  });

  test("tombstones are reaped after entryReapTimeout", () => {
    const fixture = joined(["a", "b"], "L", new Fixture(["a", "b"], { entryReapTimeout: 10_000, reapInterval: 1_000 }));
    fixture.db("a").createEntry("L", "t", "k", text("1"));
    fixture.run(1_000);
    fixture.db("a").deleteEntry("L", "t", "k");
    fixture.run(1_000);
    const bulkEntries = () => {
      fixture.db("b").takeOutbox();
      fixture.db("b").memberFailed("a");
      fixture.db("b").memberAlive("a");
      const bulk = fixture.db("b").takeOutbox().find((message) => message.transport === "stream");
      const message = decodeMessage(bulk?.bytes as Uint8Array, limits);
      return message.type === "bulk" ? message.entries.length : -1;
    };
    expect(bulkEntries()).toBe(1);
    fixture.run(10_000);
    expect(bulkEntries()).toBe(0);
  });
});

describe("a node is the authority on its own state", () => {
  test("after a restart that lost its state, its old entries are deleted and its new ones win", () => {
    const fixture = joined(["a", "b", "c"], "L");
    fixture.db("a").createEntry("L", "t", "old", text("1"));
    fixture.db("a").createEntry("L", "t", "kept", text("1"));
    for (let i = 0; i < 20; i++) fixture.db("a").updateEntry("L", "t", "kept", text(`v${i}`));
    fixture.run(2_000);
    expect(keys(fixture.db("c"), "L")).toEqual(["kept=v19", "old=1"]);
    // a restarts with an empty store and a Lamport clock back at zero, and republishes one entry.
    fixture.dbs.set("a", new NetworkDb({ self: "a", random: new SeededRandom(5), now: fixture.now }));
    fixture.db("a").memberAlive("b");
    fixture.db("a").memberAlive("c");
    fixture.db("a").mergeRemoteState(fixture.db("b").localState());
    fixture.db("a").joinNetwork("L");
    fixture.db("a").createEntry("L", "t", "kept", text("new"));
    fixture.run(5_000);
    for (const node of ["a", "b", "c"]) expect(keys(fixture.db(node), "L")).toEqual(["kept=new"]);
  });
});

describe("time", () => {
  test("a node alone on a network asks to be ticked no more often than its intervals", () => {
    const db = new NetworkDb({ self: "a", random: new SeededRandom(3), now: 0 });
    db.joinNetwork("L");
    let now = 0;
    let ticks = 0;
    while (now < 120_000) {
      now = Math.max(db.nextDeadline(), now + 1);
      db.tick(now);
      ticks += 1;
    }
    // About one tick per gossip interval (600 in two minutes), a few more for reaping: no spinning.
    expect(ticks).toBeLessThan(700);
    expect(db.takeOutbox()).toEqual([]);
  });

  test("nextDeadline brings one periodic bulk sync per interval once the join sync is answered", () => {
    const fixture = joined(["a", "b"], "L", new Fixture(["a", "b"], { bulkSyncInterval: 10_000, gossipInterval: 1_000, reapInterval: 60_000 }));
    const a = fixture.db("a");
    const b = fixture.db("b");
    const requests = () => fixture.delivered.filter((message) => message.from === "a" && message.transport === "stream").length;
    while (fixture.now < 10_000) {
      fixture.now = Math.max(Math.min(a.nextDeadline(), b.nextDeadline()), fixture.now + 1);
      a.tick(fixture.now);
      b.tick(fixture.now);
      fixture.settle();
    }
    const afterJoin = requests();
    while (fixture.now < 70_000) {
      fixture.now = Math.max(Math.min(a.nextDeadline(), b.nextDeadline()), fixture.now + 1);
      a.tick(fixture.now);
      b.tick(fixture.now);
      fixture.settle();
    }
    // a's own periodic requests plus its replies to b's: about two per 10 s interval.
    expect(requests() - afterJoin).toBeGreaterThanOrEqual(10);
    expect(requests() - afterJoin).toBeLessThanOrEqual(14);
  });
});
