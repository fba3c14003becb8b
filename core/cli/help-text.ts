/** Help text for `shoal --help` and `shoal <command> --help`, generated from the command table. */
import { EXIT_CODE_HELP } from "./exit-codes.ts";
import { optionsOf } from "./parse.ts";
import type { Command } from "./registry.ts";

const TAGLINE = "shoal: one agent per host that turns a set of machines into a cluster (gossip, Raft, scheduler, DNS, routing mesh)";

function table(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** The text of `shoal --help`. */
export function globalHelp(commands: readonly Command[]): string {
  return [
    TAGLINE,
    "",
    "Usage: shoal <command> [flags]",
    "",
    "Commands:",
    ...table(commands.map((command) => [command.name, command.summary])),
    "",
    "Global flags:",
    ...table([
      ["-h, --help", "show this help (\"shoal <command> --help\" for a command's flags)"],
      ["--version", "print the version (same as \"shoal version\")"],
    ]),
    "",
    "Exit codes:",
    ...table(EXIT_CODE_HELP.map(([code, meaning]) => [String(code), meaning])),
  ].join("\n");
}

/** The text of `shoal <command> --help`. */
export function commandHelp(command: Command): string {
  const positional = command.positionals ? ` ${command.positionals.name}` : "";
  const rows = Object.entries(optionsOf(command)).map(([name, option]): [string, string] => {
    const short = option.short ? `-${option.short}, ` : "    ";
    const value = option.type === "string" ? ` ${option.valueName ?? "VALUE"}` : "";
    const choices = option.choices ? ` (${option.choices.join("|")})` : "";
    return [`${short}--${name}${value}`, `${option.description}${choices}`];
  });
  const lines = [`Usage: shoal ${command.name} [flags]${positional}`, "", command.summary];
  if (command.positionals) lines.push("", "Arguments:", ...table([[command.positionals.name, command.positionals.description]]));
  lines.push("", "Flags:", ...table(rows));
  return lines.join("\n");
}
