/**
 * Multi-process cluster tests: real `dist/shoal agent` processes, each on its own loopback
 * address (127.0.<block>.<n>, one block per test cluster so concurrent clusters never collide),
 * or on hosts a test made when given a `NodePlacement`, and its own data dir, driven through
 * the real CLI. Built on `../agent-harness.ts`; call
 * `cleanup()` from `afterAll`/`afterEach` to kill every agent and remove every temp dir.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanup, freePort, runShoal, shoalBinary, startAgent, tempDir, waitFor, type AgentProcess, type ShoalRun } from "../agent-harness.ts";

export { cleanup, waitFor };

/** One node of a test cluster. */
export interface TestNode {
  name: string;
  /** Its address, e.g. `127.0.42.3` on loopback. */
  host: string;
  /** Its cluster address (`host:port`, the secure channel and Raft). */
  address: string;
  dataDir: string;
  /** The running agent (replaced by `restart`). */
  agent: AgentProcess;
  /** Runs `shoal <args> --data-dir <its data dir>`. */
  shoal(...args: string[]): ShoalRun;
  /** Runs `shoal <args> --json` and parses stdout; throws with the output when it fails. */
  json<T>(...args: string[]): T;
}

/** A node as `node ls --json` lists it. */
export interface ListedNode {
  id: string;
  hostname: string;
  role: "manager" | "worker";
  managerStatus?: "leader" | "reachable" | "unreachable";
  availability: string;
  status: string;
  address: string;
  labels: Record<string, string>;
}

/** Options of `TestCluster.start`. */
export interface StartNodeOptions {
  /** Extra `shoal agent` flags. */
  args?: string[];
  env?: Record<string, string>;
}

/** Where a test cluster's nodes live; the default is one loopback block per cluster. */
export interface NodePlacement {
  /** Address of the node started `index`th (from 0). */
  host(index: number): string;
  /**
   * What runs a process on `host` (e.g. `ip netns exec <namespace>`), put before the binary.
   * A placement that has it puts each agent's health server on its host address too, since
   * that process's loopback is not the test's.
   */
  runOn?(host: string): string[];
}

function loopbackBlock(): NodePlacement {
  const block = 1 + Math.floor(Math.random() * 250);
  return { host: (index) => `127.0.${block}.${index + 1}` };
}

/** A set of agents, on one loopback block unless given another placement. */
export class TestCluster {
  readonly nodes = new Map<string, TestNode>();
  private started = 0;
  private clusterPort = 0;
  private gossipPort = 0;

  constructor(private readonly placement: NodePlacement = loopbackBlock()) {}

  /** Starts a standalone agent named `name` (not yet in any cluster). */
  async start(name: string, options: StartNodeOptions = {}): Promise<TestNode> {
    if (this.clusterPort === 0) {
      this.clusterPort = await freePort();
      this.gossipPort = await freePort();
    }
    const host = this.placement.host(this.started++);
    const dataDir = tempDir();
    const node: TestNode = {
      name,
      host,
      address: `${host}:${this.clusterPort}`,
      dataDir,
      agent: undefined as unknown as AgentProcess,
      shoal: (...args) => runShoal([...args, "--data-dir", dataDir]),
      json: <T>(...args: string[]) => {
        const run = runShoal([...args, "--json", "--data-dir", dataDir]);
        if (run.exitCode !== 0) throw new Error(`shoal ${args.join(" ")} exited ${run.exitCode}: ${run.stderr}`);
        return JSON.parse(run.stdout) as T;
      },
    };
    this.nodes.set(name, node);
    node.agent = await this.launch(node, options);
    return node;
  }

  /** Restarts a node's agent on its data dir (after `kill -9` or a stop). */
  async restart(node: TestNode, options: StartNodeOptions = {}): Promise<void> {
    node.agent = await this.launch(node, options);
  }

  /** `shoal init` on `node`; returns the join tokens. */
  init(node: TestNode): { manager: string; worker: string } {
    return node.json<{ tokens: { manager: string; worker: string } }>("init").tokens;
  }

  /** `shoal join <token>` on `node`; throws with the output when refused. */
  join(node: TestNode, token: string): void {
    const run = node.shoal("join", token);
    if (run.exitCode !== 0) throw new Error(`join of ${node.name} failed: ${run.stderr}`);
  }

  /** `node ls --json` as `via` sees it. */
  list(via: TestNode): ListedNode[] {
    return via.json<ListedNode[]>("node", "ls");
  }

  /** Polls `node ls` on `via` until `predicate` holds; returns the milliseconds waited. */
  waitForNodes(via: TestNode, predicate: (nodes: ListedNode[]) => boolean, what: string, timeoutMs = 20_000): Promise<number> {
    return waitFor(() => predicate(this.list(via)), { timeoutMs, intervalMs: 50, what });
  }

  /** The leader's node id as `node`'s /readyz reports it, or "" while none is known. */
  async leaderSeenBy(node: TestNode): Promise<string> {
    const response = await fetch(`${node.agent.healthUrl}/readyz`);
    const report = (await response.json()) as { checks?: { name: string; detail?: string }[] };
    const detail = report.checks?.find((check) => check.name === "raft")?.detail ?? "";
    return /^leader ([0-9a-f]+)$/.exec(detail)?.[1] ?? "";
  }

  private async launch(node: TestNode, options: StartNodeOptions): Promise<AgentProcess> {
    const runOn = this.placement.runOn?.(node.host);
    const agent = await startAgent({
      dataDir: node.dataDir,
      waitReady: false,
      env: options.env,
      ...(runOn ? { command: [...runOn, shoalBinary()], healthHost: node.host } : {}),
      args: ["--node-name", node.name, "--listen-addr", node.address, "--gossip-addr", `${node.host}:${this.gossipPort}`, ...(options.args ?? [])],
    });
    const socket = join(node.dataDir, "shoal.sock");
    await waitFor(() => existsSync(socket) && node.shoal("status").exitCode === 0, { timeoutMs: 20_000, intervalMs: 50, what: `agent ${node.name} control socket` });
    return agent;
  }
}

/** A metric's value (the first series with that name, or that exact labelled series) from `node`'s /metrics, or undefined. */
export async function metricOf(node: TestNode, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${node.agent.healthUrl}/metrics`)).text();
  const line = text.split("\n").find((entry) => entry.startsWith(`${name} `) || entry.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}
