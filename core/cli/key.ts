/** `shoal key rotate`: brings the next gossip key rotation forward (on a manager). */
import { ExitCode } from "./exit-codes.ts";
import { AGENT_OPTIONS, JSON_OPTION, agentRequest } from "./local-agent.ts";
import type { Command } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

/** The `key` command. */
export const keyCommand: Command = {
  name: "key",
  summary: "Gossip keys: \"shoal key rotate\" rotates them now (on a manager)",
  positionals: { name: "rotate", description: "rotate: generate a key now; the newest one becomes primary", max: 1 },
  options: { json: JSON_OPTION, ...AGENT_OPTIONS },
  async run(values, positionals, context) {
    if (positionals[0] !== "rotate") throw new UsageError('key needs an action: "shoal key rotate"');
    const result = await agentRequest<{ rotatesAt: number }>(values, context, "POST", "/v1/cluster/key/rotate", {});
    context.out(values.json === true ? JSON.stringify(result) : `Gossip keys rotate at ${new Date(result.rotatesAt).toISOString()}.`);
    return ExitCode.ok;
  },
};
