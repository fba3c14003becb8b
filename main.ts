#!/usr/bin/env bun
/** The `shoal` binary: parse argv, dispatch to a command in core/cli, exit with its code. */
import { runCli } from "./core/cli/dispatch.ts";
import { commands } from "./core/cli/registry.ts";

const code = await runCli(process.argv.slice(2), commands, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
});
process.exit(code);
