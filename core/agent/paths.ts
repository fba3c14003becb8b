/**
 * Where the agent keeps its files. As root Shoal behaves like a system daemon (`/var/lib/shoal`,
 * `/etc/shoal`); as a user it follows the XDG base directory spec, so a developer can run an
 * agent without privileges and without touching system paths.
 */
import { join } from "node:path";

/** The process environment, or a stand-in for tests. */
export type Env = Record<string, string | undefined>;

/** The default data directory: `/var/lib/shoal` as root, else `$XDG_DATA_HOME/shoal` or `~/.local/share/shoal`. */
export function defaultDataDir(env: Env, isRoot: boolean): string {
  if (isRoot) return "/var/lib/shoal";
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, "shoal");
  return join(env.HOME ?? ".", ".local", "share", "shoal");
}

/**
 * The config file read when `--config` and `SHOAL_CONFIG` are both absent (and only if it
 * exists): `/etc/shoal/shoal.json` as root, else `$XDG_CONFIG_HOME/shoal/shoal.json` or
 * `~/.config/shoal/shoal.json`.
 */
export function defaultConfigPath(env: Env, isRoot: boolean): string {
  if (isRoot) return "/etc/shoal/shoal.json";
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "shoal", "shoal.json");
  return join(env.HOME ?? ".", ".config", "shoal", "shoal.json");
}

/** Files inside the data directory. */
export const dataFiles = {
  /** The pid/lock file held by the running agent. */
  lock: (dataDir: string) => join(dataDir, "shoal.lock"),
  /** The control API's unix socket. */
  socket: (dataDir: string) => join(dataDir, "shoal.sock"),
  /** This node's id, generated on first start. */
  nodeId: (dataDir: string) => join(dataDir, "node-id"),
};

/** True when the process runs as root (uid 0); false where uids don't exist. */
export function runningAsRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}
