/** `shoal join <token>`: the local agent joins the cluster the token names. */
import { ExitCode } from "./exit-codes.ts";
import { ADDRESS_OPTIONS, AGENT_OPTIONS, JSON_OPTION, addressFields, agentRequest } from "./local-agent.ts";
import type { Command } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

/** The `join` command. */
export const joinCommand: Command = {
  name: "join",
  summary: "Join the local agent to a cluster with a join token",
  positionals: { name: "TOKEN", description: "a SHOAL-1-… token from \"shoal join-token worker|manager\"", max: 1 },
  options: { ...ADDRESS_OPTIONS, json: JSON_OPTION, ...AGENT_OPTIONS },
  async run(values, positionals, context) {
    const token = positionals[0];
    if (!token) throw new UsageError('join needs a token: shoal join SHOAL-1-… (print one on a manager with "shoal join-token worker")');
    const body = { token, ...addressFields(values) };
    const result = await agentRequest<{ nodeId: string; clusterId: string; role: string }>(values, context, "POST", "/v1/cluster/join", body);
    context.out(values.json === true ? JSON.stringify(result, null, 2) : `This node (${result.nodeId}) joined cluster ${result.clusterId} as a ${result.role}.`);
    return ExitCode.ok;
  },
};
