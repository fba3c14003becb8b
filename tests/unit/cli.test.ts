import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIG_FIELDS } from "../../core/agent/config-fields.ts";
import { runCli } from "../../core/cli/dispatch.ts";
import { EXIT_CODE_HELP, ExitCode } from "../../core/cli/exit-codes.ts";
import { commands } from "../../core/cli/registry.ts";

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const dir = mkdtempSync(join(tmpdir(), "shoal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, commands, { out: (text) => out.push(text), err: (text) => err.push(text), env: { HOME: dir, ...env } });
  return { code, out: out.join("\n"), err: err.join("\n"), errLines: err.length };
}

describe("usage errors: one line, exit 2, saying what is accepted", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["unknown command", ["frobnicate"], new RegExp(`^shoal: unknown command "frobnicate"; commands: ${commands.map((command) => command.name).join(", ")} `)],
    ["unknown global flag", ["--verbose"], /^shoal: unknown flag --verbose; global flags: --help, --version/],
    ["unknown flag", ["agent", "--data-dri", "/x"], /^shoal agent: unknown flag --data-dri; accepted flags: --config, .*--data-dir/],
    ["unknown short flag", ["status", "-x"], /^shoal status: unknown flag -x; accepted flags:/],
    ["missing value at the end", ["agent", "--data-dir"], /^shoal agent: flag --data-dir needs a value: --data-dir DIR/],
    ["flag swallowed as value", ["agent", "--health-addr", "--log-level", "info"], /^shoal agent: flag --health-addr needs a value/],
    ["value outside the choices", ["agent", "--log-format", "xml"], /^shoal agent: bad value "xml" for --log-format; accepted: logfmt, json/],
    ["value for a boolean flag", ["version", "--json=yes"], /^shoal version: flag --json takes no value, got "yes"/],
    ["unexpected argument", ["status", "now"], /^shoal status: unexpected argument "now"; "shoal status" takes no arguments/],
    ["help for an unknown command", ["help", "nodes"], /^shoal help: unknown command "nodes"; commands: agent/],
  ];
  for (const [name, argv, message] of cases) {
    test(name, async () => {
      const result = await cli(argv);
      expect(result.code).toBe(ExitCode.usage);
      expect(result.errLines).toBe(1);
      expect(result.err).toMatch(message);
      expect(result.err).not.toContain("\n");
      expect(result.out).toBe("");
    });
  }
});

describe("help", () => {
  test("shoal --help lists every command and every exit code", async () => {
    for (const argv of [["--help"], ["-h"], [], ["help"]]) {
      const result = await cli(argv);
      expect(result.code).toBe(0);
      for (const command of commands) expect(result.out).toMatch(new RegExp(`\\n  ${command.name} +${escape(command.summary)}\\n`));
      for (const code of [0, 1, 2, 3, 4, 5, 130]) expect(result.out).toMatch(new RegExp(`\\n  ${code} +\\S`));
    }
  });

  test("shoal <command> --help lists every flag with a description", async () => {
    for (const command of commands) {
      const result = await cli([command.name, "--help"]);
      expect(result.code).toBe(0);
      expect(result.out).toStartWith(`Usage: shoal ${command.name} [flags]`);
      for (const [name, option] of Object.entries(command.options)) {
        expect(result.out).toContain(`--${name}`);
        expect(option.description.length).toBeGreaterThan(5);
      }
      expect(result.out).toContain("-h, --help");
    }
  });

  test("agent --help names every config flag and its environment variable", async () => {
    const { out } = await cli(["help", "agent"]);
    for (const field of CONFIG_FIELDS) expect(out).toMatch(new RegExp(`--${field.flag} ${field.valueName} .*\\[\\$${field.env}\\]`));
  });
});

describe("commands", () => {
  test("version prints text, --version is an alias, --json is machine-readable", async () => {
    expect((await cli(["version"])).out).toMatch(/^shoal \d+\.\d+\.\d+ \(commit \S+, bun \S+\)$/);
    expect((await cli(["--version"])).out).toMatch(/^shoal \d+\.\d+\.\d+/);
    const json = JSON.parse((await cli(["--version", "--json"])).out);
    expect(Object.keys(json).sort()).toEqual(["commit", "runtime", "version"]);
  });

  test("agent --print-config shows the effective config as JSON", async () => {
    const result = await cli(["agent", "--print-config", "--node-name", "flagged", "--data-dir", dir], { SHOAL_LOG_LEVEL: "debug" });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ nodeName: "flagged", logLevel: "debug", dataDir: dir, healthAddr: "127.0.0.1:7372" });
  });

  test("a bad config value exits 3 with one line naming field, value and source", async () => {
    const result = await cli(["agent", "--print-config"], { SHOAL_SHUTDOWN_TIMEOUT_MS: "-1" });
    expect(result.code).toBe(ExitCode.config);
    expect(result.err).toBe('shoal agent: invalid shutdownTimeoutMs "-1" from SHOAL_SHUTDOWN_TIMEOUT_MS: expected an integer from 100 to 600000');
  });

  test("status without a running agent exits 5 and says how to start one", async () => {
    const result = await cli(["status", "--data-dir", join(dir, "empty")]);
    expect(result.code).toBe(ExitCode.unreachable);
    expect(result.err).toMatch(/^shoal status: cannot reach the agent at .*shoal.sock .*is "shoal agent" running/);
  });
});

test("the README documents every exit code and every command", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
  const undocumented = [
    ...EXIT_CODE_HELP.filter(([code]) => !new RegExp(`^\\| ${code} \\| \\S`, "m").test(readme)).map(([code]) => `exit code ${code}`),
    ...commands.filter((command) => !new RegExp(`^  ${command.name} +\\S`, "m").test(readme)).map((command) => `command ${command.name}`),
  ];
  expect(undocumented).toEqual([]);
});
