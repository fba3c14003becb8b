/**
 * The table of config fields: for each one its file key, `SHOAL_*` variable, flag, help text and
 * parser. The config loader, the `agent` command's flags, `--print-config` and the README's
 * configuration table are all driven by this one table, so they cannot drift apart.
 */
import { isAbsolute, resolve } from "node:path";
import { LOG_FORMATS, LOG_LEVELS } from "../common/log.ts";
import { formatHostPort, type HostPort, isDialable, parseHostPort } from "../common/address.ts";
import { type AgentConfig, GOSSIP_PROFILES } from "./config.ts";

/** Thrown by a field parser; carries what the field accepts (the loader adds field, value and source). */
export class FieldValueError extends Error {}

/** How one config field is named in each source and how its raw value is checked. */
export interface ConfigField<K extends keyof AgentConfig = keyof AgentConfig> {
  /** Key in the JSON config file and in `--print-config` output. */
  key: K;
  /** Environment variable, e.g. `SHOAL_DATA_DIR`. */
  env: string;
  /** Long flag without dashes, e.g. `data-dir`. */
  flag: string;
  /** Placeholder for help output, e.g. `DIR`. */
  valueName: string;
  /** One line for help and the README. */
  description: string;
  /** Accepted values, when the field is an enumeration. */
  choices?: readonly string[];
  /** Turns a raw value (JSON value from the file, string from env or flag) into the typed value. */
  parse(raw: unknown): AgentConfig[K];
}

function text(raw: unknown): string {
  if (typeof raw !== "string") throw new FieldValueError("expected a string");
  return raw;
}

function hostPort(value: string): HostPort {
  const parsed = parseHostPort(value);
  if ("error" in parsed) throw new FieldValueError(parsed.error);
  return parsed;
}

function listenAddress(raw: unknown): string {
  return formatHostPort(hostPort(text(raw).trim()));
}

/** Other nodes dial this address, so a wildcard host or port 0 would be unreachable. */
function advertiseAddress(raw: unknown): string {
  const value = text(raw).trim();
  if (value === "") return "";
  const parsed = hostPort(value);
  if (!isDialable(parsed)) {
    throw new FieldValueError("expected an address other nodes can dial: not 0.0.0.0, :: or port 0");
  }
  return formatHostPort(parsed);
}

function oneOf<T extends string>(choices: readonly T[]) {
  return (raw: unknown): T => {
    const value = text(raw);
    if (!(choices as readonly string[]).includes(value)) throw new FieldValueError(`expected one of ${choices.join(", ")}`);
    return value as T;
  };
}

function integer(min: number, max: number) {
  return (raw: unknown): number => {
    const value = typeof raw === "string" && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new FieldValueError(`expected an integer from ${min} to ${max}`);
    }
    return value;
  };
}

/** Every config field, in the order help and `--print-config` show them. */
export const CONFIG_FIELDS: readonly ConfigField[] = [
  {
    key: "dataDir", env: "SHOAL_DATA_DIR", flag: "data-dir", valueName: "DIR",
    description: "directory for node id, lock file, control socket and state",
    parse: (raw) => {
      const value = text(raw);
      if (value.trim() === "") throw new FieldValueError("expected a non-empty path");
      return isAbsolute(value) ? value : resolve(value);
    },
  },
  {
    key: "nodeName", env: "SHOAL_NODE_NAME", flag: "node-name", valueName: "NAME",
    description: "node name shown in status and node listings (default: short hostname)",
    parse: (raw) => {
      const value = text(raw);
      if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/.test(value)) {
        throw new FieldValueError("expected 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
      }
      return value;
    },
  },
  {
    key: "listenAddr", env: "SHOAL_LISTEN_ADDR", flag: "listen-addr", valueName: "ADDR",
    description: "HOST:PORT for the cluster channel and Raft (TCP)", parse: listenAddress,
  },
  {
    key: "advertiseAddr", env: "SHOAL_ADVERTISE_ADDR", flag: "advertise-addr", valueName: "ADDR",
    description: "HOST:PORT other nodes use to reach this one (default: derived from listen-addr)",
    parse: advertiseAddress,
  },
  {
    key: "gossipAddr", env: "SHOAL_GOSSIP_ADDR", flag: "gossip-addr", valueName: "ADDR",
    description: "HOST:PORT for gossip (UDP and TCP)", parse: listenAddress,
  },
  {
    key: "healthAddr", env: "SHOAL_HEALTH_ADDR", flag: "health-addr", valueName: "ADDR",
    description: "HOST:PORT for /healthz, /readyz, /metrics and /v1/info (HTTP)", parse: listenAddress,
  },
  {
    key: "logLevel", env: "SHOAL_LOG_LEVEL", flag: "log-level", valueName: "LEVEL",
    description: "lowest log level written", choices: LOG_LEVELS, parse: oneOf(LOG_LEVELS),
  },
  {
    key: "logFormat", env: "SHOAL_LOG_FORMAT", flag: "log-format", valueName: "FORMAT",
    description: "log line format on stderr", choices: LOG_FORMATS, parse: oneOf(LOG_FORMATS),
  },
  {
    key: "shutdownTimeoutMs", env: "SHOAL_SHUTDOWN_TIMEOUT_MS", flag: "shutdown-timeout-ms", valueName: "MS",
    description: "milliseconds a graceful shutdown may take before giving up", parse: integer(100, 600_000),
  },
  {
    key: "heartbeatPeriodMs", env: "SHOAL_HEARTBEAT_PERIOD_MS", flag: "heartbeat-period-ms", valueName: "MS",
    description: "dispatcher heartbeat period a manager gives its nodes; down after 3 missed", parse: integer(100, 600_000),
  },
  {
    key: "gossipProfile", env: "SHOAL_GOSSIP_PROFILE", flag: "gossip-profile", valueName: "PROFILE",
    description: "gossip timing: lan, wan or local (one host)", choices: GOSSIP_PROFILES, parse: oneOf(GOSSIP_PROFILES),
  },
  {
    key: "keyRotationIntervalMs", env: "SHOAL_KEY_ROTATION_INTERVAL_MS", flag: "key-rotation-interval-ms", valueName: "MS",
    description: "time between gossip key rotations (the Raft leader's setting applies)", parse: integer(1_000, 365 * 24 * 60 * 60 * 1000),
  },
  {
    key: "keyInstallGraceMs", env: "SHOAL_KEY_INSTALL_GRACE_MS", flag: "key-install-grace-ms", valueName: "MS",
    description: "least time a new gossip key is out before key rotate makes it primary", parse: integer(100, 24 * 60 * 60 * 1000),
  },
  {
    key: "certificateLifetimeMs", env: "SHOAL_CERTIFICATE_LIFETIME_MS", flag: "certificate-lifetime-ms", valueName: "MS",
    description: "lifetime of node certificates this manager issues; nodes renew at 50-80% of it", parse: integer(10_000, 10 * 365 * 24 * 60 * 60 * 1000),
  },
];
