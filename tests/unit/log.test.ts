import { describe, expect, test } from "bun:test";
import { createLogger, isSensitiveField, nullLogger, REDACTED, type LoggerOptions } from "../../core/common/log.ts";

const fixedNow = () => new Date("2026-01-02T03:04:05.000Z");

function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", format: "logfmt", subsystem: "test", sink: (line) => lines.push(line), now: fixedNow, ...options });
  return { logger, lines };
}

describe("logger", () => {
  test("logfmt line carries ts, level, subsystem, msg and fields; values with spaces are quoted", () => {
    const { logger, lines } = capture();
    logger.info("peer joined", { peer: "node-b", addr: "10.0.0.2:7371", note: "two words", count: 3 });
    expect(lines).toEqual([
      'ts=2026-01-02T03:04:05.000Z level=info subsystem=test msg="peer joined" peer=node-b addr=10.0.0.2:7371 note="two words" count=3',
    ]);
  });

  test("newlines, quotes and '=' in values cannot forge a second line or field", () => {
    const { logger, lines } = capture();
    logger.warn("bad peer name", { peer: 'x\nts=0 level=error msg="forged"', note: "a=b" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(lines[0]).toEndWith('peer="x\\nts=0 level=error msg=\\"forged\\"" note="a=b"');
  });

  test("json format writes one parseable object per line", () => {
    const { logger, lines } = capture({ format: "json" });
    logger.warn("slow", { ms: 12 });
    expect(JSON.parse(lines[0]!)).toEqual({ ts: "2026-01-02T03:04:05.000Z", level: "warn", subsystem: "test", msg: "slow", ms: 12 });
  });

  test("lines below the level are dropped, and the level can change at run time", () => {
    let level: "debug" | "warn" = "warn";
    const { logger, lines } = capture({ level: () => level });
    logger.info("hidden");
    logger.error("shown");
    level = "debug";
    logger.debug("now shown");
    expect(lines.map((line) => /msg=("[^"]*"|\S+)/.exec(line)?.[1])).toEqual(["shown", '"now shown"']);
  });

  test("child adds fields and may relabel the subsystem; every line has a subsystem", () => {
    const { logger, lines } = capture({ format: "json" });
    logger.child({ subsystem: "raft", term: 4 }).child({ peer: "b" }).info("vote");
    expect(JSON.parse(lines[0]!)).toMatchObject({ subsystem: "raft", term: 4, peer: "b", msg: "vote" });
  });

  test("caller fields never overwrite ts, level or msg", () => {
    const { logger, lines } = capture({ format: "json" });
    logger.info("changed", { level: "debug", msg: "spoof" });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "info", msg: "changed", field_level: "debug", field_msg: "spoof" });
  });

  test("a token, secret or key never appears in a log line, at any depth and in both formats", () => {
    const token = "SHOAL-1-SUPERSECRETTOKENVALUE";
    for (const format of ["logfmt", "json"] as const) {
      const { logger, lines } = capture({ format });
      logger.info("joining", {
        joinToken: token,
        nested: { clientSecret: token, list: [{ gossipKey: token }], private_key: token },
        authorization: `Bearer ${token}`,
        keyring: [token],
      });
      logger.child({ apiToken: token }).error("failed");
      expect(lines.join("\n")).not.toContain("SUPERSECRET");
      expect(lines.join("\n")).toContain(REDACTED);
    }
  });

  test("byte arrays are summarised by length, errors by message", () => {
    const { logger, lines } = capture({ format: "json" });
    logger.error("decode", { packet: new Uint8Array([1, 2, 3]), error: new Error("bad header") });
    expect(JSON.parse(lines[0]!)).toMatchObject({ packet: "<3 bytes>", error: "bad header" });
  });

  test("field names: secrets are recognised, identifiers and counts stay visible", () => {
    for (const name of ["token", "joinToken", "join_token", "secret", "clientSecret", "password", "gossipKey", "rootKeys", "privateKeyPem", "keyring", "Authorization"]) {
      expect(isSensitiveField(name)).toBe(true);
    }
    for (const name of ["keyId", "publicKeyCount", "peer", "monkeyCount", "term", "nodeId"]) {
      expect(isSensitiveField(name)).toBe(false);
    }
  });

  test("nullLogger accepts everything and writes nothing", () => {
    expect(() => nullLogger.child({ a: 1 }).error("x", { token: "y" })).not.toThrow();
  });
});
