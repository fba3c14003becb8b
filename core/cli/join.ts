/** `shoal join <token>`: the local agent joins the cluster the token names. */
import { configFieldOptions } from "./config-flags.ts";
import { ExitCode } from "./exit-codes.ts";
import { AGENT_OPTIONS, JSON_OPTION, agentRequest } from "./local-agent.ts";
import type { Command, ParsedValues } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

/** `--advertise-addr` and `--listen-addr`: where a node joining or founding a cluster is reached and binds. */
export const ADDRESS_OPTIONS = configFieldOptions(["advertiseAddr", "listenAddr"]);

/** The address flags given, as the control API's `advertiseAddr` and `listenAddr` fields. */
export function addressFields(values: ParsedValues): { advertiseAddr?: string; listenAddr?: string } {
  return {
    ...(typeof values["advertise-addr"] === "string" ? { advertiseAddr: values["advertise-addr"] } : {}),
    ...(typeof values["listen-addr"] === "string" ? { listenAddr: values["listen-addr"] } : {}),
  };
}

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
