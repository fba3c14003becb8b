/**
 * Process exit codes of the `shoal` binary. Scripts and systemd units rely on these numbers, so
 * they never change meaning; the README and `shoal --help` list them.
 */
import { ShoalError } from "../common/errors.ts";

/** Every exit code `shoal` uses, by meaning. */
export const ExitCode = {
  /** The command did what was asked (including a graceful agent shutdown). */
  ok: 0,
  /** A runtime failure not covered below (I/O error, port in use, internal error). */
  failure: 1,
  /** Bad command line: unknown command or flag, missing or malformed flag value. */
  usage: 2,
  /** Bad configuration: unreadable or invalid config file, environment variable or field value. */
  config: 3,
  /** The data directory is locked by another running agent. */
  locked: 4,
  /** The local agent could not be reached over its control API (is `shoal agent` running?). */
  unreachable: 5,
  /** The agent was stopped by a second signal before its graceful shutdown finished. */
  forced: 130,
} as const;

/** One of the values of `ExitCode`. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** One line per exit code, for `shoal --help` and the README. */
export const EXIT_CODE_HELP: ReadonlyArray<[ExitCodeValue, string]> = [
  [ExitCode.ok, "success"],
  [ExitCode.failure, "runtime failure (I/O error, address in use, internal error)"],
  [ExitCode.usage, "bad command line (unknown command or flag, missing or bad value)"],
  [ExitCode.config, "bad configuration (config file, SHOAL_* variable or field value)"],
  [ExitCode.locked, "data directory in use by another agent"],
  [ExitCode.unreachable, "local agent not reachable over its control API"],
  [ExitCode.forced, "agent stopped by a second signal during shutdown"],
];

const EXIT_BY_ERROR_CODE: Record<string, ExitCodeValue> = {
  usage: ExitCode.usage,
  config_invalid: ExitCode.config,
  data_dir_locked: ExitCode.locked,
  agent_unreachable: ExitCode.unreachable,
};

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): ExitCodeValue {
  if (error instanceof ShoalError) return EXIT_BY_ERROR_CODE[error.code] ?? ExitCode.failure;
  return ExitCode.failure;
}
