import { describe, expect, test } from "bun:test";
import { fixedLatency, NetworkFaults, SeededRandom, totalDropped, Trace, VirtualClock, VirtualNetwork, type VirtualNetworkOptions } from "../../kit/index.ts";

interface Received {
  from: string;
  to: string;
  msg: number;
  at: number;
}

/** A network of `ids` that records every delivery. */
function setup(ids: string[], options: Partial<VirtualNetworkOptions<number>> = {}, seed = 1) {
  const clock = new VirtualClock();
  const net = new VirtualNetwork<number>({ clock, random: new SeededRandom(seed), latency: fixedLatency(5), ...options });
  const received: Received[] = [];
  for (const id of ids) net.attach(id, (from, msg) => received.push({ from, to: id, msg, at: clock.now() }));
  return { clock, net, received };
}

/** Sends one message on every ordered pair and returns the pairs that got through. */
function reachablePairs(ids: string[], net: VirtualNetwork<number>, clock: VirtualClock, received: Received[]): string[] {
  received.length = 0;
  for (const from of ids) for (const to of ids) if (from !== to) net.send(from, to, 0);
  clock.advance(1000);
  return received.map((r) => `${r.from}>${r.to}`).sort();
}

const allPairs = (ids: string[]) => ids.flatMap((a) => ids.filter((b) => b !== a).map((b) => `${a}>${b}`)).sort();

