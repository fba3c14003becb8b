/**
 * A cluster of Shoal raft node processes (`node.ts`) on loopback, each on its own
 * 127.0.0.x address with its own data directory: started, killed with SIGKILL, restarted and
 * grown by the raft benchmark and the real-process tests.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReplicaStatus } from "../../../core/store/replica.ts";
import { freePort } from "../lib/ports.ts";
import { startProcess, type RunningProcess } from "../lib/spawn.ts";
import { waitFor } from "../lib/wait.ts";

const root = join(import.meta.dir, "..", "..", "..");
const bun = join(root, "node_modules", ".bin", "bun");
/** The node program: run by Bun in tests, compiled with the shipped binary's flags by the benchmark. */
export const nodeProgram = join(import.meta.dir, "node.ts");

/** Options of a cluster. */
export interface RaftClusterOptions {
  /** Founding voters. */
  size: number;
  /** Passed to every node (small values make tests exercise snapshots). */
  snapshotThreshold?: number;
  keepEntries?: number;
  /** First loopback host number: node i listens on 127.0.0.(firstHost + i). Default 11. */
  firstHost?: number;
  /** The argv that starts a node, before its flags. Default: `bun node.ts`. */
  command?: string[];
}

/** One node's identity and addresses; `process` is undefined while it is down. */
export interface RaftClusterNode {
  id: string;
  host: string;
  raftPort: number;
  httpPort: number;
  dataDir: string;
  url: string;
  process?: RunningProcess;
}

/** A set of raft node processes; see the module comment. */
export class RaftCluster {
  readonly nodes = new Map<string, RaftClusterNode>();
  private readonly baseDir = mkdtempSync(join(tmpdir(), "shoal-raft-"));
  private nextHost: number;

  constructor(private readonly options: RaftClusterOptions) {
    this.nextHost = options.firstHost ?? 11;
  }

  /** Starts the founding voters and waits until one of them leads. */
  async start(): Promise<void> {
    const founders: RaftClusterNode[] = [];
    for (let i = 0; i < this.options.size; i++) founders.push(await this.allocate(`n${i + 1}`));
    for (const node of founders) this.launch(node, false);
    await this.leader();
  }

  /** SIGKILLs a node (no shutdown, no flush beyond what was fsynced). */
  async kill(id: string): Promise<void> {
    const node = this.get(id);
    node.process?.process.kill("SIGKILL");
    await node.process?.process.exited;
    node.process = undefined;
  }

  /** Restarts a killed node on its data directory. */
  restart(id: string): void {
    this.launch(this.get(id), false);
  }

  /** Starts a new empty node, tells every member where it is, and adds it as a learner via the leader. */
  async addLearner(id: string): Promise<RaftClusterNode> {
    const node = await this.allocate(id);
    this.launch(node, true);
    for (const member of this.nodes.values()) {
      if (member.id !== id && member.process) await post(`${member.url}/peers/${id}?raft=${node.host}:${node.raftPort}`);
    }
    await waitFor(async () => (await nodeStatus(node.url)).id === id, { what: `${id} to serve`, timeoutMs: 15_000 });
    await this.onLeader((leader) => post(`${leader.url}/members/${id}?role=learner`));
    return node;
  }

  /** Promotes a learner once the leader agrees it has caught up. */
  async promote(id: string): Promise<void> {
    await this.onLeader((leader) => post(`${leader.url}/members/${id}?role=voter`));
  }

  /** The id of the current leader, once every running member agrees on it. */
  async leader(timeoutMs = 15_000): Promise<string> {
    let leader = "";
    await waitFor(async () => {
      // A node started with --join is not a member until added, and knows no leader until then.
      const statuses = (await this.statuses()).filter((status) => status.conf.voters.includes(status.id) || status.conf.learners.includes(status.id));
      const leaders = statuses.filter((status) => status.role === "leader");
      const current = leaders.sort((x, y) => y.term - x.term)[0];
      if (!current) return false;
      leader = current.id;
      return statuses.every((status) => status.leader === leader && status.term === current.term);
    }, { timeoutMs, intervalMs: 20, what: "an agreed raft leader" });
    return leader;
  }

  /** The `/status` of every running node that answers. */
  async statuses(): Promise<ReplicaStatus[]> {
    const running = [...this.nodes.values()].filter((node) => node.process);
    const answers = await Promise.all(running.map((node) => nodeStatus(node.url).catch(() => undefined)));
    return answers.filter((answer): answer is ReplicaStatus => answer !== undefined);
  }

  /** A node by id. */
  get(id: string): RaftClusterNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Kills every process and removes the data directories. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((id) => this.kill(id)));
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  /** The last stderr lines of every node, for failure messages. */
  logs(): string {
    return [...this.nodes.values()].map((node) => `--- ${node.id}\n${node.process?.stderrTail() ?? "(down)"}`).join("\n");
  }

  private async onLeader(action: (leader: RaftClusterNode) => Promise<void>): Promise<void> {
    await waitFor(async () => {
      await action(this.get(await this.leader()));
      return true;
    }, { timeoutMs: 20_000, intervalMs: 100, what: "the leader to accept a membership change" });
  }

  private async allocate(id: string): Promise<RaftClusterNode> {
    const host = `127.0.0.${this.nextHost++}`;
    const node: RaftClusterNode = {
      id, host,
      raftPort: await freePort({ host }),
      httpPort: await freePort({ host }),
      dataDir: join(this.baseDir, id),
      url: "",
    };
    node.url = `http://${host}:${node.httpPort}`;
    this.nodes.set(id, node);
    return node;
  }

  private launch(node: RaftClusterNode, join: boolean): void {
    const peers = [...this.nodes.values()].map((peer) => `${peer.id}=${peer.host}:${peer.raftPort}`).join(",");
    const argv = [...(this.options.command ?? [bun, nodeProgram]), "--id", node.id, "--data-dir", node.dataDir, "--raft", `${node.host}:${node.raftPort}`, "--http", `${node.host}:${node.httpPort}`, "--peers", peers];
    if (join) argv.push("--join");
    if (this.options.snapshotThreshold) argv.push("--snapshot-threshold", String(this.options.snapshotThreshold));
    if (this.options.keepEntries !== undefined) argv.push("--keep-entries", String(this.options.keepEntries));
    mkdirSync(node.dataDir, { recursive: true });
    node.process = startProcess(argv);
  }
}

/** The `/status` of the node serving HTTP at `url`; throws when it does not answer within a second. */
export async function nodeStatus(url: string): Promise<ReplicaStatus> {
  const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
  if (!response.ok) throw new Error(`${url}/status answered ${response.status}`);
  return (await response.json()) as ReplicaStatus;
}

async function post(url: string): Promise<void> {
  const response = await fetch(url, { method: "POST", signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
}
