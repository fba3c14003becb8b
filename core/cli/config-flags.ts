/**
 * Flags shared by commands that need the agent's config (`agent`, `status`): `--config` and the
 * per-field flags from the config field table, each described with its environment variable.
 */
import { CONFIG_FIELDS } from "../agent/config-fields.ts";
import { loadConfig, type LoadedConfig } from "../agent/config-load.ts";
import { runningAsRoot } from "../agent/paths.ts";
import type { CommandContext, CommandOption, ParsedValues } from "./registry.ts";

/** `--config FILE`. */
export const CONFIG_FILE_OPTION: CommandOption = {
  type: "string", valueName: "FILE",
  description: "JSON config file [$SHOAL_CONFIG] (default: /etc/shoal/shoal.json as root, if present)",
};

/** Flags for the config fields named in `keys` (all fields when omitted). */
export function configFieldOptions(keys?: readonly string[]): Record<string, CommandOption> {
  const options: Record<string, CommandOption> = {};
  for (const field of CONFIG_FIELDS) {
    if (keys && !keys.includes(field.key)) continue;
    options[field.flag] = {
      type: "string",
      valueName: field.valueName,
      description: `${field.description} [$${field.env}]`,
      ...(field.choices ? { choices: field.choices } : {}),
    };
  }
  return options;
}

/** Loads the config from the command's flags, the environment and the config file. */
export function loadConfigFromFlags(values: ParsedValues, context: CommandContext): LoadedConfig {
  const flags: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "string") flags[name] = value;
  }
  return loadConfig({ env: context.env, flags, isRoot: runningAsRoot() });
}
