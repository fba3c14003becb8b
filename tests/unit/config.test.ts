import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIG_FIELDS } from "../../core/agent/config-fields.ts";
import { loadConfig, resolveConfig, unknownShoalVariables } from "../../core/agent/config-load.ts";
import { ConfigError, defaultConfig, type AgentConfig } from "../../core/agent/config.ts";
import { defaultConfigPath, defaultDataDir } from "../../core/agent/paths.ts";

const defaults: AgentConfig = defaultConfig({ HOME: "/home/ada" }, false);
const dir = mkdtempSync(join(tmpdir(), "shoal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("config defaults", () => {
  test("root uses system paths, users follow XDG", () => {
    expect(defaultDataDir({}, true)).toBe("/var/lib/shoal");
    expect(defaultDataDir({ XDG_DATA_HOME: "/x/data", HOME: "/home/ada" }, false)).toBe("/x/data/shoal");
    expect(defaultDataDir({ HOME: "/home/ada" }, false)).toBe("/home/ada/.local/share/shoal");
    expect(defaultConfigPath({}, true)).toBe("/etc/shoal/shoal.json");
    expect(defaultConfigPath({ HOME: "/home/ada" }, false)).toBe("/home/ada/.config/shoal/shoal.json");
  });

  test("default ports avoid Docker's and the health server stays on loopback", () => {
    expect(defaults.listenAddr).toBe("0.0.0.0:7370");
    expect(defaults.gossipAddr).toBe("0.0.0.0:7371");
    expect(defaults.healthAddr).toBe("127.0.0.1:7372");
    expect(defaults.logLevel).toBe("info");
    expect(defaults.logFormat).toBe("logfmt");
  });
});

describe("config precedence: defaults < file < SHOAL_* env < flags", () => {
  const file = { path: "/etc/shoal/shoal.json", values: { logLevel: "warn", nodeName: "from-file", healthAddr: "127.0.0.1:9000" } };

  test("each later source overrides the earlier ones, field by field", () => {
    const config = resolveConfig({
      defaults,
      file,
      env: { SHOAL_LOG_LEVEL: "error", SHOAL_NODE_NAME: "from-env" },
      flags: { "log-level": "debug" },
    });
    expect(config.logLevel).toBe("debug");
    expect(config.nodeName).toBe("from-env");
    expect(config.healthAddr).toBe("127.0.0.1:9000");
    expect(config.logFormat).toBe(defaults.logFormat);
  });

  test("without env or flags the file wins over defaults", () => {
    expect(resolveConfig({ defaults, file, env: {}, flags: {} }).logLevel).toBe("warn");
  });

  test("environment variables not naming a field are ignored", () => {
    expect(resolveConfig({ defaults, env: { SHOAL_LONG: "1", PATH: "/bin" }, flags: {} })).toEqual(defaults);
  });

  test("unknown SHOAL_* variables are reported so typos can be warned about", () => {
    expect(unknownShoalVariables({ SHOAL_LOG_LEVL: "debug", SHOAL_LOG_LEVEL: "info", SHOAL_CONFIG: "/x", HOME: "/h" })).toEqual(["SHOAL_LOG_LEVL"]);
  });

  test("every field has a distinct SHOAL_* variable and flag", () => {
    const envs = CONFIG_FIELDS.map((field) => field.env);
    const flags = CONFIG_FIELDS.map((field) => field.flag);
    expect(new Set(envs).size).toBe(CONFIG_FIELDS.length);
    expect(new Set(flags).size).toBe(CONFIG_FIELDS.length);
    expect(envs.every((name) => name.startsWith("SHOAL_"))).toBe(true);
    expect(CONFIG_FIELDS.map((field): string => field.key).sort()).toEqual(Object.keys(defaults).sort());
  });

  test("the effective config, written as a file, reads back identical", () => {
    const config = resolveConfig({ defaults, env: { SHOAL_ADVERTISE_ADDR: "[fd00::1]:7370" }, flags: { "shutdown-timeout-ms": "2500" } });
    const again = resolveConfig({ defaults: defaultConfig({}, true), file: { path: "x.json", values: JSON.parse(JSON.stringify(config)) }, env: {}, flags: {} });
    expect(again).toEqual(config);
  });
});

