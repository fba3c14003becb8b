import { describe, expect, test } from "bun:test";
import { ShoalError } from "../../../core/common/errors.ts";
import { Keyring, decodeGossipKey, defaultKeyId, encodeGossipKey } from "../../../core/secure/keyring.ts";

const keyA = new Uint8Array(32).fill(1);
const keyB = new Uint8Array(32).fill(2);

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ShoalError ? error.code : "not-a-shoal-error";
  }
  return undefined;
}

describe("Keyring", () => {
  test("the first installed key becomes primary; others are only accepted", () => {
    const ring = new Keyring();
    const a = ring.install(keyA);
    const b = ring.install(keyB);
    expect(ring.primary()?.id).toBe(a);
    expect(ring.list()).toEqual([
      { id: a, primary: true },
      { id: b, primary: false },
    ]);
  });

  test("key ids default to the first 4 bytes of SHA-256 of the key", () => {
    const ring = new Keyring();
    expect(ring.install(keyA)).toBe(new Bun.CryptoHasher("sha256").update(keyA).digest("hex").slice(0, 8));
    expect(defaultKeyId(keyA)).toHaveLength(8);
  });

  test("an explicit id can be given, and must be 8 hex digits", () => {
    const ring = new Keyring();
    expect(ring.install(keyA, { id: "00000001" })).toBe("00000001");
    expect(ring.lookup(new Uint8Array([0, 0, 0, 1]))?.key).toEqual(keyA);
    expect(errorCode(() => ring.install(keyB, { id: "xyz" }))).toBe("key_invalid");
    expect(errorCode(() => ring.install(keyB, { id: "00000001" }))).toBe("key_conflict");
  });

  test("withTag finds every installed key whose id ends with a header's key tag", () => {
    const ring = new Keyring();
    ring.install(keyA, { id: "00010002" });
    ring.install(keyB, { id: "00030002" });
    expect(ring.withTag(Uint8Array.of(0, 2)).map((key) => key.id).sort()).toEqual(["00010002", "00030002"]);
    expect(ring.withTag(Uint8Array.of(0, 3))).toEqual([]);
  });

  test("use makes an installed key primary and refuses an unknown one", () => {
    const ring = Keyring.of([keyA]);
    const b = ring.install(keyB);
    ring.use(b);
    expect(ring.primary()?.id).toBe(b);
    expect(errorCode(() => ring.use("deadbeef"))).toBe("key_unknown");
    expect(ring.primary()?.id).toBe(b);
  });

  test("the primary key cannot be removed; a secondary can", () => {
    const ring = Keyring.of([keyA, keyB]);
    const a = defaultKeyId(keyA);
    const b = defaultKeyId(keyB);
    expect(errorCode(() => ring.remove(a))).toBe("key_primary");
    ring.remove(b);
    expect(ring.list()).toEqual([{ id: a, primary: true }]);
    expect(errorCode(() => ring.remove(b))).toBe("key_unknown");
  });

  test("keys must be 32 bytes", () => {
    expect(errorCode(() => new Keyring().install(new Uint8Array(16)))).toBe("key_invalid");
  });

  test("base64 key encoding round-trips and rejects bad input with a clear error", () => {
    expect(decodeGossipKey(encodeGossipKey(keyA))).toEqual(keyA);
    expect(errorCode(() => decodeGossipKey("not base64!"))).toBe("key_invalid");
    expect(errorCode(() => decodeGossipKey(Buffer.from("short").toString("base64")))).toBe("key_invalid");
  });
});
