/**
 * Fuzz: thousands of hostile packets into a live gossip node (three real shells in this process
 * on loopback, every packet sealed). Random bytes, bit flips and truncations of valid packets,
 * validly sealed garbage, replays, another cluster's packets (same key), CBOR bombs, broken inner headers,
 * over UDP and over TCP streams. The node must stay up, its membership must not change, and
 * every hostile packet must be counted as dropped under the reason it deserves.
 *
 * CI runs 3,000 packets; SHOAL_LONG=1 runs 30,000.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { MetricsRegistry } from "../../core/api/metrics.ts";
import { nullLogger } from "../../core/common/log.ts";
import { SeededRandom } from "../../core/common/random.ts";
import { assemblePacket, encodeMessage, encodeStream } from "../../core/gossip/codec.ts";
import { localConfig } from "../../core/gossip/config.ts";
import { Membership } from "../../core/gossip/membership.ts";
import { Keyring } from "../../core/secure/keyring.ts";
import { KEY_TAG_BYTES, PacketSeal, SEAL_VERSION, keyTag, sealingKey } from "../../core/secure/seal.ts";
import type { GossipDropReason } from "../../core/transport/gossip-metrics.ts";
import { GossipShell } from "../../core/transport/gossip.ts";
import { requestOverStream } from "../../core/transport/gossip-stream.ts";
import type { HostPort } from "../../core/common/address.ts";
import { bindUdp, type UdpEndpoint } from "../../core/transport/udp.ts";
import { eventually } from "../integration/gossip/harness.ts";

const PACKETS = process.env.SHOAL_LONG ? 30_000 : 3_000;
const SEED = Number(process.env.SHOAL_FUZZ_SEED ?? 20_261_123);
const PORT = 20_000 + ((process.pid + 7_919) % 12_000); // below the ephemeral range
const CLUSTER = "fuzz-cluster";
const key = nacl.randomBytes(32);
const names = ["alpha", "bravo", "charlie"];
const hosts = ["127.0.0.40", "127.0.0.41", "127.0.0.42"];
const shells: GossipShell[] = [];
let fuzzer: UdpEndpoint;

/** What a hostile input is and the drop reason it must be counted under. */
interface Hostile {
  bytes: Uint8Array;
  reason: GossipDropReason | "accepted";
}

function sealer(senderId: string, clusterId = CLUSTER, keys: Uint8Array[] = [key]): PacketSeal {
  return new PacketSeal({ keyring: Keyring.of(keys), clusterId, senderId, epoch: Date.now(), randomBytes: nacl.randomBytes });
}

const random = new SeededRandom(SEED);
const randomBytes = (length: number) => Uint8Array.from({ length }, () => random.int(256));
const mallory = sealer("mallory");
/** A packet the core accepts and ignores: an ack nobody waits for. */
const harmless = () => assemblePacket([encodeMessage({ type: "ack", seq: 1_000_000 + random.int(1_000_000) })]);

