import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, runShoal, shoalBinary, tempDir } from "./agent-harness.ts";

afterAll(cleanup);

function configFile(text: string): string {
  const path = join(tempDir(), "shoal.json");
  writeFileSync(path, text);
  return path;
}

describe("dist/shoal with bad configuration", () => {
  test("runs standalone, with neither bun nor node on PATH", () => {
    const result = Bun.spawnSync([shoalBinary(), "version", "--json"], { env: { PATH: "/nonexistent" } });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout.toString()).runtime).toStartWith("bun ");
  }, 60_000);

  const badFiles: Array<[string, string, RegExp]> = [
    ["invalid JSON", '{"nodeName": "a",', /^shoal agent: config file \S+shoal.json is not valid JSON: /],
    ["an unknown field", '{"nodeName": "a", "port": 1}', /^shoal agent: config file \S+shoal.json: unknown field "port"; accepted fields: dataDir, /],
    ["a bad value", '{"healthAddr": "127.0.0.1:http"}', /^shoal agent: invalid healthAddr "127.0.0.1:http" from config file \S+shoal.json: expected HOST:PORT/],
    ["a value of the wrong type", '{"shutdownTimeoutMs": true}', /^shoal agent: invalid shutdownTimeoutMs true from config file \S+: expected an integer/],
    ["a top-level array", "[]", /^shoal agent: config file \S+: expected a JSON object at the top level$/],
  ];
  for (const [name, text, message] of badFiles) {
    test(`a config file with ${name} exits 3 with one line naming the problem`, () => {
      const result = runShoal(["agent", "--config", configFile(text), "--data-dir", tempDir()]);
      expect(result.exitCode).toBe(3);
      expect(result.stderr.trim()).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    });
  }

  test("a missing --config file exits 3", () => {
    const result = runShoal(["agent", "--config", "/nonexistent/shoal.json"]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/^shoal agent: cannot read config file \/nonexistent\/shoal.json: /);
  });

  test("a data dir that cannot be created exits 1 naming it", () => {
    const notADirectory = configFile("{}");
    const result = runShoal(["agent", "--data-dir", join(notADirectory, "data")]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^shoal agent: cannot create data dir \S+shoal.json\/data: /);
  });

  test("a data dir too deep for a unix socket path exits 1 and says so", () => {
    const deep = join(tempDir(), "d".repeat(110));
    const result = runShoal(["agent", "--data-dir", deep, "--health-addr", "127.0.0.1:0"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/cannot listen for the control API on \S+shoal.sock: path longer than 107 bytes; use a shorter --data-dir/);
    expect(existsSync(join(deep, "shoal.lock"))).toBe(false);
  });

  test("a bad SHOAL_* variable exits 3 naming the variable", () => {
    const result = runShoal(["agent", "--print-config"], { SHOAL_LOG_FORMAT: "yaml" });
    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim()).toBe('shoal agent: invalid logFormat "yaml" from SHOAL_LOG_FORMAT: expected one of logfmt, json');
  });

  const badFlags: Array<[string[], RegExp]> = [
    [["agent", "--bogus"], /^shoal agent: unknown flag --bogus; accepted flags: /],
    [["agent", "--log-level", "trace"], /^shoal agent: bad value "trace" for --log-level; accepted: debug, info, warn, error$/],
    [["agent", "--data-dir"], /^shoal agent: flag --data-dir needs a value: --data-dir DIR/],
    [["nodes"], /^shoal: unknown command "nodes"; commands: /],
  ];
  for (const [argv, message] of badFlags) {
    test(`shoal ${argv.join(" ")} exits 2 with one line`, () => {
      const result = runShoal(argv);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim()).toMatch(message);
      expect(result.stdout).toBe("");
    });
  }

  test("--print-config output is a valid config file; precedence holds end to end", () => {
    const dataDir = tempDir();
    const file = configFile(JSON.stringify({ nodeName: "from-file", logLevel: "warn", logFormat: "json" }));
    const printed = runShoal(["agent", "--config", file, "--print-config", "--log-level", "error", "--data-dir", dataDir], { SHOAL_LOG_FORMAT: "logfmt" });
    expect(printed.exitCode).toBe(0);
    const config = JSON.parse(printed.stdout);
    expect(config).toMatchObject({ nodeName: "from-file", logLevel: "error", logFormat: "logfmt", dataDir });
    const again = runShoal(["agent", "--config", configFile(printed.stdout), "--print-config"]);
    expect(JSON.parse(again.stdout)).toEqual(config);
  });
});
