import { describe, expect, test } from "bun:test";
import { ShoalError } from "../../../core/common/errors.ts";
import { lanConfig, localConfig, validateConfig, wanConfig } from "../../../core/gossip/config.ts";

const identity = { name: "n1", address: "127.0.0.1:7371" };

describe("gossip config", () => {
  test("the LAN profile matches memberlist's DefaultLANConfig", () => {
    expect(lanConfig(identity)).toMatchObject({
      probeInterval: 1_000,
      probeTimeout: 500,
      indirectChecks: 3,
      gossipInterval: 200,
      gossipNodes: 3,
      suspicionMult: 4,
      suspicionMaxTimeoutMult: 6,
      retransmitMult: 4,
      pushPullInterval: 30_000,
      gossipToTheDeadTime: 30_000,
      awarenessMaxMultiplier: 8,
      maxPacketBytes: 1_400,
      metaMaxBytes: 512,
    });
  });

  test("the WAN and local profiles match memberlist's DefaultWANConfig and DefaultLocalConfig", () => {
    expect(wanConfig(identity)).toMatchObject({ probeInterval: 5_000, probeTimeout: 3_000, suspicionMult: 6, gossipInterval: 500, gossipNodes: 4, pushPullInterval: 60_000, gossipToTheDeadTime: 60_000 });
    expect(localConfig(identity)).toMatchObject({ probeTimeout: 200, indirectChecks: 1, suspicionMult: 3, gossipInterval: 100, retransmitMult: 2, pushPullInterval: 15_000 });
  });

  test("overrides apply and identity fills name, address and empty metadata", () => {
    const config = lanConfig(identity, { gossipNodes: 5 });
    expect(config.gossipNodes).toBe(5);
    expect(config.name).toBe("n1");
    expect(config.meta).toEqual(new Uint8Array());
  });

  test("invalid settings are refused with the field named", () => {
    const invalid = (run: () => unknown, field: string) => {
      try {
        run();
        throw new Error("accepted an invalid config");
      } catch (error) {
        expect(error).toBeInstanceOf(ShoalError);
        expect((error as ShoalError).code).toBe("config_invalid");
        expect((error as ShoalError).context.field).toBe(field);
      }
    };
    invalid(() => lanConfig(identity, { probeInterval: 0 }), "probeInterval");
    invalid(() => lanConfig(identity, { gossipNodes: Number.NaN }), "gossipNodes");
    invalid(() => lanConfig(identity, { probeTimeout: 2_000 }), "probeTimeout");
    invalid(() => lanConfig(identity, { maxPacketBytes: 100 }), "maxPacketBytes");
    invalid(() => lanConfig(identity, { pushPullInterval: -1 }), "pushPullInterval");
    invalid(() => lanConfig({ name: "", address: "x:1" }), "name");
    invalid(() => validateConfig({ ...lanConfig(identity), meta: new Uint8Array(600) }), "meta");
  });

  test("push-pull and reconnects can be disabled with 0", () => {
    // Validation accepts 0 for both (other intervals must be positive).
    expect(lanConfig(identity, { pushPullInterval: 0, reconnectInterval: 0 })).toMatchObject({ pushPullInterval: 0, reconnectInterval: 0 });
  });
});
