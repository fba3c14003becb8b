/**
 * Peers come from Debian packages, installed on demand so `npm run bench -- <name>` works on a
 * fresh machine. `apt-get update` runs at most once per bench run.
 */
import { spawnSync } from "node:child_process";

let updated = false;

function asRoot(argv: string[]): string[] | null {
  if (process.getuid?.() === 0) return argv;
  const sudo = spawnSync("sudo", ["-n", "true"], { stdio: "ignore" });
  return sudo.status === 0 ? ["sudo", "-n", ...argv] : null;
}

function run(argv: string[], log: (line: string) => void): boolean {
  log(`$ ${argv.join(" ")}`);
  const [command, ...args] = argv as [string, ...string[]];
  const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return result.status === 0;
}

/**
 * The path of `command`, installing `aptPackage` first when it is missing. Returns null (and
 * logs why) when it cannot be had: no apt-get, not root and no password-less sudo, or the
 * install failed. The bench then reports the peer's figures as null instead of failing.
 */
export function ensureCommand(command: string, aptPackage: string, log: (line: string) => void = console.error): string | null {
  const existing = Bun.which(command);
  if (existing) return existing;
  if (!Bun.which("apt-get")) {
    log(`peer ${command}: not installed and apt-get is not available`);
    return null;
  }
  const update = asRoot(["apt-get", "update"]);
  const install = asRoot(["apt-get", "install", "-y", "--no-install-recommends", aptPackage]);
  if (!update || !install) {
    log(`peer ${command}: not installed, and installing ${aptPackage} needs root or password-less sudo`);
    return null;
  }
  if (!updated) updated = run(update, log);
  if (!run(install, log)) {
    log(`peer ${command}: apt-get install ${aptPackage} failed`);
    return null;
  }
  const installed = Bun.which(command) ?? Bun.which(command, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
  if (!installed) log(`peer ${command}: ${aptPackage} installed but ${command} is not on PATH`);
  return installed;
}
