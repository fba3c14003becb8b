/** The human output of `shoal node ls` and `node inspect`. */
import { expect, test } from "bun:test";
import { formatNodeDetails, formatNodeTable } from "../../../core/cli/node.ts";
import type { ClusterNodeView } from "../../../core/cluster/contract.ts";

const base: ClusterNodeView = {
  id: "0123456789abcdef0123456789abcdef", hostname: "edge-1", role: "manager", availability: "active", labels: { zone: "a" },
  status: "ready", statusMessage: "", address: "10.0.0.1:7370", certificateSerial: "s1", signingPublicKey: new Uint8Array(32),
  boxPublicKey: new Uint8Array(32), joinedAt: 0, statusChangedAt: 0, managerStatus: "leader",
};

test("node ls: one aligned row per node, short ids, manager status only for managers", () => {
  const worker: ClusterNodeView = { ...base, id: "f".repeat(32), hostname: "w", role: "worker", status: "down", managerStatus: undefined };
  const lines = formatNodeTable([base, worker]).split("\n");
  expect(lines[0]).toMatch(/^ID +HOSTNAME +ROLE +MANAGER STATUS +AVAILABILITY +STATUS +ADDRESS$/);
  expect(lines[1]).toMatch(/^0123456789ab +edge-1 +manager +leader +active +ready +10\.0\.0\.1:7370$/);
  expect(lines[2]).toMatch(/^ffffffffffff +w +worker +active +down +10\.0\.0\.1:7370$/);
  // Columns line up under their headers.
  expect(lines[1]?.indexOf("manager")).toBe(lines[0]?.indexOf("ROLE"));
  expect(lines[2]?.indexOf("active")).toBe(lines[0]?.indexOf("AVAILABILITY"));
});

test("node inspect: one field per line with labels and standing", () => {
  const text = formatNodeDetails({ ...base, status: "down", statusMessage: "heartbeat missed" });
  expect(text).toContain("Role:         manager (leader)");
  expect(text).toContain("Status:       down (heartbeat missed)");
  expect(text).toContain("Labels:       zone=a");
});
