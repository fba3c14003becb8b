/**
 * Builds the effective config from its sources, later ones winning:
 * defaults < config file < `SHOAL_*` environment variables < flags.
 * Each rejected value becomes a `ConfigError` naming the field, the value and where it came from.
 */
import { existsSync, readFileSync } from "node:fs";
import { describeError } from "../common/errors.ts";
import { CONFIG_FIELDS, FieldValueError, type ConfigField } from "./config-fields.ts";
import { ConfigError, defaultConfig, type AgentConfig } from "./config.ts";
import { defaultConfigPath, type Env } from "./paths.ts";

/** Raw inputs to `resolveConfig`. */
export interface ConfigSources {
  /** Values before any source is applied. */
  defaults: AgentConfig;
  /** The parsed config file, if one was read. */
  file?: { path: string; values: unknown };
  /** Environment variables (only `SHOAL_*` names of known fields are read). */
  env: Env;
  /** Flag values by flag name (`data-dir`), as given on the command line. */
  flags: Record<string, string | undefined>;
}

function applyValue(config: AgentConfig, field: ConfigField, raw: unknown, source: string): void {
  try {
    (config as unknown as Record<string, unknown>)[field.key] = field.parse(raw);
  } catch (error) {
    const reason = error instanceof FieldValueError ? error.message : describeError(error);
    throw new ConfigError(`invalid ${field.key} ${JSON.stringify(raw)} from ${source}: ${reason}`, {
      field: field.key, value: raw, source,
    });
  }
}

function fileValues(file: { path: string; values: unknown }): Record<string, unknown> {
  const { path, values } = file;
  if (values === null || typeof values !== "object" || Array.isArray(values)) {
    throw new ConfigError(`config file ${path}: expected a JSON object at the top level`, { path });
  }
  const accepted = new Set(CONFIG_FIELDS.map((field) => field.key as string));
  for (const key of Object.keys(values)) {
    if (!accepted.has(key)) {
      throw new ConfigError(
        `config file ${path}: unknown field ${JSON.stringify(key)}; accepted fields: ${[...accepted].join(", ")}`,
        { path, field: key },
      );
    }
  }
  return values as Record<string, unknown>;
}

/** Merges the sources into one validated config (pure: no file or environment access). */
export function resolveConfig(sources: ConfigSources): AgentConfig {
  const config = { ...sources.defaults };
  const fromFile = sources.file ? fileValues(sources.file) : {};
  for (const field of CONFIG_FIELDS) {
    if (field.key in fromFile) applyValue(config, field, fromFile[field.key], `config file ${sources.file!.path}`);
    const fromEnv = sources.env[field.env];
    if (fromEnv !== undefined) applyValue(config, field, fromEnv, field.env);
    const fromFlag = sources.flags[field.flag];
    if (fromFlag !== undefined) applyValue(config, field, fromFlag, `--${field.flag}`);
  }
  return config;
}

/**
 * `SHOAL_*` variables that name no config field: almost always a typo (`SHOAL_LOG_LEVL`), which
 * would otherwise silently leave the default in place.
 */
export function unknownShoalVariables(env: Env): string[] {
  const known = new Set(["SHOAL_CONFIG", ...CONFIG_FIELDS.map((field) => field.env)]);
  return Object.keys(env).filter((name) => name.startsWith("SHOAL_") && !known.has(name)).sort();
}

/** Reads and parses a JSON config file, turning every failure into a `ConfigError`. */
export function readConfigFile(path: string): { path: string; values: unknown } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${describeError(error)}`, { path }, { cause: error });
  }
  try {
    return { path, values: JSON.parse(text) };
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${describeError(error)}`, { path }, { cause: error });
  }
}

/** Inputs of `loadConfig`. */
export interface LoadConfigOptions {
  env: Env;
  /** Flag values by flag name; `config` names the config file. */
  flags: Record<string, string | undefined>;
  isRoot: boolean;
}

/** The effective config and the file it was read from (null when none). */
export interface LoadedConfig {
  config: AgentConfig;
  configFile: string | null;
}

/**
 * Loads the config: the file named by `--config` or `SHOAL_CONFIG` must exist; the default file
 * (see `defaultConfigPath`) is read only when present.
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const explicit = options.flags.config ?? options.env.SHOAL_CONFIG;
  const fallback = defaultConfigPath(options.env, options.isRoot);
  const path = explicit ?? (existsSync(fallback) ? fallback : null);
  const config = resolveConfig({
    defaults: defaultConfig(options.env, options.isRoot),
    file: path === null ? undefined : readConfigFile(path),
    env: options.env,
    flags: options.flags,
  });
  return { config, configFile: path };
}
