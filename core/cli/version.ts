/** `shoal version`: the build's version, commit and runtime. */
import { versionInfo } from "../agent/version.ts";
import { ExitCode } from "./exit-codes.ts";
import type { Command } from "./registry.ts";

/** The `version` command. */
export const versionCommand: Command = {
  name: "version",
  summary: "Print version information",
  options: {
    json: { type: "boolean", description: "print as JSON" },
  },
  async run(values, _positionals, context) {
    if (values.json === true) context.out(JSON.stringify(versionInfo));
    else context.out(`shoal ${versionInfo.version} (commit ${versionInfo.commit}, ${versionInfo.runtime})`);
    return ExitCode.ok;
  },
};
