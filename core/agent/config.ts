/**
 * The agent's one typed configuration. Every tunable lives here with its default; where each
 * value may come from (file key, `SHOAL_*` variable, flag) and how it is checked is in
 * `./config-fields.ts`, and the merging of sources in `./config-load.ts`.
 */
import { hostname } from "node:os";
import { clusterConfig } from "../cluster/config.ts";
import { DEFAULT_DISPATCHER_CONFIG } from "../cluster/dispatcher/config.ts";
import { DEFAULT_KEY_ROTATION_CONFIG } from "../cluster/keyrotation/config.ts";
import { ShoalError } from "../common/errors.ts";
import type { LogFormat, LogLevel } from "../common/log.ts";
import { defaultDataDir, type Env } from "./paths.ts";

/** Default ports, chosen not to collide with Docker Swarm's 2377, 7946 and 4789. */
export const DEFAULT_PORTS = {
  /** Cluster secure channel and Raft (TCP). */
  cluster: 7370,
  /** Gossip (UDP and TCP). */
  gossip: 7371,
  /** Health, readiness and metrics HTTP (TCP, loopback by default). */
  health: 7372,
  /** Overlay network VXLAN (UDP). */
  vxlan: 4790,
} as const;

/** The effective configuration of one agent. */
export interface AgentConfig {
  /** Directory for the node id, lock file, control socket and (later) Raft and gossip state. */
  dataDir: string;
  /** Human-readable node name shown in `shoal status` and node listings. */
  nodeName: string;
  /** Address the cluster channel and Raft listen on (TCP). */
  listenAddr: string;
  /** Address other nodes use to reach this one; empty means derive it from `listenAddr`. */
  advertiseAddr: string;
  /** Address gossip listens on (UDP and TCP). */
  gossipAddr: string;
  /** Address of the health/readiness/metrics HTTP server; keep it on loopback unless scraped remotely. */
  healthAddr: string;
  /** Lowest level of log line written. */
  logLevel: LogLevel;
  /** Log line format on stderr. */
  logFormat: LogFormat;
  /** How long a graceful shutdown may take before the agent gives up and exits with an error. */
  shutdownTimeoutMs: number;
  /**
   * Dispatcher heartbeat period. A manager tells the nodes it serves to heartbeat this often and
   * marks a node down after 3 missed periods; a node fails over after 3 periods without reply.
   */
  heartbeatPeriodMs: number;
  /** Gossip timing profile: `lan` (data center), `wan` (slow, lossy links) or `local` (one host). */
  gossipProfile: GossipProfile;
  /** Time between scheduled gossip key rotations (the Raft leader's setting applies; 3 keys are kept). */
  keyRotationIntervalMs: number;
  /** Least time a new gossip key is distributed before `shoal key rotate` may make it primary. */
  keyInstallGraceMs: number;
  /** Lifetime of the node certificates a manager issues; nodes renew at 50-80% of it. */
  certificateLifetimeMs: number;
}

/** The gossip timing profiles (memberlist's LAN, WAN and local defaults). */
export const GOSSIP_PROFILES = ["lan", "wan", "local"] as const;

/** One of `GOSSIP_PROFILES`. */
export type GossipProfile = (typeof GOSSIP_PROFILES)[number];

/**
 * The defaults, before any file, environment variable or flag. The protocol timings are the
 * defaults of the subsystem configs they feed, so each is stated once.
 */
export function defaultConfig(env: Env, isRoot: boolean): AgentConfig {
  return {
    dataDir: defaultDataDir(env, isRoot),
    nodeName: hostname().split(".")[0] || "shoal",
    listenAddr: `0.0.0.0:${DEFAULT_PORTS.cluster}`,
    advertiseAddr: "",
    gossipAddr: `0.0.0.0:${DEFAULT_PORTS.gossip}`,
    healthAddr: `127.0.0.1:${DEFAULT_PORTS.health}`,
    logLevel: "info",
    logFormat: "logfmt",
    shutdownTimeoutMs: 10_000,
    heartbeatPeriodMs: DEFAULT_DISPATCHER_CONFIG.heartbeatPeriod,
    gossipProfile: "lan",
    keyRotationIntervalMs: DEFAULT_KEY_ROTATION_CONFIG.rotationInterval,
    keyInstallGraceMs: DEFAULT_KEY_ROTATION_CONFIG.installGrace,
    certificateLifetimeMs: clusterConfig().certificateLifetimeMs,
  };
}

/** A config value, file or source was rejected; the message names the field, value and source. */
export class ConfigError extends ShoalError {
  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super("config_invalid", message, context, options);
  }
}
