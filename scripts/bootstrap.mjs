#!/usr/bin/env node
// Entry for `npm start`, `npm test`, `npm run …`: a fresh clone has only Node.js and npm, so
// install the pinned dependencies (Bun among them) when they are missing, then hand over to Bun.
import { spawn, spawnSync } from "node:child_process";
import { constants } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");

if (!existsSync(bun)) {
  console.error("shoal: installing dependencies (npm install)…");
  const install = spawnSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const [script, ...args] = process.argv.slice(2);
const child = spawn(bun, [join(root, script), ...args], { cwd: root, stdio: "inherit" });
// A signal sent to this process alone (npm, a supervisor, `kill`) must reach Bun, or Bun and
// whatever it started would outlive us. A terminal's Ctrl-C reaches both; scripts that care
// (the demo) treat a repeated signal as one.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
