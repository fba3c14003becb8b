/**
 * The dispatcher: picks the command named by the first argument, parses its flags and runs it,
 * turning every error into one line on stderr and a documented exit code.
 */
import { ShoalError, describeError } from "../common/errors.ts";
import { ExitCode, exitCodeFor } from "./exit-codes.ts";
import { commandHelp, globalHelp } from "./help-text.ts";
import { parseCommandArgs } from "./parse.ts";
import type { Command, CommandContext } from "./registry.ts";
import { UsageError } from "./usage-error.ts";

/** Runs `shoal <argv…>` against `commands`; resolves to the exit code. */
export async function runCli(argv: string[], commands: readonly Command[], io: Omit<CommandContext, "commands">): Promise<number> {
  const context: CommandContext = { ...io, commands };
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") {
    context.out(globalHelp(commands));
    return ExitCode.ok;
  }
  const name = first === "--version" ? "version" : first;
  const command = commands.find((candidate) => candidate.name === name);
  try {
    if (!command) {
      const accepted = commands.map((candidate) => candidate.name).join(", ");
      const what = first.startsWith("-") ? `unknown flag ${first}; global flags: --help, --version;` : `unknown command ${JSON.stringify(first)};`;
      throw new UsageError(`${what} commands: ${accepted} (run "shoal --help")`);
    }
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help === true) {
      context.out(commandHelp(command));
      return ExitCode.ok;
    }
    return await command.run(values, positionals, context);
  } catch (error) {
    const prefix = command ? `shoal ${command.name}` : "shoal";
    if (error instanceof ShoalError) {
      context.err(`${prefix}: ${error.message}`);
      return exitCodeFor(error);
    }
    context.err(`${prefix}: internal error: ${describeError(error)}`);
    return ExitCode.failure;
  }
}
