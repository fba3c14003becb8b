/** `shoal status`: asks the local agent over its control API and prints a short summary. */
import { dataFiles } from "../agent/paths.ts";
import type { AgentStatus } from "../api/control.ts";
import { CONFIG_FILE_OPTION, configFieldOptions, loadConfigFromFlags } from "./config-flags.ts";
import { controlRequest } from "./control-client.ts";
import { ExitCode } from "./exit-codes.ts";
import type { Command } from "./registry.ts";

function duration(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

/** The human summary of a status reply. */
export function formatStatus(status: AgentStatus): string {
  const failing = status.readiness.checks.filter((check) => !check.ok);
  const ready = status.readiness.ready
    ? "yes"
    : `no (${failing.map((check) => `${check.name}${check.detail ? `: ${check.detail}` : ""}`).join("; ")})`;
  const rows: Array<[string, string]> = [
    ["Node", `${status.nodeName} (${status.nodeId})`],
    ["Role", status.role],
    ["Ready", ready],
    ["Version", `${status.version} (commit ${status.commit})`],
    ["Uptime", duration(status.uptimeSeconds)],
    ["PID", String(status.pid)],
    ["Data dir", status.dataDir],
    ["Health", `http://${status.healthAddr}/readyz`],
    ["Log level", status.logLevel],
  ];
  return rows.map(([label, value]) => `${`${label}:`.padEnd(11)}${value}`).join("\n");
}

/** The `status` command. */
export const statusCommand: Command = {
  name: "status",
  summary: "Show the local agent's status (via its control socket)",
  options: {
    json: { type: "boolean", description: "print the agent's full status as JSON" },
    config: CONFIG_FILE_OPTION,
    ...configFieldOptions(["dataDir"]),
  },
  async run(values, _positionals, context) {
    const { config } = loadConfigFromFlags(values, context);
    const status = await controlRequest<AgentStatus>(dataFiles.socket(config.dataDir), "GET", "/v1/status");
    context.out(values.json === true ? JSON.stringify(status, null, 2) : formatStatus(status));
    return ExitCode.ok;
  },
};
