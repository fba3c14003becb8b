/**
 * Runs gossip nodes (`node-main.ts`) as real child processes on loopback addresses and reads
 * their views over the loopback HTTP endpoint each one serves.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import nacl from "tweetnacl";
import { encodeGossipKey } from "../../../core/secure/keyring.ts";
import type { GossipTraffic } from "../../../core/transport/gossip-metrics.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

const nodeMain = join(import.meta.dir, "node-main.ts");

/** How to start one node. */
export interface NodeSpec {
  name: string;
  host: string;
  port: number;
  seeds: string[];
  keyFile: string;
  cluster?: string;
  profile?: "lan" | "local";
}

/** One member as a node reports it over HTTP. */
export interface ReportedMember {
  name: string;
  state: string;
  incarnation: number;
}

/** What GET /members returns. */
export interface NodeView {
  name: string;
  members: ReportedMember[];
  traffic: GossipTraffic;
}

/** Writes a file holding `keys` (base64, one a line, the first primary) and returns its path. */
export function writeKeyFile(dir: string, fileName: string, keys: Uint8Array[] = [nacl.randomBytes(32)]): string {
  const path = join(dir, fileName);
  writeFileSync(path, keys.map(encodeGossipKey).join("\n") + "\n", { mode: 0o600 });
  return path;
}

/** A running node process. */
export class GossipNodeProcess {
  private stderr = "";

  private constructor(
    readonly spec: NodeSpec,
    private readonly child: Subprocess<"ignore", "pipe", "pipe">,
    readonly httpPort: number,
  ) {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) this.stderr = (this.stderr + decoder.decode(chunk)).slice(-8192);
    })();
  }

  /** Starts a node and resolves once it is listening (its "ready" line). */
  static async spawn(spec: NodeSpec): Promise<GossipNodeProcess> {
    const argv = [process.execPath, nodeMain, "--name", spec.name, "--bind", `${spec.host}:${spec.port}`, "--key-file", spec.keyFile, "--http-port", "0"];
    argv.push("--seeds", spec.seeds.join(","), "--cluster", spec.cluster ?? "shoal-test", "--profile", spec.profile ?? "local");
    const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const line = buffered.split("\n").find((candidate) => candidate.includes('"type":"ready"'));
      if (line) {
        const ready = JSON.parse(line) as { http: number };
        // Keep draining stdout so the child never blocks on a full pipe.
        void (async () => {
          while (!(await reader.read()).done);
        })();
        return new GossipNodeProcess(spec, child, ready.http);
      }
    }
    child.kill("SIGKILL");
    throw new Error(`node ${spec.name} did not start: ${buffered.slice(-500)}`);
  }

  /** "host:port" of the node's gossip socket. */
  get address(): string {
    return `${this.spec.host}:${this.spec.port}`;
  }

  /** The node's member view and traffic counters. */
  async view(): Promise<NodeView> {
    const response = await fetch(`http://${this.spec.host}:${this.httpPort}/members`);
    return (await response.json()) as NodeView;
  }

  /** The node's Prometheus metrics text. */
  async metricsText(): Promise<string> {
    return await (await fetch(`http://${this.spec.host}:${this.httpPort}/metrics`)).text();
  }

  /** The state this node holds for `name`, or undefined when it does not know it. */
  async stateOf(name: string): Promise<string | undefined> {
    return (await this.view()).members.find((member) => member.name === name)?.state;
  }

  /** Sends `signal` and waits for the process to exit. */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    this.child.kill(signal);
    await this.child.exited;
  }

  /** The last stderr output, for failure messages. */
  stderrTail(): string {
    return this.stderr.slice(-2000);
  }
}

/**
 * Polls `check` every `intervalMs` (default 100) until it returns true or `timeoutMs` passes;
 * returns the milliseconds it took, or throws naming `what` and the last detail the check gave
 * (a string it returned, or an error it threw).
 */
export function eventually(what: string, timeoutMs: number, check: () => boolean | string | Promise<boolean | string>, intervalMs = 100): Promise<number> {
  return waitFor(check, { timeoutMs, intervalMs, what });
}
