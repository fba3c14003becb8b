/** `shoal leave [--force]`: the local agent leaves its cluster and forgets its identity. */
import { ExitCode } from "./exit-codes.ts";
import { AGENT_OPTIONS, agentRequest } from "./local-agent.ts";
import type { Command } from "./registry.ts";

/** The `leave` command. */
export const leaveCommand: Command = {
  name: "leave",
  summary: "Leave the cluster (a manager must be demoted first unless --force)",
  options: { force: { type: "boolean", description: "leave even as a manager (may cost the cluster its quorum)" }, ...AGENT_OPTIONS },
  async run(values, _positionals, context) {
    const { left } = await agentRequest<{ left: string }>(values, context, "POST", "/v1/cluster/leave", { force: values.force === true });
    context.out(`This node left cluster ${left}.`);
    return ExitCode.ok;
  },
};
