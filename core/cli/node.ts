/** `shoal node ls|inspect|update|promote|demote|rm`: the cluster's nodes (on a manager). */
import type { ClusterNodeView } from "../cluster/contract.ts";
import { ExitCode } from "./exit-codes.ts";
import { AGENT_OPTIONS, JSON_OPTION, agentRequest, formatTable } from "./local-agent.ts";
import type { Command, CommandContext, ParsedValues } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

const ACTIONS = ["ls", "inspect", "update", "promote", "demote", "rm"] as const;

/** The `node ls` table. */
export function formatNodeTable(nodes: readonly ClusterNodeView[]): string {
  const rows = nodes.map((node) => [
    node.id.slice(0, 12),
    node.hostname,
    node.role,
    node.managerStatus ?? "",
    node.availability,
    node.status,
    node.address,
  ]);
  return formatTable(["ID", "HOSTNAME", "ROLE", "MANAGER STATUS", "AVAILABILITY", "STATUS", "ADDRESS"], rows);
}

function labelsFrom(values: ParsedValues): Record<string, string> | undefined {
  const raw = values["label-add"];
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of raw) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--label-add needs KEY=VALUE, got ${JSON.stringify(pair)}`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

/** `node inspect` for humans: one field per line, labels included. */
export function formatNodeDetails(node: ClusterNodeView): string {
  const labels = Object.entries(node.labels).map(([key, value]) => `${key}=${value}`).join(", ");
  const rows: [string, string][] = [
    ["ID", node.id],
    ["Hostname", node.hostname],
    ["Role", node.managerStatus ? `${node.role} (${node.managerStatus})` : node.role],
    ["Availability", node.availability],
    ["Status", node.statusMessage ? `${node.status} (${node.statusMessage})` : node.status],
    ["Address", node.address],
    ["Labels", labels || "-"],
    ["Certificate", node.certificateSerial],
    ["Joined", new Date(node.joinedAt).toISOString()],
  ];
  return rows.map(([label, value]) => `${`${label}:`.padEnd(14)}${value}`).join("\n");
}

function printNode(node: ClusterNodeView, values: ParsedValues, context: CommandContext, details = false): void {
  if (values.json === true) context.out(JSON.stringify(node, null, 2));
  else context.out(details ? formatNodeDetails(node) : formatNodeTable([node]));
}

/** The `node` command. */
export const nodeCommand: Command = {
  name: "node",
  summary: "List, inspect, update, promote, demote and remove cluster nodes (on a manager)",
  positionals: { name: "ls|inspect|update|promote|demote|rm [NODE]", description: "the action, and a node id, id prefix or hostname", max: 2 },
  options: {
    availability: { type: "string", valueName: "MODE", choices: ["active", "pause", "drain"], description: "update: whether the scheduler may place tasks on the node" },
    "label-add": { type: "string", multiple: true, valueName: "KEY=VALUE", description: "update: add or change a label (repeatable)" },
    "label-rm": { type: "string", multiple: true, valueName: "KEY", description: "update: remove a label (repeatable)" },
    force: { type: "boolean", description: "rm: remove a node that is still up, or a manager" },
    json: JSON_OPTION,
    ...AGENT_OPTIONS,
  },
  async run(values, positionals, context) {
    const [action, ref] = positionals;
    if (!ACTIONS.includes(action as (typeof ACTIONS)[number])) throw new UsageError(`node needs an action: ${ACTIONS.join(", ")}`);
    if (action === "ls") {
      const nodes = await agentRequest<ClusterNodeView[]>(values, context, "GET", "/v1/nodes");
      context.out(values.json === true ? JSON.stringify(nodes, null, 2) : formatNodeTable(nodes));
      return ExitCode.ok;
    }
    if (!ref) throw new UsageError(`node ${action} needs a node: id, id prefix or hostname`);
    const path = `/v1/nodes/${encodeURIComponent(ref)}`;
    if (action === "inspect") printNode(await agentRequest(values, context, "GET", path), values, context, true);
    if (action === "promote" || action === "demote") printNode(await agentRequest(values, context, "POST", `${path}/${action}`, {}), values, context);
    if (action === "rm") {
      await agentRequest(values, context, "DELETE", `${path}${values.force === true ? "?force=true" : ""}`);
      context.out(`Removed ${ref}.`);
    }
    if (action === "update") {
      const labelAdd = labelsFrom(values);
      const labelRm = values["label-rm"];
      const body = {
        ...(typeof values.availability === "string" ? { availability: values.availability } : {}),
        ...(labelAdd ? { labelAdd } : {}),
        ...(Array.isArray(labelRm) && labelRm.length > 0 ? { labelRm } : {}),
      };
      if (Object.keys(body).length === 0) throw new UsageError("node update needs --availability, --label-add or --label-rm");
      printNode(await agentRequest(values, context, "POST", `${path}/update`, body), values, context);
    }
    return ExitCode.ok;
  },
};
