import { describe, expect, test } from "bun:test";
import { SeededRandom } from "../../../core/common/random.ts";
import { decodeBase32, encodeBase32 } from "../../../core/secure/base32.ts";
import { formatJoinToken, parseJoinToken, TokenError, type JoinToken } from "../../../core/secure/token.ts";

function bytes(random: SeededRandom, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => random.int(256));
}

function sampleToken(seed = 1): JoinToken {
  const random = new SeededRandom(seed);
  return { rootPin: bytes(random, 32), role: "worker", secret: bytes(random, 32), managers: ["127.0.0.1:7370", "10.0.0.2:7370"] };
}

describe("base32", () => {
  test("round-trips every length and forgives look-alike characters", () => {
    const random = new SeededRandom(7);
    for (let length = 0; length < 40; length++) {
      const data = bytes(random, length);
      expect(decodeBase32(encodeBase32(data))).toEqual(data);
    }
    expect(decodeBase32("O1")).toEqual(decodeBase32("01"));
    expect(decodeBase32("il")).toEqual(decodeBase32("11"));
  });

  test("rejects characters outside the alphabet", () => {
    expect(() => decodeBase32("AB*C")).toThrow("invalid character");
  });
});

describe("join token", () => {
  test("round-trips and starts with the versioned prefix", () => {
    const token = sampleToken();
    const text = formatJoinToken(token);
    expect(text).toMatch(/^SHOAL-1-[0-9A-HJKMNP-TV-Z]+$/);
    expect(parseJoinToken(text)).toEqual(token);
    expect(parseJoinToken(`  ${text}\n`)).toEqual(token);
    expect(parseJoinToken(formatJoinToken({ ...token, role: "manager" })).role).toBe("manager");
  });

  test("a truncated token is refused as truncated or mismatched, never accepted", () => {
    const text = formatJoinToken(sampleToken());
    for (let cut = 1; cut < text.length - "SHOAL-1-".length; cut += 3) {
      expect(() => parseJoinToken(text.slice(0, text.length - cut))).toThrow(TokenError);
    }
  });

  test("every single-character typo is caught by the checksum", () => {
    const text = formatJoinToken(sampleToken(3));
    const body = text.slice("SHOAL-1-".length);
    for (let i = 0; i < body.length; i++) {
      const replacement = body[i] === "A" ? "B" : "A";
      const typo = `SHOAL-1-${body.slice(0, i)}${replacement}${body.slice(i + 1)}`;
      expect(() => parseJoinToken(typo)).toThrow(TokenError);
    }
  });

  test("wrong prefix, version and shape give clear messages", () => {
    expect(() => parseJoinToken("SWMTKN-1-abc")).toThrow("not a Shoal join token");
    expect(() => parseJoinToken("SHOAL-2-ABC")).toThrow("version 2 is not supported");
    expect(() => parseJoinToken("SHOAL-1-")).toThrow("malformed join token");
    expect(() => parseJoinToken("SHOAL-1-AB-CD")).toThrow("malformed join token");
    expect(() => parseJoinToken("SHOAL-1-A")).toThrow("truncated");
  });

  test("a token whose checksum is right but whose body is wrong is refused", () => {
    expect(() => formatJoinToken({ ...sampleToken(), managers: [] })).not.toThrow();
    expect(() => parseJoinToken(formatJoinToken({ ...sampleToken(), managers: [] }))).toThrow("manager addresses");
    expect(() => formatJoinToken({ ...sampleToken(), secret: new Uint8Array(5) })).toThrow("32 bytes");
  });
});
