/** Naming a node in a command: id, hostname, then id prefix. */
import { expect, test } from "bun:test";
import { ApiError } from "../../../core/api/errors.ts";
import type { ClusterNode } from "../../../core/cluster/contract.ts";
import { findNodeByRef } from "../../../core/cluster/node-ref.ts";

function node(id: string, hostname: string): ClusterNode {
  return {
    id, hostname, role: "worker", availability: "active", labels: {}, status: "ready", statusMessage: "", address: "127.0.0.1:7370",
    certificateSerial: `serial-${id}`, signingPublicKey: new Uint8Array(32), boxPublicKey: new Uint8Array(32), joinedAt: 0, statusChangedAt: 0,
  };
}

// "a2" is a hostname and also the start of another node's id: the hostname wins.
const nodes = [node("a2f0c1", "a1"), node("b7d3e9", "a2"), node("c4aa00", "c4"), node("c4bb00", "twin"), node("d1e2f3", "twin")];

function refusal(ref: string): { status: number; code: string; message: string } {
  try {
    findNodeByRef(nodes, ref);
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error(`${ref} was resolved`);
}

test("a whole id, then a hostname, then a unique id prefix", () => {
  expect(findNodeByRef(nodes, "b7d3e9").hostname).toBe("a2");
  expect(findNodeByRef(nodes, "a2").id).toBe("b7d3e9");
  expect(findNodeByRef(nodes, "a2f").hostname).toBe("a1");
  // The hostname c4 wins over the id prefix c4 that two nodes share.
  expect(findNodeByRef(nodes, "c4").id).toBe("c4aa00");
});

test("ambiguous and unknown references are refused with what to do", () => {
  expect(refusal("twin")).toMatchObject({ status: 409, code: "node_ambiguous" });
  expect(refusal("twin").message).toContain("use the id");
  expect(refusal("c")).toMatchObject({ status: 409, code: "node_ambiguous" });
  expect(refusal("c").message).toContain("use more of the id");
  expect(refusal("e")).toMatchObject({ status: 404, code: "node_not_found" });
  expect(refusal("")).toMatchObject({ status: 404, code: "node_not_found" });
});
