import { describe, expect, test } from "bun:test";
import { SeededRandom } from "../../../core/common/random.ts";
import { assemblePacket, decodePacket, encodeMessage } from "../../../core/gossip/codec.ts";
import { lanConfig } from "../../../core/gossip/config.ts";
import { Membership } from "../../../core/gossip/membership.ts";
import type { Delegate } from "../../../core/gossip/types.ts";

const config = lanConfig({ name: "a", address: "a:7371" });
const alive = (name: string, incarnation: number) => assemblePacket([encodeMessage({ type: "alive", name, incarnation, address: `${name}:7371`, meta: new Uint8Array() })]);

/** Runs `core` to its next deadline with a healthy peer b that acks every ping at once; returns that time. */
function step(core: Membership): number {
  const now = core.nextDeadline();
  core.tick(now);
  for (const packet of core.ready().packets) {
    for (const message of decodePacket(packet.bytes)) {
      if (message.type === "ping") core.receive("b:7371", assemblePacket([encodeMessage({ type: "ack", seq: message.seq })]), now);
    }
  }
  core.ready();
  return now;
}

/** A core that knows a healthy b and has sent every broadcast its full retransmit count, so it is idle. */
function idleCore(delegate?: Delegate): Membership {
  const core = new Membership(config, new SeededRandom(3), 0, delegate);
  core.receive("b:7371", alive("b", 1), 0);
  core.ready();
  while (core.stats().queuedBroadcasts > 0 && step(core) < 60_000);
  while (step(core) < 60_000);
  expect(core.stats().queuedBroadcasts).toBe(0);
  expect(core.member("b")?.state).toBe("alive");
  return core;
}

describe("gossip timer while idle", () => {
  test("an idle node does not wake for gossip rounds, only for probes", () => {
    const core = idleCore();
    let wakeups = 0;
    for (let now = 60_000; now < 70_000; wakeups++) now = step(core);
    // One wakeup per probe (its ack comes back at once), not one per gossip interval.
    expect(wakeups).toBeLessThanOrEqual(10_000 / config.probeInterval + 1);
  });

  test("news queued while idle is gossiped at once, then rounds stay a gossip interval apart", () => {
    const core = idleCore();
    const now = 61_234;
    core.receive("b:7371", alive("c", 1), now);
    core.ready();
    expect(core.nextDeadline()).toBeLessThanOrEqual(now);
    core.tick(now);
    expect(core.ready().packets.length).toBeGreaterThan(0);
    expect(core.nextDeadline()).toBeLessThanOrEqual(now + config.gossipInterval);
  });

  test("a round that found nothing to send does not hold back news that arrives just after it", () => {
    const core = idleCore();
    // A probe tick also runs the (empty) gossip round; news a millisecond later must not wait for the next one.
    const probedAt = step(core);
    core.receive("b:7371", alive("c", 1), probedAt + 1);
    core.ready();
    expect(core.nextDeadline()).toBeLessThanOrEqual(probedAt + 1);
    core.tick(probedAt + 1);
    const gossiped = core.ready().packets.flatMap((packet) => decodePacket(packet.bytes));
    expect(gossiped).toContainEqual(expect.objectContaining({ type: "alive", name: "c" }));
  });

  test("a delegate without hasBroadcasts keeps the gossip timer running; one that says it has none does not", () => {
    const base = { localState: () => new Uint8Array(), mergeRemoteState: () => {}, getBroadcasts: () => [], notifyMsg: () => {} };
    const always = idleCore(base);
    const quiet = idleCore({ ...base, hasBroadcasts: () => false });
    const wakeups = (core: Membership) => {
      let count = 0;
      for (let now = 60_000; now < 62_000; count++) now = step(core);
      return count;
    };
    expect(wakeups(always)).toBeGreaterThanOrEqual(2_000 / config.gossipInterval);
    expect(wakeups(quiet)).toBeLessThanOrEqual(2_000 / config.probeInterval + 1);
  });
});
