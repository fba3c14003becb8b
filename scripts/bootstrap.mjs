#!/usr/bin/env node
// Entry for `npm start`, `npm test`, `npm run …`: a fresh clone has only Node.js and npm, so
// install the pinned dependencies (Bun among them) when they are missing, then hand over to Bun.
import { spawnSync } from "node:child_process";
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
const run = spawnSync(bun, [join(root, script), ...args], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? (run.signal ? 128 : 1));
