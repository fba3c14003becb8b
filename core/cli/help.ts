/** `shoal help [command]`: the same text as `--help`. */
import { ExitCode } from "./exit-codes.ts";
import { commandHelp, globalHelp } from "./help-text.ts";
import type { Command } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

/** The `help` command. */
export const helpCommand: Command = {
  name: "help",
  summary: "Show help for shoal or one command",
  positionals: { name: "[command]", description: "the command to describe", max: 1 },
  options: {},
  async run(_values, positionals, context) {
    const [topic] = positionals;
    if (topic === undefined) {
      context.out(globalHelp(context.commands));
      return ExitCode.ok;
    }
    const command = context.commands.find((candidate) => candidate.name === topic);
    if (!command) {
      const accepted = context.commands.map((candidate) => candidate.name).join(", ");
      throw new UsageError(`unknown command ${JSON.stringify(topic)}; commands: ${accepted}`);
    }
    context.out(commandHelp(command));
    return ExitCode.ok;
  },
};
