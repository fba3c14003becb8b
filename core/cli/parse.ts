/**
 * Flag parsing for one command, on top of `node:util` parseArgs. parseArgs' strict mode stops at
 * the first problem with a generic message; walking its tokens instead lets every error say
 * exactly which flag was wrong and what the command accepts.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Command, CommandOption, ParsedValues } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

/** The `--help` flag every command gets. */
export const HELP_OPTION: CommandOption = { type: "boolean", short: "h", description: "show help for this command" };

/** A command's flags including `--help`. */
export function optionsOf(command: Command): Record<string, CommandOption> {
  return { ...command.options, help: HELP_OPTION };
}

function flagList(options: Record<string, CommandOption>): string {
  return Object.keys(options).map((name) => `--${name}`).join(", ");
}

/** Parses `args` for `command`, or throws a `UsageError` naming the problem and what is accepted. */
export function parseCommandArgs(command: Command, args: string[]): { values: ParsedValues; positionals: string[] } {
  const options = optionsOf(command);
  const config: ParseArgsOptionsConfig = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] = { type: option.type, ...(option.short ? { short: option.short } : {}), ...(option.multiple ? { multiple: true } : {}) };
  }
  const hint = `run "shoal ${command.name} --help"`;
  const { values, positionals, tokens } = parseArgs({ args, options: config, strict: false, allowPositionals: true, tokens: true });

  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const option = options[token.name];
    if (!option) throw new UsageError(`unknown flag ${token.rawName}; accepted flags: ${flagList(options)} (${hint})`, { flag: token.rawName });
    if (option.type === "boolean" && token.value !== undefined) {
      throw new UsageError(`flag ${token.rawName} takes no value, got ${JSON.stringify(token.value)} (${hint})`, { flag: token.rawName });
    }
    if (option.type === "string") {
      const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith("-") && token.value.length > 1);
      const placeholder = option.valueName ?? "VALUE";
      if (missing) throw new UsageError(`flag ${token.rawName} needs a value: ${token.rawName} ${placeholder} (${hint})`, { flag: token.rawName });
      if (option.choices && !option.choices.includes(token.value!)) {
        throw new UsageError(
          `bad value ${JSON.stringify(token.value)} for ${token.rawName}; accepted: ${option.choices.join(", ")}`,
          { flag: token.rawName, value: token.value },
        );
      }
    }
  }

  const max = command.positionals?.max ?? 0;
  if (positionals.length > max) {
    const accepted = command.positionals ? `at most ${max} ${command.positionals.name}` : "no arguments";
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}; "shoal ${command.name}" takes ${accepted} (${hint})`, {
      argument: positionals[max],
    });
  }
  return { values: values as ParsedValues, positionals };
}