/** CBOR that declares more than it holds, nests absurdly deep, or hides in a valid envelope prefix. */
function cborBomb(): Uint8Array {
  const envelopePrefix = assemblePacket([]).subarray(0, -1);
  const bombs = [
    Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // array of 2^64-1 items
    Uint8Array.of(0x5b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00), // 4 GiB byte string
    Uint8Array.of(0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // map of 2^63 pairs
    new Uint8Array(20_000).fill(0x81), // 20,000 nested one-item arrays
    Uint8Array.of(0x9f, ...new Uint8Array(500).fill(0x9f)), // unterminated indefinite arrays
    Uint8Array.of(0xd9, 0xd9, 0xf7, 0xc6, 0xc6, 0xc6, 0x00), // nested tags
    Uint8Array.of(...envelopePrefix, 0x9a, 0x7f, 0xff, 0xff, 0xff), // valid envelope, then 2^31 messages
    Uint8Array.of(...envelopePrefix, 0x81, 0x85, 0x00, 0x1a, 0xff, 0xff, 0xff, 0xff), // a ping cut short
  ];
  return bombs[random.int(bombs.length)] as Uint8Array;
}

/** Smallest sealed packet: version, key tag, nonce, MAC, sender tag and two one-byte varints. */
const MIN_SEALED = 1 + KEY_TAG_BYTES + 24 + 16 + 8 + 2;
const ourTag = keyTag(Keyring.of([key]).primary()!);

/** A sealed packet whose box opens but whose inner header is cut short (the epoch varint never ends). */
function brokenInnerHeader(): Uint8Array {
  const inner = Uint8Array.of(...new Uint8Array(8), 0x80, 0x80);
  const nonce = nacl.randomBytes(24);
  return Uint8Array.of(SEAL_VERSION, ...ourTag, ...nonce, ...nacl.secretbox(inner, nonce, sealingKey(key, CLUSTER)));
}

/** The reason a random byte string must get, by the seal's wire layout. */
function reasonForRandom(bytes: Uint8Array): GossipDropReason {
  if (bytes[0] !== SEAL_VERSION) return "unsealed";
  if (bytes.length < MIN_SEALED) return "malformed";
  // A random key tag matches ours with probability 2^-16; then the box fails to open.
  return bytes[1] === ourTag[0] && bytes[2] === ourTag[1] ? "tampered" : "unknownKey";
}

function hostileInputs(count: number): Hostile[] {
  const inputs: Hostile[] = [];
  while (inputs.length < count) {
    const valid = mallory.seal(harmless());
    switch (random.int(8)) {
      case 0: {
        const bytes = randomBytes(random.int(1_500));
        if (random.chance(0.3) && bytes.length > 0) bytes[0] = SEAL_VERSION;
        inputs.push({ bytes, reason: reasonForRandom(bytes) });
        break;
      }
      case 1: {
        const bytes = Uint8Array.from(valid);
        const bit = random.int(bytes.length * 8);
        bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
        inputs.push({ bytes, reason: bit < 8 ? "unsealed" : bit < 8 * (1 + KEY_TAG_BYTES) ? "unknownKey" : "tampered" });
        break;
      }
      case 2: {
        const length = random.int(valid.length);
        inputs.push({ bytes: valid.slice(0, length), reason: length === 0 ? "unsealed" : length < MIN_SEALED ? "malformed" : "tampered" });
        break;
      }
      case 3:
        inputs.push({ bytes: mallory.seal(randomBytes(random.int(1_200))), reason: "undecodable" });
        break;
      case 4:
        inputs.push({ bytes: valid, reason: "accepted" }, { bytes: valid, reason: "replayed" });
        break;
      case 5:
        // The cluster id is bound into the sealing key: another cluster's packet is a forgery here.
        inputs.push({ bytes: sealer("mallory", "another-cluster").seal(harmless()), reason: "tampered" });
        break;
      case 6:
        inputs.push({ bytes: mallory.seal(cborBomb()), reason: "undecodable" });
        break;
      default:
        inputs.push({ bytes: brokenInnerHeader(), reason: "malformed" });
    }
  }
  return inputs;
}

function views(): Map<string, string>[] {
  return shells.map((shell) => new Map(shell.core.members().map((member) => [member.name, member.state])));
}


describe("fuzzing a live gossip node", () => {
  beforeAll(async () => {
    for (const [i, name] of names.entries()) {
      const address = `${hosts[i]}:${PORT}`;
      const core = new Membership(localConfig({ name, address }), new SeededRandom(SEED + i), Date.now());
      shells.push(await GossipShell.start({ core, bind: { host: hosts[i]!, port: PORT }, seal: sealer(name), metrics: new MetricsRegistry(), logger: nullLogger }));
    }
    for (const shell of shells.slice(1)) {
      shell.core.joinCluster([`${hosts[0]}:${PORT}`], Date.now());
      shell.flush();
    }
    await eventually("all three nodes see each other alive", 20_000, () => shells.every((shell) => shell.core.members().filter((member) => member.state === "alive").length === 3));
    fuzzer = await bindUdp({ host: "127.0.0.43", port: 0 }, () => {}, () => {});
  }, 30_000);

  afterAll(() => {
    for (const shell of shells) shell.close();
    fuzzer?.close();
  });

  test(`${PACKETS} hostile UDP packets: node up, membership unchanged, every drop counted by reason`, async () => {
    const target = shells[0]!;
    const before = target.traffic().dropped;
    const membersBefore = views();
    const inputs = hostileInputs(PACKETS);
    const expected = new Map<GossipDropReason, number>();
    const to: HostPort = { host: hosts[0]!, port: PORT };
    for (const [i, input] of inputs.entries()) {
      if (input.reason !== "accepted") expected.set(input.reason, (expected.get(input.reason) ?? 0) + 1);
      fuzzer.send(input.bytes, to);
      // Pace the burst so the receiving socket's buffer (same process) never overflows.
      if (i % 16 === 15) await Bun.sleep(1);
    }
    const totalExpected = [...expected.values()].reduce((sum, n) => sum + n, 0);
    const droppedSince = () => {
      const now = target.traffic().dropped;
      return Object.fromEntries(Object.entries(now).map(([reason, count]) => [reason, count - before[reason as GossipDropReason]]));
    };
    await eventually(`${totalExpected} drops are counted`, 20_000, () => Object.values(droppedSince()).reduce((sum, n) => sum + n, 0) >= totalExpected);
    const got = droppedSince();
    for (const [reason, count] of Object.entries(got)) expect({ reason, count }).toEqual({ reason, count: expected.get(reason as GossipDropReason) ?? 0 });
    expect(views()).toEqual(membersBefore);
    // Still serving: the other nodes keep probing it (every node probes both others in turn) without a failure.
    const { probes, probesFailed } = shells[1]!.core.stats();
    await eventually("bravo completes four more probes", 20_000, () => shells[1]!.core.stats().probes >= probes + 4);
    expect(shells[1]!.core.stats().probesFailed).toBe(probesFailed);
    expect(shells.every((shell) => shell.core.members().every((member) => member.state === "alive"))).toBe(true);
  }, 120_000);

  test("hostile TCP stream frames are dropped by reason and answered with nothing", async () => {
    const target = shells[0]!;
    const before = target.traffic().dropped;
    const to: HostPort = { host: hosts[0]!, port: PORT };
    const limits = { maxFrameBytes: 1 << 20, timeoutMs: 5_000 };
    const frames: Hostile[] = [
      ...Array.from({ length: 20 }, () => ({ bytes: randomBytes(1 + random.int(3_000)), reason: "unsealed" as const })).map((input) => ({ ...input, bytes: Uint8Array.of(0x42, ...input.bytes) })),
      ...Array.from({ length: 20 }, () => ({ bytes: mallory.seal(cborBomb()), reason: "undecodable" as const })),
      ...Array.from({ length: 20 }, () => ({ bytes: sealer("mallory", CLUSTER, [nacl.randomBytes(32)]).seal(encodeStream({ type: "ping", seq: 1, target: "alpha", source: "m", sourceAddress: "127.0.0.43:1" })), reason: "unknownKey" as const })),
      ...Array.from({ length: 20 }, () => ({ bytes: sealer("mallory", "another-cluster").seal(encodeStream({ type: "ack", seq: 1 })), reason: "tampered" as const })),
    ];
    for (const frame of frames) expect(await requestOverStream(to, frame.bytes, limits)).toBeUndefined();
    const after = target.traffic().dropped;
    for (const reason of ["unsealed", "undecodable", "unknownKey", "tampered"] as const) expect(after[reason] - before[reason]).toBe(20);
    // A well-formed sealed fallback probe is still answered.
    const reply = await requestOverStream(to, mallory.seal(encodeStream({ type: "ping", seq: 9, target: "alpha", source: "m", sourceAddress: "127.0.0.43:1" })), limits);
    expect(reply).toBeDefined();
    expect(sealer("observer").open(reply!).ok).toBe(true);
    expect(shells.every((shell) => shell.core.members().length === 3)).toBe(true);
  }, 60_000);
});
