import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { SeededRandom } from "../../../core/common/random.ts";
import { Keyring } from "../../../core/secure/keyring.ts";
import { KEY_TAG_BYTES, PacketSeal, SEAL_OVERHEAD, SEAL_VERSION, keyTag, sealingKey, senderTag, type PacketSealOptions } from "../../../core/secure/seal.ts";

const keyA = new Uint8Array(32).fill(7);
const keyB = new Uint8Array(32).fill(9);

function seededBytes(seed: number): (length: number) => Uint8Array {
  const random = new SeededRandom(seed);
  return (length) => Uint8Array.from({ length }, () => random.int(256));
}

function node(senderId: string, overrides: Partial<PacketSealOptions> = {}): PacketSeal {
  return new PacketSeal({ keyring: Keyring.of([keyA]), clusterId: "c1", senderId, epoch: 1_000, randomBytes: seededBytes(senderId.length), ...overrides });
}

const payload = new TextEncoder().encode("hello gossip");

describe("PacketSeal", () => {
  test("a sealed packet opens to its payload and sender tag, within the stated overhead", () => {
    const packet = node("a").seal(payload);
    expect(packet[0]).toBe(SEAL_VERSION);
    // version, key tag, nonce, MAC, sender tag, epoch 1000 (2-byte varint), counter 0 (1 byte)
    expect(packet.length).toBe(payload.length + 1 + KEY_TAG_BYTES + 24 + 16 + 8 + 2 + 1);
    expect(packet.length).toBeLessThanOrEqual(payload.length + SEAL_OVERHEAD);
    const opened = node("b").open(packet);
    expect(opened).toMatchObject({ ok: true, senderTag: Buffer.from(senderTag("a")).toString("hex") });
    if (opened.ok) expect(opened.payload).toEqual(payload);
  });

  test("the payload is not readable on the wire", () => {
    const packet = node("a").seal(payload);
    expect(Buffer.from(packet).includes(Buffer.from("hello gossip"))).toBe(false);
  });

  test("a packet that is not sealed is dropped as unsealed", () => {
    expect(node("b").open(new TextEncoder().encode("plain"))).toEqual({ ok: false, reason: "unsealed" });
    expect(node("b").open(new Uint8Array(0))).toEqual({ ok: false, reason: "unsealed" });
  });

  test("a truncated packet is dropped as malformed", () => {
    const packet = node("a").seal(payload);
    expect(node("b").open(packet.subarray(0, 20))).toEqual({ ok: false, reason: "malformed" });
  });

  test("any flipped bit past the header is dropped as tampered", () => {
    const packet = node("a").seal(payload);
    const receiver = node("b");
    for (let byte = 1 + KEY_TAG_BYTES; byte < packet.length; byte++) {
      const mutated = Uint8Array.from(packet);
      mutated[byte] = (mutated[byte] as number) ^ 0x10;
      expect(receiver.open(mutated)).toEqual({ ok: false, reason: "tampered" });
    }
    expect(receiver.open(packet).ok).toBe(true);
  });

  test("a packet under a key the receiver lacks is dropped as unknownKey", () => {
    const packet = node("a", { keyring: Keyring.of([keyB]) }).seal(payload);
    expect(node("b").open(packet)).toEqual({ ok: false, reason: "unknownKey" });
  });

  test("a packet of another cluster under the same key does not open (the cluster id is bound into the key)", () => {
    const packet = node("a", { clusterId: "other" }).seal(payload);
    expect(node("b").open(packet)).toEqual({ ok: false, reason: "tampered" });
    expect(sealingKey(keyA, "c1")).not.toEqual(sealingKey(keyA, "other"));
    expect(sealingKey(keyA, "c1")).not.toEqual(keyA);
  });

  test("a sealed plaintext whose inner header is cut short or overlong is dropped as malformed", () => {
    const nonce = new Uint8Array(24);
    const tag = keyTag(Keyring.of([keyA]).primary()!);
    const sealed = (inner: number[]) => new Uint8Array([SEAL_VERSION, ...tag, ...nonce, ...nacl.secretbox(Uint8Array.from(inner), nonce, sealingKey(keyA, "c1"))]);
    const sender = [...senderTag("z")];
    expect(node("b").open(sealed([...sender, 0x80, 0x80]))).toEqual({ ok: false, reason: "malformed" }); // epoch never ends
    expect(node("b").open(sealed([...sender, 1, 0x80]))).toEqual({ ok: false, reason: "malformed" }); // counter never ends
    expect(node("b").open(sealed([...sender, ...new Array(8).fill(0xff), 0, 0]))).toEqual({ ok: false, reason: "malformed" }); // epoch over 7 bytes
    expect(node("b").open(sealed([...sender, 1, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toEqual({ ok: false, reason: "malformed" }); // counter past 2^32
    expect(node("b").open(sealed([...sender, 1, 2, 0x42]))).toMatchObject({ ok: true, payload: Uint8Array.of(0x42) });
  });

  test("keys whose tags collide are each tried", () => {
    const ring = new Keyring();
    ring.install(keyA, { id: "00010007" });
    ring.install(keyB, { id: "00020007" });
    const receiver = node("b", { keyring: ring });
    for (const [id, key] of [["00010007", keyA], ["00020007", keyB]] as const) {
      const senderRing = new Keyring();
      senderRing.install(key, { id });
      expect(receiver.open(node(`s${id}`, { keyring: senderRing }).seal(payload))).toMatchObject({ ok: true, keyId: id });
    }
  });

  test("epochs and counters of every size survive the varints", () => {
    const receiver = node("b");
    for (const epoch of [0, 127, 128, 16_383, 16_384, Date.now(), 2 ** 49 - 1]) {
      expect(receiver.open(node(`e${epoch}`, { epoch }).seal(payload))).toMatchObject({ ok: true, payload });
    }
    expect(() => node("x", { epoch: 2 ** 49 })).toThrow(RangeError);
  });

  test("a replayed packet is dropped; reordering within the window is accepted", () => {
    const sender = node("a");
    const receiver = node("b");
    const packets = Array.from({ length: 10 }, () => sender.seal(payload));
    expect(receiver.open(packets[5]!).ok).toBe(true);
    expect(receiver.open(packets[5]!)).toEqual({ ok: false, reason: "replayed" });
    for (const index of [9, 0, 3, 8, 1]) expect(receiver.open(packets[index]!).ok).toBe(true);
    expect(receiver.open(packets[0]!)).toEqual({ ok: false, reason: "replayed" });
  });

  test("a packet older than the window is dropped as replayed", () => {
    const sender = node("a");
    const receiver = node("b", { replayWindow: 64 });
    const first = sender.seal(payload);
    for (let i = 0; i < 64; i++) receiver.open(sender.seal(payload));
    expect(receiver.open(first)).toEqual({ ok: false, reason: "replayed" });
  });

  test("a restarted sender (newer epoch) is accepted; its previous run's packets are not", () => {
    const receiver = node("b");
    const oldRun = node("a", { epoch: 1_000 });
    const stale = oldRun.seal(payload);
    expect(receiver.open(oldRun.seal(payload)).ok).toBe(true);
    const newRun = node("a", { epoch: 2_000 });
    expect(receiver.open(newRun.seal(payload)).ok).toBe(true);
    expect(receiver.open(stale)).toEqual({ ok: false, reason: "replayed" });
  });

  test("a dropped packet does not move the replay window", () => {
    const sender = node("a");
    const receiver = node("b");
    const packet = sender.seal(payload);
    const tampered = Uint8Array.from(packet);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    expect(receiver.open(tampered).ok).toBe(false);
    expect(receiver.open(packet).ok).toBe(true);
  });

  test("key rotation install → use → remove loses no packet", () => {
    const rings = [Keyring.of([keyA]), Keyring.of([keyA])];
    const seals = rings.map((keyring, i) => node(`n${i}`, { keyring }));
    const exchange = () => {
      for (const [i, from] of seals.entries()) expect(seals[1 - i]!.open(from.seal(payload)).ok).toBe(true);
    };
    exchange();
    const newId = rings.map((ring) => ring.install(keyB))[0]!;
    exchange();
    rings[0]!.use(newId); // one node switches before the other: both still open everything
    exchange();
    rings[1]!.use(newId);
    exchange();
    for (const ring of rings) ring.remove(ring.list().find((key) => !key.primary)!.id);
    exchange();
    expect(rings[0]!.list()).toEqual([{ id: newId, primary: true }]);
  });

  test("sealing with an empty keyring is refused", () => {
    expect(() => node("a", { keyring: new Keyring() }).seal(payload)).toThrow("keyring has no key");
    expect(node("b", { keyring: new Keyring() }).open(node("a").seal(payload))).toEqual({ ok: false, reason: "unknownKey" });
  });
});
