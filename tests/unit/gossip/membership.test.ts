import { describe, expect, test } from "bun:test";
import { DecodeError } from "../../../core/common/errors.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { assemblePacket, decodePacket, decodeStream, encodeMessage, encodeStream } from "../../../core/gossip/codec.ts";
import { retransmitLimit } from "../../../core/gossip/broadcast.ts";
import { lanConfig } from "../../../core/gossip/config.ts";
import { Membership } from "../../../core/gossip/membership.ts";
import type { Delegate, PacketMessage } from "../../../core/gossip/types.ts";
import { SimCluster } from "../../sim/gossip/cluster.ts";

const node = (name: string, now = 0, delegate?: Delegate) => new Membership(lanConfig({ name, address: `${name}:7371` }), new SeededRandom(7), now, delegate);
const packetOf = (...messages: PacketMessage[]) => assemblePacket(messages.map(encodeMessage));
const sentMessages = (core: Membership) => core.ready().packets.flatMap((packet) => decodePacket(packet.bytes));
const names = (count: number) => Array.from({ length: count }, (_, i) => `n${i}`);

function startCluster(count: number, seed = 1): { cluster: SimCluster; members: string[] } {
  const cluster = new SimCluster({ seed });
  const members = names(count);
  cluster.start(members[0] as string);
  for (const name of members.slice(1)) cluster.start(name, [members[0] as string]);
  if (!cluster.runUntil(() => cluster.converged(members), 30_000)) throw new Error("cluster did not converge");
  return { cluster, members };
}

