/**
 * `shoal agent` with one extra subsystem whose stop never finishes, for testing what a second
 * signal and the shutdown budget do to a real process. Run with bun; argv as for `shoal`.
 */
import { subsystemFactories } from "../../core/agent/subsystems.ts";
import { runCli } from "../../core/cli/dispatch.ts";
import { commands } from "../../core/cli/registry.ts";

subsystemFactories.push({
  name: "hanging",
  create: () => ({
    name: "hanging",
    start: async () => {},
    stop: () => new Promise<void>(() => {}),
  }),
});

const code = await runCli(process.argv.slice(2), commands, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
});
process.exit(code);
