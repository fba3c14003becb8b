import { describe, expect, test } from "bun:test";
import { decodeGossipMeta } from "../../../core/cluster/node/gossip-node.ts";
import { encodeCbor, encodeEnvelope } from "../../../core/common/envelope.ts";
import { SeededRandom } from "../../../core/common/random.ts";

describe("gossip member metadata", () => {
  test("reads what a node publishes", () => {
    const meta = { role: "worker", hostname: "edge-7", address: "10.0.0.7:7370" };
    expect(decodeGossipMeta(encodeEnvelope("cluster.gossipMeta", 1, meta))).toEqual(meta);
  });

  test("anything else — another kind, missing fields, random bytes — is undefined, never a throw", () => {
    expect(decodeGossipMeta(new Uint8Array())).toBeUndefined();
    expect(decodeGossipMeta(encodeCbor({ role: "worker" }))).toBeUndefined();
    expect(decodeGossipMeta(encodeEnvelope("cluster.other", 1, { role: "a", hostname: "b", address: "c" }))).toBeUndefined();
    expect(decodeGossipMeta(encodeEnvelope("cluster.gossipMeta", 1, { role: 1, hostname: "b", address: "c" }))).toBeUndefined();
    expect(decodeGossipMeta(encodeEnvelope("cluster.gossipMeta", 1, null))).toBeUndefined();
    const random = new SeededRandom(4);
    for (let i = 0; i < 500; i++) expect(() => decodeGossipMeta(Uint8Array.from({ length: random.int(48) }, () => random.int(256)))).not.toThrow();
  });
});
