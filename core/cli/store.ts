/**
 * `shoal store check|repair`: inspects the raft store in the data directory, and repairs a torn
 * or corrupted log tail by truncating it after the operator confirms. Run it with the agent
 * stopped; the leader resends the truncated entries when the node rejoins.
 */
import { createInterface } from "node:readline/promises";
import { inspectStore, repairStore } from "../store/repair.ts";
import { CONFIG_FILE_OPTION, configFieldOptions, loadConfigFromFlags } from "./config-flags.ts";
import { ExitCode } from "./exit-codes.ts";
import type { Command } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const lines = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await lines.question(`${question} [y/N] `)).trim());
  } finally {
    lines.close();
  }
}

/** The `store` command. */
export const storeCommand: Command = {
  name: "store",
  summary: "Check the raft store for damage, or repair a torn log tail (agent stopped)",
  positionals: { name: "check|repair", description: "check: report damage; repair: truncate the log from the first bad entry", max: 1 },
  options: {
    yes: { type: "boolean", description: "repair without asking for confirmation" },
    config: CONFIG_FILE_OPTION,
    ...configFieldOptions(["dataDir"]),
  },
  async run(values, positionals, context) {
    const action = positionals[0] ?? "check";
    if (action !== "check" && action !== "repair") throw new UsageError(`store: unknown action ${JSON.stringify(action)}; use check or repair`);
    const { config } = loadConfigFromFlags(values, context);
    const health = inspectStore(config.dataDir);
    if (!health.problem) {
      context.out(`${health.path}: ok`);
      return ExitCode.ok;
    }
    context.err(health.problem.message);
    if (action === "check") return ExitCode.failure;
    if (!health.repairable) {
      context.err("this damage cannot be repaired by truncating the log");
      return ExitCode.failure;
    }
    const question = `Truncate ${health.entriesToDrop} log entries from index ${health.problem.index} in ${health.path}?`;
    if (values.yes !== true && !(await confirm(question))) {
      context.err("not repaired (confirm interactively or pass --yes)");
      return ExitCode.failure;
    }
    const result = repairStore(config.dataDir);
    context.out(`${result.path}: removed ${result.removed} entries from index ${result.truncatedFrom}`);
    if (result.commitLowered) {
      context.out(`commit index lowered from ${result.commitLowered.from} to ${result.commitLowered.to}; the leader will resend the rest`);
      context.err("committed entries were removed: if the node cannot rejoin, remove it from the cluster and add it back with an empty data directory");
    }
    return ExitCode.ok;
  },
};
