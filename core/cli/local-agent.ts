/** Shared by the cluster commands: the flags that find the local agent and give its addresses, one request to it, a table. */
import { dataFiles } from "../agent/paths.ts";
import { CONFIG_FILE_OPTION, configFieldOptions, loadConfigFromFlags } from "./config-flags.ts";
import { controlRequest } from "./control-client.ts";
import type { CommandContext, CommandOption, ParsedValues } from "./registry.ts";

/** `--config` and `--data-dir`: where the local agent's control socket is. */
export const AGENT_OPTIONS: Record<string, CommandOption> = { config: CONFIG_FILE_OPTION, ...configFieldOptions(["dataDir"]) };

/** `--advertise-addr` and `--listen-addr`: where a node joining or founding a cluster is reached and binds. */
export const ADDRESS_OPTIONS = configFieldOptions(["advertiseAddr", "listenAddr"]);

/** The address flags given, as the control API's `advertiseAddr` and `listenAddr` fields. */
export function addressFields(values: ParsedValues): { advertiseAddr?: string; listenAddr?: string } {
  return {
    ...(typeof values["advertise-addr"] === "string" ? { advertiseAddr: values["advertise-addr"] } : {}),
    ...(typeof values["listen-addr"] === "string" ? { listenAddr: values["listen-addr"] } : {}),
  };
}

/** `--json`. */
export const JSON_OPTION: CommandOption = { type: "boolean", description: "print the reply as JSON" };

/** Sends one request to the local agent's control API. */
export function agentRequest<T>(values: ParsedValues, context: CommandContext, method: string, path: string, body?: unknown): Promise<T> {
  const { config } = loadConfigFromFlags(values, context);
  return controlRequest<T>(dataFiles.socket(config.dataDir), method, path, body);
}

/** A left-aligned text table: a header row, then one row per entry. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("   ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
