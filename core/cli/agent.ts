/** `shoal agent`: runs the daemon in the foreground until SIGTERM or SIGINT. */
import { Agent } from "../agent/agent.ts";
import { onShutdownSignals, type ShutdownSignal } from "../agent/signals.ts";
import { unknownShoalVariables } from "../agent/config-load.ts";
import { subsystemFactories } from "../agent/subsystems.ts";
import { createLogger, type LogLevel } from "../common/log.ts";
import { CONFIG_FILE_OPTION, configFieldOptions, loadConfigFromFlags } from "./config-flags.ts";
import { ExitCode } from "./exit-codes.ts";
import type { Command } from "./registry.ts";

/** The `agent` command. */
export const agentCommand: Command = {
  name: "agent",
  summary: "Run the Shoal agent in the foreground",
  options: {
    config: CONFIG_FILE_OPTION,
    "print-config": { type: "boolean", description: "print the effective config as JSON and exit" },
    ...configFieldOptions(),
  },
  async run(values, _positionals, context) {
    const { config, configFile } = loadConfigFromFlags(values, context);
    if (values["print-config"] === true) {
      context.out(JSON.stringify(config, null, 2));
      return ExitCode.ok;
    }
    let level: LogLevel = config.logLevel;
    const logger = createLogger({ level: () => level, format: config.logFormat, subsystem: "agent" });
    if (configFile) logger.info("config file loaded", { path: configFile });
    for (const name of unknownShoalVariables(context.env)) logger.warn("unknown environment variable ignored", { name });

    // Signals are handled from the start, so one arriving while the agent boots still stops it cleanly.
    const stopRequested = Promise.withResolvers<ShutdownSignal>();
    let agent: Agent | undefined;
    const uninstall = onShutdownSignals(stopRequested.resolve, (signal) => {
      logger.warn("second signal received; exiting without finishing shutdown", { signal });
      agent?.releaseLockNow();
      process.exit(ExitCode.forced);
    });
    try {
      agent = await Agent.start({
        config, logger, subsystems: subsystemFactories,
        logLevel: { get: () => level, set: (next) => (level = next) },
      });
      const signal = await stopRequested.promise;
      logger.info("shutdown requested", { signal });
      const { clean } = await agent.stop();
      return clean ? ExitCode.ok : ExitCode.failure;
    } finally {
      uninstall();
    }
  },
};
