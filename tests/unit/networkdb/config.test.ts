import { describe, expect, test } from "bun:test";
import { ShoalError } from "../../../core/common/errors.ts";
import { defaultNetworkDbConfig, resolveNetworkDbConfig } from "../../../core/gossip/networkdb/config.ts";

describe("networkdb config", () => {
  test("defaults: 200 ms gossip to 3 peers, 30 s bulk sync, 30 min reaping", () => {
    const config = resolveNetworkDbConfig();
    expect(config).toEqual({ ...defaultNetworkDbConfig });
    expect(config.gossipInterval).toBe(200);
    expect(config.gossipFanout).toBe(3);
    expect(config.bulkSyncInterval).toBe(30_000);
    expect(config.entryReapTimeout).toBe(30 * 60_000);
  });

  test("overrides apply and undefined keeps the default", () => {
    const config = resolveNetworkDbConfig({ gossipFanout: 5, nodeReapTimeout: undefined });
    expect(config.gossipFanout).toBe(5);
    expect(config.nodeReapTimeout).toBe(defaultNetworkDbConfig.nodeReapTimeout);
  });

  const invalid: [string, Record<string, unknown>][] = [
    ["an unknown setting", { gossipIntervall: 100 }],
    ["zero", { gossipInterval: 0 }],
    ["a negative number", { reapInterval: -5 }],
    ["a fraction", { gossipFanout: 2.5 }],
    ["a string", { bulkSyncInterval: "30s" }],
    ["values that cannot fit a message", { maxValueBytes: 1_000 }],
    ["bulk messages smaller than gossip messages", { maxBulkSyncBytes: 1_000 }],
    ["a bulk-sync timeout above its interval", { bulkSyncTimeout: 60_000 }],
  ];
  for (const [what, overrides] of invalid) {
    test(`rejects ${what}`, () => {
      expect(() => resolveNetworkDbConfig(overrides as never)).toThrow(ShoalError);
    });
  }
});