describe("VirtualNetwork delivery", () => {
  test("delivers after the link latency, via the clock", () => {
    const { clock, net, received } = setup(["a", "b"]);
    net.send("a", "b", 42);
    clock.advance(4);
    expect(received).toEqual([]);
    expect(net.inFlight()).toBe(1);
    clock.advance(1);
    expect(received).toEqual([{ from: "a", to: "b", msg: 42, at: 5 }]);
    expect(net.inFlight()).toBe(0);
  });

  test("uniform latency stays within its range and uses the whole range", () => {
    const { clock, net, received } = setup(["a", "b"], { latency: { minMs: 3, maxMs: 9 } });
    for (let i = 0; i < 2000; i++) net.send("a", "b", i);
    clock.advance(100);
    const delays = new Set(received.map((r) => r.at));
    expect([...delays].sort((x, y) => x - y)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  test("per-link overrides apply to that link only; one-way overrides to one direction", () => {
    const { clock, net, received } = setup(["a", "b", "c"]);
    net.setLink("a", "b", { latency: fixedLatency(50) });
    net.setLink("a", "c", { loss: 1 }, { oneWay: true });
    for (const [from, to] of [["a", "b"], ["b", "a"], ["a", "c"], ["c", "a"], ["b", "c"]] as const) net.send(from, to, 0);
    clock.advance(100);
    expect(received.map((r) => `${r.from}>${r.to}@${r.at}`).sort()).toEqual(["a>b@50", "b>a@50", "b>c@5", "c>a@5"]);
    net.clearLink("a", "b");
    received.length = 0;
    net.send("a", "b", 0);
    clock.advance(100);
    expect(received[0]?.at).toBe(105);
  });

  test("messages to an unattached node are dropped and counted", () => {
    const { clock, net } = setup(["a"]);
    net.send("a", "ghost", 1);
    clock.advance(10);
    expect(net.stats().dropped.unattached).toBe(1);
    expect(net.stats().delivered).toBe(0);
  });

  test("the trace records sends, drops and deliveries, with message content when described", () => {
    const clock = new VirtualClock();
    const trace = new Trace({ clock });
    const net = new VirtualNetwork<number>({ clock, random: new SeededRandom(1), latency: fixedLatency(3), trace, describe: (msg) => `value=${msg}` });
    net.attach("b", () => {});
    net.send("a", "b", 7);
    net.block("a", "b");
    net.send("a", "b", 8);
    clock.advance(5);
    expect(trace.tail()).toEqual(["t=0 send a b #1 value=7", "t=0 block a b", "t=0 send a b #2 value=8", "t=0 drop a b #2 partition", "t=3 drop a b #1 partition"]);
  });

  test("rejects probabilities outside [0, 1]", () => {
    const { net } = setup(["a"]);
    expect(() => net.setLoss(1.5)).toThrow(RangeError);
    expect(() => net.setDuplication(-0.1)).toThrow(RangeError);
    expect(() => net.setLink("a", "b", { reorder: 2 })).toThrow(RangeError);
    expect(() => new VirtualNetwork<number>({ clock: new VirtualClock(), random: new SeededRandom(1), reorderDelayMs: -1 })).toThrow(RangeError);
  });
});

describe("VirtualNetwork partitions", () => {
  const ids = ["a", "b", "c", "d", "e"];

  test("a partition blocks exactly the cross-group pairs, and heal restores all", () => {
    const { clock, net, received } = setup(ids);
    net.partition([["a", "b"], ["c", "d"]]);
    // e is in no group, so it is alone in the implicit rest group.
    expect(reachablePairs(ids, net, clock, received)).toEqual(["a>b", "b>a", "c>d", "d>c"]);
    expect(net.stats().dropped.partition).toBe(20 - 4);
    net.heal();
    expect(reachablePairs(ids, net, clock, received)).toEqual(allPairs(ids));
  });

  test("nodes left out of the groups talk among themselves", () => {
    const { clock, net, received } = setup(ids);
    net.partition([["a"]]);
    expect(reachablePairs(ids, net, clock, received)).toEqual(allPairs(["b", "c", "d", "e"]));
  });

  test("a partition drops messages already in flight across it", () => {
    const { clock, net, received } = setup(["a", "b", "c"]);
    net.send("a", "b", 1);
    net.send("a", "c", 2);
    clock.advance(2);
    net.partition([["a", "c"], ["b"]]);
    clock.advance(10);
    expect(received.map((r) => r.msg)).toEqual([2]);
    expect(net.stats("a").dropped.partition).toBe(1);
  });

  test("isolate cuts one node off both ways", () => {
    const { clock, net, received } = setup(ids);
    net.isolate("c");
    expect(reachablePairs(ids, net, clock, received)).toEqual(allPairs(["a", "b", "d", "e"]));
    expect(net.canReach("c", "a")).toBe(false);
    expect(net.canReach("c", "c")).toBe(true);
  });

  test("a one-way block stops one direction only", () => {
    const { clock, net, received } = setup(["a", "b", "c"]);
    net.block("a", "b");
    const pairs = reachablePairs(["a", "b", "c"], net, clock, received);
    expect(pairs).toEqual(allPairs(["a", "b", "c"]).filter((p) => p !== "a>b"));
    net.unblock("a", "b");
    expect(reachablePairs(["a", "b", "c"], net, clock, received)).toEqual(allPairs(["a", "b", "c"]));
  });

  test("a node may not be in two groups", () => {
    const { net } = setup(ids);
    expect(() => net.partition([["a", "b"], ["b"]])).toThrow(/more than one group/);
  });
});

describe("VirtualNetwork crash and restart", () => {
  test("a crash drops traffic in flight to and from the node, and later traffic, until restart", () => {
    const { clock, net, received } = setup(["a", "b", "c"]);
    net.send("a", "b", 1); // in flight to b
    net.send("b", "c", 2); // in flight from b
    net.send("a", "c", 3); // unaffected
    clock.advance(1);
    net.crash("b");
    net.send("a", "b", 4);
    net.send("b", "a", 5);
    clock.advance(20);
    expect(received.map((r) => r.msg)).toEqual([3]);
    expect(net.stats().dropped.crash).toBe(4);
    expect(net.isCrashed("b")).toBe(true);

    net.restart("b");
    net.send("a", "b", 6);
    net.send("b", "a", 7);
    clock.advance(20);
    expect(received.map((r) => r.msg)).toEqual([3, 6, 7]);
  });

  test("traffic sent before a crash never reaches the restarted node", () => {
    const { clock, net, received } = setup(["a", "b"]);
    net.send("a", "b", 1);
    clock.advance(1);
    net.crash("b");
    net.restart("b");
    clock.advance(20);
    expect(received).toEqual([]);
    expect(net.stats().dropped.crash).toBe(1);
  });
});

describe("shared NetworkFaults", () => {
  test("networks sharing fault state see the same partitions and crashes, each with its own loss", () => {
    const clock = new VirtualClock();
    const random = new SeededRandom(5);
    const faults = new NetworkFaults();
    const packets = new VirtualNetwork<number>({ clock, random: random.fork(), faults, loss: 1 });
    const streams = new VirtualNetwork<number>({ clock, random: random.fork(), faults });
    const got: string[] = [];
    for (const [name, net] of [["packets", packets], ["streams", streams]] as const) {
      for (const id of ["a", "b", "c"]) net.attach(id, (from, msg) => got.push(`${name} ${from}>${id} ${msg}`));
    }
    streams.send("a", "c", 1); // in flight when c crashes via the other network
    packets.crash("c");
    packets.partition([["a"], ["b"]]);
    for (const net of [packets, streams]) {
      net.send("a", "b", 2);
      net.send("b", "c", 3);
    }
    clock.advance(100);
    expect(got).toEqual([]);
    expect(streams.isCrashed("c")).toBe(true);
    expect(streams.stats().dropped).toMatchObject({ crash: 2, partition: 1 });

    streams.heal();
    streams.restart("c");
    for (const net of [packets, streams]) net.send("a", "c", 4);
    clock.advance(100);
    expect(got).toEqual(["streams a>c 4"]);
    expect(packets.stats().dropped.loss).toBe(1);
    expect(packets.faults).toBe(streams.faults);
  });
});

describe("VirtualNetwork faults", () => {
  test("loss rate is near the configured probability", () => {
    const { clock, net } = setup(["a", "b"], { loss: 0.2 });
    const n = 20_000;
    for (let i = 0; i < n; i++) net.send("a", "b", i);
    clock.advance(100);
    const stats = net.stats();
    // Binomial(20000, 0.2): sd is about 57, so +-400 is seven standard deviations.
    expect(Math.abs(stats.dropped.loss - n * 0.2)).toBeLessThan(400);
    expect(stats.delivered + stats.dropped.loss).toBe(n);
  });

  test("setLoss(1) drops everything and setLoss(0) nothing", () => {
    const { clock, net } = setup(["a", "b"]);
    net.setLoss(1);
    for (let i = 0; i < 100; i++) net.send("a", "b", i);
    net.setLoss(0);
    for (let i = 0; i < 100; i++) net.send("a", "b", i);
    clock.advance(100);
    expect(net.stats().dropped.loss).toBe(100);
    expect(net.stats().delivered).toBe(100);
  });

  test("duplication delivers some messages twice, at about the set rate", () => {
    const { clock, net, received } = setup(["a", "b"], { duplication: 0.1 });
    const n = 10_000;
    for (let i = 0; i < n; i++) net.send("a", "b", i);
    clock.advance(100);
    const counts = new Map<number, number>();
    for (const r of received) counts.set(r.msg, (counts.get(r.msg) ?? 0) + 1);
    const twice = [...counts.values()].filter((c) => c === 2).length;
    expect(counts.size).toBe(n);
    expect(twice).toBe(net.stats().duplicated);
    expect(Math.abs(twice - n * 0.1)).toBeLessThan(250);
  });

  test("reordering delivers some messages out of send order, reproducibly per seed", () => {
    const order = (seed: number) => {
      const { clock, net, received } = setup(["a", "b"], { reorder: 0.2 }, seed);
      for (let i = 0; i < 1000; i++) {
        net.send("a", "b", i);
        clock.advance(1);
      }
      clock.advance(100);
      return received.map((r) => r.msg);
    };
    const first = order(9);
    expect(first).toHaveLength(1000);
    const inversions = first.filter((msg, i) => i > 0 && msg < (first[i - 1] as number)).length;
    expect(inversions).toBeGreaterThan(50);
    expect(order(9)).toEqual(first);
    expect(order(10)).not.toEqual(first);
  });

  test("counters add up per node and in total, with byte accounting", () => {
    const { clock, net } = setup(["a", "b", "c"], { sizeOf: (msg) => msg, loss: 0.3 }, 4);
    for (let i = 0; i < 300; i++) net.send(i % 2 === 0 ? "a" : "b", "c", 10);
    clock.advance(100);
    const total = net.stats();
    expect(total.sent).toBe(300);
    expect(total.bytesSent).toBe(3000);
    expect(total.delivered + totalDropped(total)).toBe(300);
    expect(total.bytesDelivered).toBe(total.delivered * 10);
    expect(net.stats("a").sent + net.stats("b").sent).toBe(300);
    expect(net.stats("c").delivered).toBe(total.delivered);
    expect(net.stats("a").dropped.loss + net.stats("b").dropped.loss).toBe(total.dropped.loss);
    net.resetStats();
    expect(net.stats().sent).toBe(0);
    expect(net.stats("nobody").sent).toBe(0);
  });
});

describe("VirtualNetwork determinism", () => {
  /** A small gossip-like workload under every kind of fault; returns the trace hash. */
  function runWorkload(seed: number): string {
    const clock = new VirtualClock();
    const trace = new Trace({ clock });
    const random = new SeededRandom(seed);
    const net = new VirtualNetwork<number>({
      clock,
      random: random.fork(),
      latency: { minMs: 1, maxMs: 20 },
      loss: 0.05,
      duplication: 0.05,
      reorder: 0.1,
      trace,
    });
    const ids = ["n1", "n2", "n3", "n4", "n5"];
    const workload = random.fork();
    for (const id of ids) {
      net.attach(id, (from, msg) => {
        trace.append("recv", id, from, msg);
        if (msg > 0) net.send(id, ids[workload.int(ids.length)] as string, msg - 1);
      });
    }
    for (const id of ids) net.send(id, ids[workload.int(ids.length)] as string, 20);
    clock.advance(50);
    net.partition([["n1", "n2"], ["n3", "n4", "n5"]]);
    clock.advance(50);
    net.crash("n3");
    clock.advance(50);
    net.heal();
    net.restart("n3");
    for (const id of ids) net.send(id, "n3", 5);
    clock.advance(1000);
    return trace.hash();
  }

  test("same seed gives the same trace; different seeds differ", () => {
    expect(runWorkload(1)).toBe(runWorkload(1));
    expect(runWorkload(2)).toBe(runWorkload(2));
    expect(runWorkload(1)).not.toBe(runWorkload(2));
  });
});
