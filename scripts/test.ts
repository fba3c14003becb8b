/**
 * `npm test` (and `.ci/run`): builds dist/shoal, installs the Debian packages the suite needs
 * (when root), then runs every `*.test.ts` under tests/ with bun:test. Bun's summary line is the
 * last thing printed, and the exit code is bun's.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "./build.ts";

const root = join(import.meta.dir, "..");
/** Per-test timeout; slow tests set their own, larger one. */
const TEST_TIMEOUT_MS = 30_000;

function requiredPackages(): string[] {
  return readFileSync(join(import.meta.dir, "test-packages.txt"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line.length > 0);
}

function installed(pkg: string): boolean {
  const result = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return result.status === 0 && result.stdout.includes("install ok installed");
}

function installPackages(): void {
  const missing = requiredPackages().filter((pkg) => !installed(pkg));
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0;
  if (!isRoot || !hasApt) {
    console.log(`test: not installing ${missing.join(", ")} (${isRoot ? "no apt-get" : "not root"}); tests needing them will skip`);
    return;
  }
  console.log(`test: installing ${missing.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { stdio: "inherit", env });
  if (install.status !== 0) console.log(`test: apt-get install failed (exit ${install.status}); tests needing ${missing.join(", ")} will skip`);
}

console.log(`test: root=${process.getuid?.() === 0 ? "yes" : "no"} ci=${process.env.CI === "true" ? "yes" : "no"} long=${process.env.SHOAL_LONG === "1" ? "yes" : "no (SHOAL_LONG=1 runs the big simulations)"}`);
build();
installPackages();
const args = process.argv.slice(2);
const run = spawnSync(process.execPath, ["test", `--timeout=${TEST_TIMEOUT_MS}`, ...(args.length > 0 ? args : ["./tests/"])], {
  cwd: root,
  stdio: "inherit",
});
process.exit(run.status ?? 1);