describe("Membership", () => {
  test("learns a member from an alive message and reports a join event", () => {
    const a = node("a");
    a.receive("b:7371", packetOf({ type: "alive", name: "b", incarnation: 1, address: "b:7371", meta: new Uint8Array() }), 0);
    expect(a.member("b")?.state).toBe("alive");
    const events = a.ready().events;
    expect(events).toEqual([{ type: "member", change: "join", member: expect.objectContaining({ name: "b", state: "alive" }) }]);
  });

  test("answers a ping addressed to it and ignores one for another name", () => {
    const a = node("a");
    a.receive("b:7371", packetOf({ type: "ping", seq: 5, target: "a", source: "b", sourceAddress: "b:7371" }), 0);
    const out = a.ready().packets;
    expect(out.map((packet) => packet.to)).toEqual(["b:7371"]);
    expect(decodePacket(out[0]!.bytes)[0]).toEqual({ type: "ack", seq: 5 });
    a.receive("b:7371", packetOf({ type: "ping", seq: 6, target: "someone-else", source: "b", sourceAddress: "b:7371" }), 0);
    expect(a.ready().packets).toEqual([]);
  });

  test("refutes a suspicion about itself with a higher incarnation and grows less confident (awareness)", () => {
    const a = node("a");
    a.receive("b:7371", packetOf({ type: "alive", name: "b", incarnation: 1, address: "b:7371", meta: new Uint8Array() }), 0);
    a.ready();
    a.receive("b:7371", packetOf({ type: "suspect", name: "a", incarnation: 4, from: "b" }), 10);
    expect(a.member("a")?.incarnation).toBe(5);
    expect(a.member("a")?.state).toBe("alive");
    expect(a.stats().refutations).toBe(1);
    expect(a.stats().awareness).toBe(1);
    a.tick(a.nextDeadline());
    const refutation = sentMessages(a).find((message) => message.type === "alive" && message.name === "a");
    expect(refutation).toMatchObject({ incarnation: 5 });
  });

  test("a suspect gets a last call before the verdict, and its direct answer saves it", () => {
    const run = (answer: boolean) => {
      const a = new Membership(lanConfig({ name: "a", address: "a:1" }, { probeInterval: 60_000, gossipInterval: 60_000 }), new SeededRandom(4), 0);
      for (const name of ["b", "c", "d"]) a.receive(`${name}:1`, packetOf({ type: "alive", name, incarnation: 1, address: `${name}:1`, meta: new Uint8Array() }), 0);
      a.receive("c:1", packetOf({ type: "suspect", name: "b", incarnation: 1, from: "c" }), 0);
      a.ready();
      let lastCallAt: number | undefined;
      for (let now = 0; a.member("b")?.state === "suspect" && now < 2_000_000; now = a.nextDeadline()) {
        a.tick(now);
        for (const packet of a.ready().packets) {
          const call = decodePacket(packet.bytes).find((message) => message.type === "suspect" && message.name === "b");
          if (packet.to !== "b:1" || call === undefined) continue;
          lastCallAt = now;
          if (answer) a.receive("b:1", packetOf({ type: "alive", name: "b", incarnation: 2, address: "b:1", meta: new Uint8Array() }), now);
        }
      }
      return { lastCallAt, state: a.member("b")?.state, deadAt: a.member("b")?.stateChangedAt };
    };
    const saved = run(true);
    expect(saved.lastCallAt).toBeDefined();
    expect(saved.state).toBe("alive");
    const gone = run(false);
    expect(gone.state).toBe("dead");
    expect(gone.deadAt! - gone.lastCallAt!).toBe(500);
  });

  test("answers an accusation it has already refuted straight to the sender", () => {
    const a = node("a");
    a.receive("b:7371", packetOf({ type: "suspect", name: "a", incarnation: 1, from: "b" }), 0);
    a.ready();
    a.receive("c:7371", packetOf({ type: "suspect", name: "a", incarnation: 1, from: "b" }), 5);
    const answers = a.ready().packets.filter((packet) => packet.to === "c:7371").flatMap((packet) => decodePacket(packet.bytes));
    expect(answers).toContainEqual(expect.objectContaining({ type: "alive", name: "a", incarnation: 2 }));
  });

  test("ignores stale news: an older incarnation cannot suspect or kill a member", () => {
    const a = node("a");
    a.receive("b:7371", packetOf({ type: "alive", name: "b", incarnation: 5, address: "b:7371", meta: new Uint8Array() }), 0);
    a.receive("c:7371", packetOf({ type: "suspect", name: "b", incarnation: 4, from: "c" }, { type: "dead", name: "b", incarnation: 3, from: "c" }), 0);
    expect(a.member("b")?.state).toBe("alive");
  });

  test("a malformed packet throws DecodeError and changes nothing", () => {
    const a = node("a");
    const good = encodeMessage({ type: "alive", name: "b", incarnation: 1, address: "b:7371", meta: new Uint8Array() });
    const bad = encodeMessage({ type: "ack", seq: 1 }).slice(0, 1);
    expect(() => a.receive("b:7371", assemblePacket([good, bad]), 0)).toThrow(DecodeError);
    expect(a.member("b")).toBeUndefined();
    expect(a.ready()).toEqual({ packets: [], streams: [], events: [] });
    expect(a.stats().packetsReceived).toBe(0);
  });

  test("bounds metadata: local updates, gossip and push-pull over metaMaxBytes are refused", () => {
    const a = node("a");
    const big = new Uint8Array(513);
    expect(() => a.updateMeta(big, 0)).toThrow(/metaMaxBytes/);
    expect(() => lanConfig({ name: "x", address: "x:1", meta: big })).toThrow(/metaMaxBytes/);
    a.receive("b:7371", packetOf({ type: "alive", name: "b", incarnation: 1, address: "b:7371", meta: big }), 0);
    expect(a.member("b")).toBeUndefined();
    const pushPull = encodeStream({ type: "pushPull", join: false, members: [{ name: "c", address: "c:1", meta: big, incarnation: 1, state: "alive" }], userState: new Uint8Array(), digest: 0 });
    expect(() => a.receiveStream("c:1", pushPull, 0)).toThrow(/over 512/);
    expect(a.member("c")).toBeUndefined();
    a.updateMeta(new Uint8Array(512), 0);
    expect(a.member("a")?.incarnation).toBe(2);
  });

  test("a push-pull reply carries the full table and merges the peer's", () => {
    const a = node("a");
    const request = encodeStream({ type: "pushPull", join: true, members: [{ name: "b", address: "b:7371", meta: new Uint8Array(), incarnation: 3, state: "alive" }], userState: new Uint8Array(), digest: 0 });
    const reply = a.receiveStream("b:7371", request, 0);
    expect(reply).toBeInstanceOf(Uint8Array);
    expect(a.member("b")?.incarnation).toBe(3);
    const b = node("b");
    b.joinCluster(["a:7371"], 0);
    const [stream] = b.ready().streams;
    expect(stream).toMatchObject({ to: "a:7371", purpose: "pushPull" });
    b.streamReply(stream!.id, reply, 5);
    expect(b.member("a")?.state).toBe("alive");
    expect(b.ready().events).toContainEqual({ type: "joinComplete", contacted: 1 });
  });

  test("a newcomer announces itself as soon as its first seed answers, without waiting for a gossip round", () => {
    const seed = node("a");
    for (const name of ["c", "d"]) seed.receive(`${name}:7371`, packetOf({ type: "alive", name, incarnation: 1, address: `${name}:7371`, meta: new Uint8Array() }), 0);
    const newcomer = node("b", 1_000);
    newcomer.joinCluster(["a:7371", "c:7371"], 1_000);
    const [first, second] = newcomer.ready().streams;
    newcomer.streamReply(first!.id, seed.receiveStream("b:7371", first!.bytes, 1_001), 1_002);
    newcomer.ready();
    expect(newcomer.nextDeadline()).toBeLessThanOrEqual(1_002);
    newcomer.tick(1_002);
    const announced = newcomer.ready().packets.filter((packet) => decodePacket(packet.bytes).some((message) => message.type === "alive" && message.name === "b"));
    expect(announced.length).toBe(lanConfig({ name: "b", address: "b:7371" }).gossipNodes);
    // The join completes once every seed has answered (or failed).
    newcomer.streamReply(second!.id, undefined, 1_003);
    expect(newcomer.ready().events).toContainEqual({ type: "joinComplete", contacted: 1 });
  });

  test("periodic push-pulls send a digest and ship tables only when they differ", () => {
    // Probes so rare that no one is suspected while only push-pulls are exchanged.
    const tuning = { pushPullInterval: 1_000, probeInterval: 600_000, probeTimeout: 300_000 };
    const a = new Membership(lanConfig({ name: "a", address: "a:1" }, tuning), new SeededRandom(1), 0);
    const b = new Membership(lanConfig({ name: "b", address: "b:1" }, tuning), new SeededRandom(2), 0);
    const alive = (name: string, incarnation = 1) => packetOf({ type: "alive", name, incarnation, address: `${name}:1`, meta: new Uint8Array() });
    a.receive("b:1", alive("b"), 0);
    b.receive("a:1", alive("a"), 0);
    const exchange = () => {
      const streams = [];
      for (let now = a.nextDeadline(); streams.length === 0; now = a.nextDeadline()) {
        a.tick(now);
        streams.push(...a.ready().streams.filter((stream) => stream.purpose === "pushPull"));
      }
      const [request] = streams;
      const reply = b.receiveStream("a:1", request!.bytes, 0);
      a.streamReply(request!.id, reply, 0);
      return { request: decodeStream(request!.bytes, 1 << 20), reply: decodeStream(reply!, 1 << 20), followUp: a.ready().streams };
    };
    const agreed = exchange();
    expect(agreed.request).toMatchObject({ type: "pushPull", members: [] });
    expect(agreed.reply).toMatchObject({ type: "pushPull", members: [] });
    expect(agreed.followUp).toEqual([]);
    // b learns of c; a has missed it: b answers the summary with its table, a then sends its own.
    b.receive("c:1", alive("c"), 0);
    const differed = exchange();
    expect(differed.request).toMatchObject({ members: [] });
    expect((differed.reply as { members: unknown[] }).members).toHaveLength(3);
    expect(a.member("c")?.state).toBe("alive");
    expect(differed.followUp).toEqual([expect.objectContaining({ purpose: "pushPull", to: "b:1" })]);
    expect((decodeStream(differed.followUp[0]!.bytes, 1 << 20) as { members: unknown[] }).members).toHaveLength(3);
  });

  test("join retries every seed, then reports failure", () => {
    const a = node("a");
    a.joinCluster(["x:1", "y:1", "a:7371"], 0);
    let attempts = 0;
    let failed = false;
    for (let now = 0; now < 60_000 && !failed; now = a.nextDeadline()) {
      a.tick(now);
      const ready = a.ready();
      const joins = ready.streams.filter((stream) => stream.purpose === "pushPull");
      if (joins.length > 0) {
        attempts++;
        expect(joins.map((stream) => stream.to).sort()).toEqual(["x:1", "y:1"]);
      }
      for (const stream of joins) a.streamReply(stream.id, undefined, now);
      failed = [...ready.events, ...a.ready().events].some((event) => event.type === "joinFailed");
    }
    expect(failed).toBe(true);
    expect(attempts).toBe(10);
  });

  test("probes time out into indirect probes and a TCP fallback, then suspicion", () => {
    const a = node("a");
    for (const name of ["b", "c", "d"]) a.receive(`${name}:7371`, packetOf({ type: "alive", name, incarnation: 1, address: `${name}:7371`, meta: new Uint8Array() }), 0);
    a.ready();
    let now = 0;
    let ping: PacketMessage | undefined;
    while (ping === undefined && now < 5_000) {
      now = a.nextDeadline();
      a.tick(now);
      ping = sentMessages(a).find((message) => message.type === "ping");
    }
    expect(ping).toBeDefined();
    const target = (ping as { target: string }).target;
    const ackDeadline = now + 500;
    while (now < ackDeadline) {
      now = a.nextDeadline();
      a.tick(now);
    }
    const ready = a.ready();
    const indirect = ready.packets.flatMap((packet) => decodePacket(packet.bytes)).filter((message) => message.type === "indirectPing");
    expect(indirect.length).toBe(2);
    expect(ready.streams).toEqual([expect.objectContaining({ purpose: "probe", to: `${target}:7371` })]);
    // One relay nacks; the other stays silent, which counts against this node's own health.
    a.receive("x:1", packetOf({ type: "nack", seq: (ping as { seq: number }).seq }), now);
    while (now < ackDeadline + 500) {
      now = a.nextDeadline();
      a.tick(now);
    }
    expect(a.member(target)?.state).toBe("suspect");
    expect(a.stats().awareness).toBe(1);
  });

  test("outbound push-pulls are capped while replies are outstanding", () => {
    const a = new Membership(lanConfig({ name: "a", address: "a:1" }, { pushPullInterval: 100, maxConcurrentPushPulls: 2 }), new SeededRandom(1), 0);
    for (const name of ["b", "c", "d"]) a.receive(`${name}:1`, packetOf({ type: "alive", name, incarnation: 1, address: `${name}:1`, meta: new Uint8Array() }), 0);
    const opened = [];
    for (let now = 0; now < 2_000; now = a.nextDeadline()) {
      a.tick(now);
      opened.push(...a.ready().streams.filter((stream) => stream.purpose === "pushPull"));
    }
    expect(opened.length).toBe(2);
    a.streamReply(opened[0]!.id, undefined, 2_000);
    for (let now = 2_000; now < 2_500; now = a.nextDeadline()) {
      a.tick(now);
      opened.push(...a.ready().streams.filter((stream) => stream.purpose === "pushPull"));
    }
    expect(opened.length).toBe(3);
  });

  test("a failed member is retried by push-pull every reconnectInterval until it answers", () => {
    const a = new Membership(lanConfig({ name: "a", address: "a:1" }, { reconnectInterval: 5_000, pushPullInterval: 0 }), new SeededRandom(1), 0);
    a.receive("b:1", packetOf({ type: "alive", name: "b", incarnation: 1, address: "b:1", meta: new Uint8Array() }), 0);
    a.receive("c:1", packetOf({ type: "dead", name: "b", incarnation: 1, from: "c" }), 0);
    expect(a.member("b")?.state).toBe("dead");
    a.ready();
    const reconnects: string[] = [];
    for (let now = 0; now < 16_000; now = a.nextDeadline()) {
      a.tick(now);
      for (const stream of a.ready().streams) {
        if (stream.purpose !== "pushPull") continue;
        reconnects.push(stream.to);
        a.streamReply(stream.id, undefined, now);
      }
    }
    expect(reconnects).toEqual(["b:1", "b:1", "b:1"]);
  });

  test("the gossip rounds that carry a broadcast reach different members", () => {
    const others = ["b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"];
    for (let seed = 1; seed <= 10; seed++) {
      // Probes far apart, so only gossip rounds carry the news.
      const a = new Membership(lanConfig({ name: "a", address: "a:1" }, { probeInterval: 60_000, probeTimeout: 30_000 }), new SeededRandom(seed), 0);
      for (const name of others) a.receive(`${name}:1`, packetOf({ type: "alive", name, incarnation: 1, address: `${name}:1`, meta: new Uint8Array() }), 0);
      for (let now = 0; now < 10_000; now = a.nextDeadline()) a.tick(now);
      a.ready();
      a.receive("b:1", packetOf({ type: "dead", name: "z", incarnation: 1, from: "b" }, { type: "alive", name: "n", incarnation: 1, address: "n:1", meta: new Uint8Array() }), 10_000);
      const reached: string[] = [];
      for (let now = 10_000; now < 12_000; now = a.nextDeadline()) {
        a.tick(now);
        for (const packet of a.ready().packets) {
          if (decodePacket(packet.bytes).some((message) => message.type === "alive" && message.name === "n")) reached.push(packet.to);
        }
      }
      expect(reached.length).toBe(retransmitLimit(lanConfig({ name: "a", address: "a:1" }).retransmitMult, others.length + 2));
      expect(new Set(reached).size).toBe(reached.length);
    }
  });

  test("a member learned mid-round is probed before the round ends, and no member twice", () => {
    const others = ["b", "c", "d", "e", "f", "g", "h", "i"];
    for (let seed = 1; seed <= 20; seed++) {
      const a = new Membership(lanConfig({ name: "a", address: "a:1" }), new SeededRandom(seed), 0);
      const alive = (name: string) => packetOf({ type: "alive", name, incarnation: 1, address: `${name}:1`, meta: new Uint8Array() });
      for (const name of others) a.receive(`${name}:1`, alive(name), 0);
      a.ready();
      const probed: string[] = [];
      // Probe (and ack) one member per step: half of a round, then the newcomer arrives.
      const step = () => {
        const now = a.nextDeadline();
        a.tick(now);
        for (const message of sentMessages(a)) {
          if (message.type !== "ping") continue;
          probed.push(message.target);
          a.receive(`${message.target}:1`, packetOf({ type: "ack", seq: message.seq }), now);
        }
      };
      while (probed.length < others.length / 2) step();
      a.receive("newcomer:1", alive("newcomer"), a.nextDeadline());
      while (probed.length < others.length + 1) step();
      expect(new Set(probed).size).toBe(others.length + 1);
    }
  });

  test("echoes of a death verdict count toward its retransmits; echoes of a graceful leave do not", () => {
    const copiesSent = (verdict: "dead" | "leave") => {
      const a = node("a");
      for (const name of ["b", "c", "d", "e", "f"]) a.receive(`${name}:7371`, packetOf({ type: "alive", name, incarnation: 1, address: `${name}:7371`, meta: new Uint8Array() }), 0);
      a.ready();
      const message = (from: string): PacketMessage => ({ type: "dead", name: "b", incarnation: 1, from: verdict === "dead" ? from : "b" });
      a.receive("c:7371", packetOf(message("c")), 0);
      a.receive("d:7371", packetOf(message("d")), 0);
      let copies = 0;
      for (let now = 0; now < 3_000; now = a.nextDeadline()) {
        a.tick(now);
        copies += sentMessages(a).filter((sent) => sent.type === "dead" && sent.name === "b").length;
      }
      return copies;
    };
    const config = lanConfig({ name: "a", address: "a:7371" });
    const limit = retransmitLimit(config.retransmitMult, 6);
    expect(copiesSent("leave")).toBe(limit);
    // d's echo stands in for a round of d's own: gossipNodes transmits.
    expect(copiesSent("dead")).toBe(limit - config.gossipNodes);
  });

  test("Lifeguard: relays nack a dead target before the prober's verdict, so probing it does not cost the prober its health", () => {
    const { cluster, members } = startCluster(8, 3);
    const victim = members[7] as string;
    const survivors = members.slice(0, 7);
    cluster.crash(victim);
    let failedProbes = 0;
    let worstAwareness = 0;
    const dead = cluster.runUntil(() => {
      failedProbes = survivors.reduce((sum, name) => sum + cluster.core(name).stats().probesFailed, 0);
      for (const name of survivors) worstAwareness = Math.max(worstAwareness, cluster.core(name).stats().awareness);
      return cluster.allSee(survivors, victim, ["dead"]);
    }, 60_000, 10);
    expect(dead).toBe(true);
    expect(failedProbes).toBeGreaterThan(0);
    expect(worstAwareness).toBe(0);
  });

  test("Lifeguard: a node that had to refute waits longer before going indirect", () => {
    const indirectDelay = (refutations: number) => {
      const a = new Membership(lanConfig({ name: "a", address: "a:1" }, { gossipInterval: 60_000 }), new SeededRandom(5), 0);
      for (const name of ["b", "c", "d"]) a.receive(`${name}:1`, packetOf({ type: "alive", name, incarnation: 1, address: `${name}:1`, meta: new Uint8Array() }), 0);
      for (let i = 0; i < refutations; i++) a.receive("b:1", packetOf({ type: "suspect", name: "a", incarnation: a.member("a")!.incarnation, from: "b" }), 0);
      a.ready();
      let pingAt: number | undefined;
      for (let now = 0; now < 60_000; now = a.nextDeadline()) {
        a.tick(now);
        const sent = a.ready().packets.flatMap((packet) => decodePacket(packet.bytes));
        if (pingAt === undefined && sent.some((message) => message.type === "ping")) pingAt = now;
        if (sent.some((message) => message.type === "indirectPing")) return now - pingAt!;
      }
      throw new Error("no indirect probe");
    };
    expect(indirectDelay(0)).toBe(500);
    expect(indirectDelay(3)).toBe(2_000);
    expect(indirectDelay(20)).toBe(4_000);
  });

  test("a delegate's broadcasts ride on gossip and its state on push-pull", () => {
    const received: string[] = [];
    const merged: string[] = [];
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    const delegateFor = (name: string): Delegate => {
      let pending = [new TextEncoder().encode(`hello from ${name}`)];
      return {
        localState: () => new TextEncoder().encode(`state of ${name}`),
        mergeRemoteState: (state) => merged.push(`${name} <- ${text(state)}`),
        getBroadcasts: (_overhead, limit) => {
          const fits = pending.filter((item) => item.length <= limit);
          pending = [];
          return fits;
        },
        notifyMsg: (data) => received.push(`${name} <- ${text(data)}`),
      };
    };
    const cluster = new SimCluster({ seed: 3, delegate: delegateFor });
    cluster.start("a");
    cluster.start("b", ["a"]);
    expect(cluster.runUntil(() => received.length >= 2, 10_000)).toBe(true);
    expect(received.sort()).toEqual(["a <- hello from b", "b <- hello from a"]);
    expect([...new Set(merged)].sort()).toEqual(["a <- state of b", "b <- state of a"]);
  });

  test("a graceful leave is seen as left (not dead) by everyone, then reaped", () => {
    const { cluster, members } = startCluster(8);
    const leaver = members[5] as string;
    cluster.core(leaver).leave(cluster.clock.now());
    const others = members.filter((name) => name !== leaver);
    expect(cluster.runUntil(() => cluster.lifecycle(leaver).some((event) => event.type === "leaveComplete"), 10_000)).toBe(true);
    expect(cluster.runUntil(() => cluster.allSee(others, leaver, ["left"]), 10_000)).toBe(true);
    cluster.crash(leaver);
    expect(cluster.events.filter((event) => event.subject === leaver && event.change === "dead")).toEqual([]);
    expect(cluster.runUntil(() => others.every((name) => cluster.core(name).member(leaver) === undefined), 120_000, 1000)).toBe(true);
  }, 30_000);

  test("packets never exceed maxPacketBytes even with many broadcasts queued", () => {
    const { cluster } = startCluster(60, 9);
    expect(cluster.largestPacket).toBeGreaterThan(600);
    expect(cluster.largestPacket).toBeLessThanOrEqual(1400);
    expect(cluster.decodeErrors).toBe(0);
  }, 30_000);
});