describe("config validation names field, value and source", () => {
  const cases: Array<[string, Partial<Record<string, string>>, RegExp]> = [
    ["logLevel", { "log-level": "verbose" }, /invalid logLevel "verbose" from --log-level: expected one of debug, info, warn, error/],
    ["logFormat", { "log-format": "xml" }, /invalid logFormat "xml" from --log-format: expected one of logfmt, json/],
    ["healthAddr", { "health-addr": "localhost" }, /invalid healthAddr "localhost" from --health-addr: expected HOST:PORT/],
    ["listenAddr", { "listen-addr": "0.0.0.0:70000" }, /invalid listenAddr "0.0.0.0:70000" from --listen-addr: expected a port between 0 and 65535/],
    ["gossipAddr", { "gossip-addr": "[not-v6]:7371" }, /invalid gossipAddr .* expected an IPv6 address/],
    ["advertiseAddr", { "advertise-addr": "0.0.0.0:7370" }, /invalid advertiseAddr "0.0.0.0:7370" from --advertise-addr: expected an address other nodes can dial/],
    ["advertiseAddr", { "advertise-addr": "[::]:7370" }, /expected an address other nodes can dial/],
    ["advertiseAddr", { "advertise-addr": "10.0.0.1:0" }, /expected an address other nodes can dial/],
    ["nodeName", { "node-name": "-bad name" }, /invalid nodeName "-bad name" from --node-name/],
    ["shutdownTimeoutMs", { "shutdown-timeout-ms": "5s" }, /invalid shutdownTimeoutMs "5s" from --shutdown-timeout-ms: expected an integer from 100 to 600000/],
    ["dataDir", { "data-dir": " " }, /invalid dataDir " " from --data-dir: expected a non-empty path/],
  ];
  for (const [field, flags, message] of cases) {
    test(`bad ${field} from a flag: ${Object.values(flags).join(" ")}`, () => {
      const error = configError(() => resolveConfig({ defaults, env: {}, flags }));
      expect(error.message).toMatch(message);
      expect(error.context.field).toBe(field);
      expect(error.code).toBe("config_invalid");
    });
  }

  test("bad value from an environment variable names the variable", () => {
    expect(configError(() => resolveConfig({ defaults, env: { SHOAL_HEALTH_ADDR: "nope" }, flags: {} })).message).toMatch(
      /invalid healthAddr "nope" from SHOAL_HEALTH_ADDR/,
    );
  });

  test("a wrongly typed value in the file names the file", () => {
    const error = configError(() => resolveConfig({ defaults, file: { path: "/c.json", values: { shutdownTimeoutMs: "soon" } }, env: {}, flags: {} }));
    expect(error.message).toMatch(/invalid shutdownTimeoutMs "soon" from config file \/c.json/);
    expect(configError(() => resolveConfig({ defaults, file: { path: "/c.json", values: { logLevel: 3 } }, env: {}, flags: {} })).message).toMatch(
      /invalid logLevel 3 from config file \/c.json: expected a string/,
    );
  });

  test("addresses are normalised: IPv6 bracketed, hostnames kept", () => {
    const config = resolveConfig({ defaults, env: {}, flags: { "listen-addr": "[::1]:7370", "gossip-addr": "node-a.lan:7371", "advertise-addr": "" } });
    expect([config.listenAddr, config.gossipAddr, config.advertiseAddr]).toEqual(["[::1]:7370", "node-a.lan:7371", ""]);
  });
});

describe("config files", () => {
  function write(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  test("--config is read, and SHOAL_CONFIG names a file when the flag is absent", () => {
    const path = write("ok.json", JSON.stringify({ nodeName: "filed", logFormat: "json" }));
    const viaFlag = loadConfig({ env: { HOME: dir }, flags: { config: path }, isRoot: false });
    expect(viaFlag.config.nodeName).toBe("filed");
    expect(viaFlag.configFile).toBe(path);
    expect(loadConfig({ env: { HOME: dir, SHOAL_CONFIG: path }, flags: {}, isRoot: false }).config.logFormat).toBe("json");
  });

  test("the default file is optional, an explicit one is not", () => {
    expect(loadConfig({ env: { HOME: join(dir, "nobody") }, flags: {}, isRoot: false }).configFile).toBeNull();
    expect(configError(() => loadConfig({ env: {}, flags: { config: join(dir, "missing.json") }, isRoot: false })).message).toMatch(
      /cannot read config file .*missing.json/,
    );
  });

  test("invalid JSON, a non-object and an unknown field are rejected with the file named", () => {
    const broken = write("broken.json", "{ nodeName: ");
    expect(configError(() => loadConfig({ env: {}, flags: { config: broken }, isRoot: false })).message).toMatch(/config file .*broken.json is not valid JSON/);
    const list = write("list.json", "[1, 2]");
    expect(configError(() => loadConfig({ env: {}, flags: { config: list }, isRoot: false })).message).toMatch(/expected a JSON object at the top level/);
    const unknown = write("unknown.json", JSON.stringify({ nodeName: "a", logLevl: "debug" }));
    expect(configError(() => loadConfig({ env: {}, flags: { config: unknown }, isRoot: false })).message).toMatch(
      /unknown field "logLevl"; accepted fields: dataDir, nodeName, .*logLevel/,
    );
  });
});

describe("README", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");

  test("documents every config field with its variable, flag and default", () => {
    for (const field of CONFIG_FIELDS) {
      expect(readme).toContain(`| \`${field.key}\` | \`${field.env}\` | \`--${field.flag} ${field.valueName}\` |`);
    }
  });
});
