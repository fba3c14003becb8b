/**
 * The command table. A command is one module exporting a `Command`; adding one means writing
 * that module and adding one line to `commands` below. The dispatcher (`./dispatch.ts`) parses
 * flags from each command's `options`, so help, errors and parsing stay uniform.
 */
import type { ParseArgsOptionDescriptor } from "node:util";
import { agentCommand } from "./agent.ts";
import { helpCommand } from "./help.ts";
import { initCommand } from "./init.ts";
import { joinCommand } from "./join.ts";
import { joinTokenCommand } from "./join-token.ts";
import { keyCommand } from "./key.ts";
import { leaveCommand } from "./leave.ts";
import { nodeCommand } from "./node.ts";
import { statusCommand } from "./status.ts";
import { storeCommand } from "./store.ts";
import { versionCommand } from "./version.ts";

/** One flag of a command: a `node:util` parseArgs option plus what help prints for it. */
export type CommandOption = ParseArgsOptionDescriptor & {
  /** One line for `--help`. */
  description: string;
  /** Placeholder shown in help for a string flag, e.g. `ADDR` in `--listen ADDR`. */
  valueName?: string;
  /** Accepted values; the dispatcher rejects anything else with a line listing these. */
  choices?: readonly string[];
};

/** Flags after parsing: option name -> value (string flags are strings, boolean flags booleans). */
export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/** What a command receives besides its parsed flags. */
export interface CommandContext {
  /** Writes to standard output (a trailing newline is added). */
  out(text: string): void;
  /** Writes to standard error (a trailing newline is added). */
  err(text: string): void;
  /** The process environment (passed in so tests can supply their own). */
  env: Record<string, string | undefined>;
  /** The whole command table, for `help`. */
  commands: readonly Command[];
}

/** A `shoal` subcommand. */
export interface Command {
  /** The word after `shoal`, e.g. `agent`. */
  name: string;
  /** One line for `shoal --help`. */
  summary: string;
  /** Positional arguments shown in usage, e.g. `[command]`; omitted when the command takes none. */
  positionals?: { name: string; description: string; max: number };
  /** Flags, by long name. `--help` is added to every command by the dispatcher. */
  options: Record<string, CommandOption>;
  /** Runs the command; resolves to the process exit code. Throw `UsageError` for bad input. */
  run(values: ParsedValues, positionals: string[], context: CommandContext): Promise<number>;
}

/** Every command `shoal` knows, in the order `shoal --help` lists them. */
export const commands: Command[] = [
  agentCommand,
  statusCommand,
  initCommand,
  joinCommand,
  joinTokenCommand,
  nodeCommand,
  leaveCommand,
  keyCommand,
  storeCommand,
  versionCommand,
  helpCommand,
];
