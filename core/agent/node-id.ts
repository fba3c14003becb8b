/**
 * The node id: 128 random bits, written to the data directory on first start and read back on
 * every later start, so a node keeps its identity across restarts (like a Swarm node id).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { ShoalError } from "../common/errors.ts";
import { dataFiles } from "./paths.ts";

const NODE_ID = /^[0-9a-f]{32}$/;

/** Reads this node's id from `dataDir`, generating and persisting one on first use. */
export function loadOrCreateNodeId(dataDir: string): string {
  const path = dataFiles.nodeId(dataDir);
  if (existsSync(path)) {
    const id = readFileSync(path, "utf8").trim();
    if (!NODE_ID.test(id)) {
      throw new ShoalError("node_id_invalid", `node id file ${path} is corrupt (expected 32 hex digits); restore it or remove it to start as a new node`, { path });
    }
    return id;
  }
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
  // Write then rename, so a crash never leaves a half-written id behind.
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${id}\n`, { mode: 0o644 });
  renameSync(temporary, path);
  return id;
}
