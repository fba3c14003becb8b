import { expect, test } from "bun:test";
import { statSync } from "node:fs";
import { checkpointInBackground, checkpointThread } from "../../../core/store/checkpoint.ts";
import { walDatabase } from "./temp-dirs.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

test("registered files are checkpointed in the background, off the writing thread", async () => {
  const { path, db } = walDatabase();
  const insert = db.query("INSERT INTO t VALUES (?, ?)");
  for (let i = 0; i < 200; i++) insert.run(i, new Uint8Array(4096));
  // Without a checkpoint every page still sits in the WAL and the database file stays tiny.
  expect(statSync(path).size).toBeLessThan(100_000);
  const stop = checkpointInBackground(path);
  try {
    await waitFor(() => checkpointThread() === "worker", { timeoutMs: 10_000, intervalMs: 20, what: "the checkpoint worker to start" });
    await waitFor(() => statSync(path).size >= 800_000, { timeoutMs: 10_000, intervalMs: 20, what: "the WAL to be checkpointed" });
    expect(statSync(path).size).toBeGreaterThanOrEqual(800_000);
  } finally {
    stop();
    db.close();
  }
}, 15_000);
