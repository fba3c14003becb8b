/** `shoal init`: makes the local agent the first manager of a new cluster and prints the join tokens. */
import type { InitResult } from "../cluster/service.ts";
import { ExitCode } from "./exit-codes.ts";
import { ADDRESS_OPTIONS, AGENT_OPTIONS, JSON_OPTION, addressFields, agentRequest } from "./local-agent.ts";
import type { Command } from "./registry.ts";

/** The `init` command. */
export const initCommand: Command = {
  name: "init",
  summary: "Create a cluster with the local agent as its first manager; print the join tokens",
  options: {
    ...ADDRESS_OPTIONS,
    "force-new-cluster": { type: "boolean", description: "on a surviving manager after quorum loss: become the only manager, keeping the cluster state" },
    json: JSON_OPTION,
    ...AGENT_OPTIONS,
  },
  async run(values, _positionals, context) {
    const body = {
      ...addressFields(values),
      ...(values["force-new-cluster"] === true ? { forceNewCluster: true } : {}),
    };
    const result = await agentRequest<InitResult>(values, context, "POST", "/v1/cluster/init", body);
    if (values.json === true) {
      context.out(JSON.stringify(result, null, 2));
      return ExitCode.ok;
    }
    context.out(`${values["force-new-cluster"] === true ? "Recovered" : "Initialised"} cluster ${result.clusterId}; this node (${result.nodeId}) is its manager.`);
    context.out(`\nTo add a worker, run on it:\n    shoal join ${result.tokens.worker}`);
    context.out(`\nTo add a manager, run on it:\n    shoal join ${result.tokens.manager}`);
    return ExitCode.ok;
  },
};
