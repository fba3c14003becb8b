/**
 * Structured logging: one line per event on stderr, logfmt by default or JSON, with a level,
 * a `subsystem` on every line and the caller's fields.
 *
 * Secrets never reach a log line: any field whose name says it holds a secret (see
 * `isSensitiveField`) is written as `[redacted]`, at any depth, whatever its value. Byte arrays
 * are written as their length only, because raw key material usually travels as bytes.
 */

/** Severity of a log line, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** How a line is written: `logfmt` (`key=value …`) or one JSON object per line. */
export type LogFormat = "logfmt" | "json";

/** Every accepted level, lowest first (also the order used to filter). */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Every accepted format. */
export const LOG_FORMATS: readonly LogFormat[] = ["logfmt", "json"];

/** Writes structured lines; `child` returns a logger that adds `fields` to every line. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger adding `fields` to every line (pass `subsystem` to relabel a component). */
  child(fields: Record<string, unknown>): Logger;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Lines below this level are dropped; a function lets the level change at run time. */
  level: LogLevel | (() => LogLevel);
  /** Output format. */
  format: LogFormat;
  /** The component writing, e.g. `agent`, `raft`, `gossip`. */
  subsystem: string;
  /** Where finished lines go (without newline); defaults to stderr. Tests capture here. */
  sink?: (line: string) => void;
  /** Clock for the `ts` field; defaults to the wall clock. */
  now?: () => Date;
}

/** The placeholder written instead of a sensitive value. */
export const REDACTED = "[redacted]";

const SENSITIVE_WORDS = new Set([
  "token", "tokens", "secret", "secrets", "password", "passwd", "passphrase",
  "credential", "credentials", "private", "authorization", "cookie",
]);
const SENSITIVE_LAST_WORDS = new Set(["key", "keys", "keyring"]);

/**
 * True when a field name says it holds a secret: any word of it is a secret-like word
 * (`joinToken`, `client_secret`, `privateKeyPem`), or its last word is `key`/`keys`/`keyring`
 * (`gossipKey`, `rootKeys`). `keyId` or `publicKeyCount` stay visible: identifiers and counts
 * are what operators need to debug key rotation.
 */
export function isSensitiveField(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
  if (words.some((word) => SENSITIVE_WORDS.has(word))) return true;
  const last = words[words.length - 1];
  return last !== undefined && SENSITIVE_LAST_WORDS.has(last);
}

/** Copies `value` into something safe to print: secrets redacted, bytes summarised, errors as text. */
export function sanitize(value: unknown, depth = 0): unknown {
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (value instanceof Error) return value.message;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object") return value;
  if (depth >= 6) return "[…]";
  if (Array.isArray(value)) return value.map((item) => sanitize(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(value)) {
    out[name] = isSensitiveField(name) ? REDACTED : sanitize(inner, depth + 1);
  }
  return out;
}

function logfmtValue(value: unknown): string {
  const text = typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value) ?? String(value);
  return /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
}

function formatLine(format: LogFormat, record: Record<string, unknown>): string {
  if (format === "json") return JSON.stringify(record);
  return Object.entries(record)
    .map(([name, value]) => `${name}=${logfmtValue(value)}`)
    .join(" ");
}

/** Creates a logger writing to stderr (or `options.sink`). */
export function createLogger(options: LoggerOptions): Logger {
  const sink = options.sink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const currentLevel = typeof options.level === "function" ? options.level : () => options.level as LogLevel;

  const build = (bound: Record<string, unknown>): Logger => {
    const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(currentLevel())) return;
      const extra = sanitize({ ...bound, ...fields }) as Record<string, unknown>;
      const { subsystem, ...rest } = extra;
      const record: Record<string, unknown> = { ts: now().toISOString(), level, subsystem: subsystem ?? options.subsystem, msg };
      // A caller's field never overwrites ts, level or msg; it is kept under a prefixed name.
      for (const [name, value] of Object.entries(rest)) record[name in record ? `field_${name}` : name] = value;
      sink(formatLine(options.format, record));
    };
    return {
      debug: (msg, fields) => write("debug", msg, fields),
      info: (msg, fields) => write("info", msg, fields),
      warn: (msg, fields) => write("warn", msg, fields),
      error: (msg, fields) => write("error", msg, fields),
      child: (fields) => build({ ...bound, ...fields }),
    };
  };
  return build({});
}

/** A logger that drops everything; for tests and pure code paths that need one. */
export const nullLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => nullLogger,
};
