/** `shoal join-token worker|manager [-q] [--rotate]`: prints (or replaces) a join token. */
import { ExitCode } from "./exit-codes.ts";
import { AGENT_OPTIONS, agentRequest } from "./local-agent.ts";
import type { Command } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

/** The `join-token` command. */
export const joinTokenCommand: Command = {
  name: "join-token",
  summary: "Print the join token for workers or managers (on a manager); --rotate replaces it",
  positionals: { name: "worker|manager", description: "the role the token admits", max: 1 },
  options: {
    quiet: { type: "boolean", short: "q", description: "print the token alone" },
    rotate: { type: "boolean", description: "replace the token; nodes already joined are not affected" },
    ...AGENT_OPTIONS,
  },
  async run(values, positionals, context) {
    const role = positionals[0];
    if (role !== "worker" && role !== "manager") throw new UsageError('join-token needs a role: "shoal join-token worker" or "shoal join-token manager"');
    const { token } = values.rotate === true
      ? await agentRequest<{ token: string }>(values, context, "POST", `/v1/cluster/join-token/${role}/rotate`, {})
      : await agentRequest<{ token: string }>(values, context, "GET", `/v1/cluster/join-token/${role}`);
    if (values.quiet === true) context.out(token);
    else context.out(`${values.rotate === true ? "Rotated. " : ""}To add a ${role} to this cluster, run on it:\n    shoal join ${token}`);
    return ExitCode.ok;
  },
};
