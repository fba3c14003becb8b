/**
 * Network namespaces as test hosts, for multi-host fault tests run as root. A lab is N
 * namespaces `shoal-t<run>-<i>`, each with a veth into one bridge that lives in a namespace of
 * its own (`shoal-t<run>-br`), host addresses 10.231.<subnet>.<i+1>/24, and one more veth from
 * the test's own namespace (10.231.<subnet>.254) so the test can reach the agents' health
 * servers. Faults are nftables rules (and tc netem, where the kernel has it) inside the host
 * namespaces; they match only the lab's host addresses, so the test's own address is never cut
 * off. Every address in play is one the lab assigned: nothing is sent anywhere else.
 *
 * A lab implements `NodePlacement`, so `new TestCluster(lab)` runs each agent in its namespace;
 * `netnsClusterForFile` sets one up with a formed cluster for a test file. `destroy()` removes
 * everything; a lab left behind by a crashed run is removed by the next one.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "bun:test";
import { isRunning } from "../agent-harness.ts";
import { cleanup, TestCluster, waitFor, type NodePlacement, type TestNode } from "../cluster/harness.ts";

/** Namespace, bridge and link names of every lab start with this, followed by the run id. */
const PREFIX = "shoal-t";
/** Where each lab records the pid that owns it, so a later run can tell a leftover from a live lab. */
const OWNERS_DIR = join(tmpdir(), "shoal-netns");
/** The nftables table that holds a host's fault rules; deleting it heals the host. */
const FAULT_TABLE = "shoal_fault";
/** The host side of each namespace's veth. */
const HOST_LINK = "eth0";

/** Runs a command to completion; throws with its stderr when it fails. */
function run(command: string[], input?: string): string {
  const result = Bun.spawnSync(command, { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} exited ${result.exitCode}: ${result.stderr.toString().trim()}`);
  return result.stdout.toString();
}

/** Like `run`, for cleanup steps whose target may already be gone. */
function tryRun(command: string[]): void {
  Bun.spawnSync(command, { stdout: "ignore", stderr: "ignore" });
}

function randomRunId(): string {
  return crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16).padStart(8, "0");
}

function namespaces(): string[] {
  return run(["ip", "netns", "list"]).split("\n").map((line) => line.split(" ")[0] ?? "").filter((name) => name !== "");
}

/** Kills whatever still runs in `namespace`, then deletes it. */
function deleteNamespace(namespace: string): void {
  const pids = Bun.spawnSync(["ip", "netns", "pids", namespace], { stdout: "pipe", stderr: "ignore" }).stdout.toString();
  for (const pid of pids.split(/\s+/).filter((text) => /^\d+$/.test(text))) tryRun(["kill", "-KILL", pid]);
  tryRun(["ip", "netns", "delete", namespace]);
}

/** Removes the namespaces and links of labs whose owning process is gone (a crashed run). */
export function removeLeftovers(): void {
  const owners = new Map<string, number>();
  mkdirSync(OWNERS_DIR, { recursive: true });
  for (const file of readdirSync(OWNERS_DIR)) {
    const pid = Number(readFileSync(join(OWNERS_DIR, file), "utf8"));
    owners.set(file.replace(/\.pid$/, ""), pid);
  }
  const stale = new Set<string>();
  for (const namespace of namespaces()) {
    const runId = new RegExp(`^${PREFIX}([0-9a-f]{8})-`).exec(namespace)?.[1];
    if (runId === undefined) continue;
    const owner = owners.get(runId);
    if (owner !== undefined && isRunning(owner)) continue;
    deleteNamespace(namespace);
    stale.add(runId);
  }
  for (const [runId, owner] of owners) if (!isRunning(owner)) stale.add(runId);
  for (const runId of stale) {
    tryRun(["ip", "link", "delete", `sht${runId}`]);
    rmSync(join(OWNERS_DIR, `${runId}.pid`), { force: true });
  }
}

/** Runs `check` in a fresh throwaway namespace; its error, if any, is the reason returned. */
function probeNamespace(check: (namespace: string) => void): string | undefined {
  // Not of the lab form, so a concurrent run never takes it for a leftover.
  const probe = `${PREFIX}probe-${randomRunId()}`;
  try {
    run(["ip", "netns", "add", probe]);
    check(probe);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    tryRun(["ip", "netns", "delete", probe]);
  }
}

let namespacesReason: string | undefined | null = null;

/**
 * Why netns tests cannot run here (not root, `ip` or `nft` missing, namespaces not permitted),
 * or undefined when they can. Checked once, by making and deleting a namespace.
 */
export function netnsUnavailable(): string | undefined {
  if (namespacesReason !== null) return namespacesReason;
  namespacesReason = (() => {
    if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return "network namespaces need root (run the suite as root)";
    for (const tool of ["ip", "nft"]) {
      if (!Bun.which(tool)) return `\`${tool}\` is not installed (Debian packages iproute2 and nftables)`;
    }
    const failed = probeNamespace((namespace) => run(["ip", "netns", "exec", namespace, "nft", "list", "tables"]));
    return failed === undefined ? undefined : `cannot make a network namespace with nftables: ${failed}`;
  })();
  return namespacesReason;
}

/**
 * Why `tc netem` cannot shape links here (namespaces unavailable, no `tc`, or no sch_netem in
 * the kernel), or undefined when it can. Probed on a throwaway namespace's loopback.
 */
export function netemUnavailable(): string | undefined {
  const namespaces = netnsUnavailable();
  if (namespaces !== undefined) return namespaces;
  if (!Bun.which("tc")) return "`tc` is not installed (Debian package iproute2)";
  const failed = probeNamespace((namespace) => run(["ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]));
  return failed === undefined ? undefined : `tc netem is not available (kernel module sch_netem): ${failed}`;
}

/** One fault rule on a host, as an nftables statement in its input or output chain. */
interface FaultRule {
  chain: "input" | "output";
  statement: string;
}

/** A set of namespaces bridged into one /24; see the module comment. */
export class NetnsLab implements NodePlacement {
  /** The hosts' addresses, in the order `host(index)` hands them out. */
  readonly addresses: string[];
  private readonly namespaceOf = new Map<string, string>();
  private readonly rules = new Map<string, FaultRule[]>();
  private readonly netemHosts = new Set<string>();

  private constructor(
    private readonly runId: string,
    /** Third octet of the lab's 10.231.x.0/24. */
    readonly subnet: number,
    hostCount: number,
  ) {
    this.addresses = Array.from({ length: hostCount }, (_, index) => `10.231.${subnet}.${index + 1}`);
    this.addresses.forEach((address, index) => this.namespaceOf.set(address, `${PREFIX}${runId}-${index}`));
  }

  /** Makes a lab of `hostCount` hosts (at most 250), first removing leftovers of crashed runs. */
  static create(hostCount: number): NetnsLab {
    if (hostCount < 1 || hostCount > 250) throw new RangeError(`a lab has 1 to 250 hosts, not ${hostCount}`);
    removeLeftovers();
    const lab = new NetnsLab(randomRunId(), NetnsLab.freeSubnet(), hostCount);
    writeFileSync(join(OWNERS_DIR, `${lab.runId}.pid`), String(process.pid));
    try {
      lab.build();
    } catch (error) {
      lab.destroy();
      throw error;
    }
    return lab;
  }

  /** A 10.231.x.0/24 the test's namespace has no route to yet (another lab or the host may use one). */
  private static freeSubnet(): number {
    const routes = run(["ip", "-4", "route", "show"]);
    const used = new Set([...routes.matchAll(/\b10\.231\.(\d+)\./g)].map((match) => Number(match[1])));
    const free = Array.from({ length: 256 }, (_, subnet) => subnet).filter((subnet) => !used.has(subnet));
    if (free.length === 0) throw new Error("every 10.231.x.0/24 is routed already");
    return free[Math.floor(Math.random() * free.length)]!;
  }

  private get bridgeNamespace(): string {
    return `${PREFIX}${this.runId}-br`;
  }

  private build(): void {
    const bridge = this.bridgeNamespace;
    run(["ip", "netns", "add", bridge]);
    run(["ip", "-n", bridge, "link", "add", "br0", "type", "bridge"]);
    run(["ip", "-n", bridge, "link", "set", "br0", "up"]);
    this.addresses.forEach((address, index) => {
      const namespace = this.namespace(address);
      run(["ip", "netns", "add", namespace]);
      run(["ip", "-n", bridge, "link", "add", `p${index}`, "type", "veth", "peer", "name", HOST_LINK, "netns", namespace]);
      run(["ip", "-n", bridge, "link", "set", `p${index}`, "master", "br0", "up"]);
      run(["ip", "-n", namespace, "link", "set", "lo", "up"]);
      run(["ip", "-n", namespace, "addr", "add", `${address}/24`, "dev", HOST_LINK]);
      run(["ip", "-n", namespace, "link", "set", HOST_LINK, "up"]);
    });
    // The test's own seat on the bridge, from which it reads health and metrics.
    const station = `sht${this.runId}`;
    run(["ip", "link", "add", station, "type", "veth", "peer", "name", "station", "netns", bridge]);
    run(["ip", "-n", bridge, "link", "set", "station", "master", "br0", "up"]);
    run(["ip", "addr", "add", `10.231.${this.subnet}.254/24`, "dev", station]);
    run(["ip", "link", "set", station, "up"]);
  }

  /** `NodePlacement`: the `index`th host's address. */
  host(index: number): string {
    const address = this.addresses[index];
    if (address === undefined) throw new RangeError(`the lab has ${this.addresses.length} hosts; host ${index} does not exist`);
    return address;
  }

  /** `NodePlacement`: runs a command inside `host`'s namespace. */
  runOn(host: string): string[] {
    return ["ip", "netns", "exec", this.namespace(host)];
  }

  private namespace(host: string): string {
    const namespace = this.namespaceOf.get(host);
    if (namespace === undefined) throw new Error(`${host} is not a host of this lab`);
    return namespace;
  }

  /** Cuts the lab into `groups` of host addresses: hosts talk only within their own group. */
  partition(groups: string[][]): void {
    const groupOf = new Map<string, number>();
    groups.forEach((group, index) => group.forEach((host) => groupOf.set(host, index)));
    for (const host of this.addresses) {
      const own = groupOf.get(host);
      if (own === undefined) throw new Error(`partition leaves ${host} out; name every host in a group`);
      const others = this.addresses.filter((peer) => groupOf.get(peer) !== own);
      if (others.length === 0) continue;
      this.addRules(host, [
        { chain: "input", statement: `ip saddr { ${others.join(", ")} } drop` },
        { chain: "output", statement: `ip daddr { ${others.join(", ")} } drop` },
      ]);
    }
  }

  /**
   * One-way loss: `host` drops `percent`% (default all) of what it receives from `senders`;
   * what it sends them still arrives.
   */
  dropInbound(host: string, senders: string[], percent = 100): void {
    this.addRules(host, [{ chain: "input", statement: `ip saddr { ${senders.join(", ")} } ${lossMatch(percent)}drop` }]);
  }

  /** A lossy link: `host` drops `percent`% of its traffic with every other host, both ways, at random. */
  lossyLink(host: string, percent: number): void {
    const others = this.addresses.filter((peer) => peer !== host).join(", ");
    this.addRules(host, [
      { chain: "input", statement: `ip saddr { ${others} } ${lossMatch(percent)}drop` },
      { chain: "output", statement: `ip daddr { ${others} } ${lossMatch(percent)}drop` },
    ]);
  }

  /** Shapes everything `host` sends with netem, e.g. `["delay", "30ms", "10ms", "loss", "10%"]`. */
  netem(host: string, parameters: string[]): void {
    run(["ip", "netns", "exec", this.namespace(host), "tc", "qdisc", "replace", "dev", HOST_LINK, "root", "netem", ...parameters]);
    this.netemHosts.add(host);
  }

  /** Removes every fault: nftables rules and netem shaping on all hosts. */
  heal(): void {
    for (const host of this.rules.keys()) run(["ip", "netns", "exec", this.namespace(host), "nft", "delete", "table", "inet", FAULT_TABLE]);
    this.rules.clear();
    for (const host of this.netemHosts) run(["ip", "netns", "exec", this.namespace(host), "tc", "qdisc", "del", "dev", HOST_LINK, "root"]);
    this.netemHosts.clear();
  }

  /** Kills anything left in the lab's namespaces and deletes them with their links. Idempotent. */
  destroy(): void {
    for (const namespace of this.namespaceOf.values()) deleteNamespace(namespace);
    deleteNamespace(this.bridgeNamespace);
    tryRun(["ip", "link", "delete", `sht${this.runId}`]);
    rmSync(join(OWNERS_DIR, `${this.runId}.pid`), { force: true });
  }

  /** Replaces `host`'s fault table, in one nftables transaction, with its rules so far plus `added`. */
  private addRules(host: string, added: FaultRule[]): void {
    const rules = [...(this.rules.get(host) ?? []), ...added];
    const chain = (name: FaultRule["chain"]) =>
      [`  chain ${name} {`, `    type filter hook ${name} priority 0; policy accept;`, ...rules.filter((rule) => rule.chain === name).map((rule) => `    ${rule.statement}`), "  }"];
    // Declaring the table first makes the delete valid whether or not it exists yet.
    const script = [`table inet ${FAULT_TABLE}`, `delete table inet ${FAULT_TABLE}`, `table inet ${FAULT_TABLE} {`, ...chain("input"), ...chain("output"), "}", ""].join("\n");
    run(["ip", "netns", "exec", this.namespace(host), "nft", "-f", "-"], script);
    this.rules.set(host, rules);
  }
}

function lossMatch(percent: number): string {
  if (!(percent > 0 && percent <= 100)) throw new RangeError(`loss must be in (0, 100] percent, not ${percent}`);
  return percent === 100 ? "" : `numgen random mod 100 < ${Math.round(percent)} `;
}

/** One gossip member as `/v1/gossip` on the control socket lists it. */
export interface GossipMember {
  name: string;
  state: string;
  meta?: { hostname: string };
}

/** The gossip members `node` sees, from its control socket. */
export async function gossipMembersOf(node: TestNode): Promise<GossipMember[]> {
  const response = await fetch("http://localhost/v1/gossip", { unix: join(node.dataDir, "shoal.sock") });
  return ((await response.json()) as { members: GossipMember[] }).members;
}

/** How many times `node`'s log says `msg="<message>"` (with `fields`, logfmt, when given). */
export function logCount(node: TestNode, message: string, fields = ""): number {
  const needle = `msg="${message}"${fields === "" ? "" : ` ${fields}`}`;
  return node.agent.log().split("\n").filter((line) => line.includes(needle)).length;
}

/**
 * Starts one agent per name on the lab's hosts (managers first), `shoal init` on the first
 * manager, joins the rest with the tokens, and waits until the first manager lists every node
 * ready, every other manager is a voter, and every node's gossip sees every node alive.
 * Returns the nodes by name.
 */
async function formCluster(cluster: TestCluster, managers: string[], workers: string[], agentArgs: string[] = []): Promise<Map<string, TestNode>> {
  const nodes = await Promise.all([...managers, ...workers].map((name) => cluster.start(name, { args: agentArgs })));
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const [first, ...others] = nodes;
  if (!first) throw new Error("a cluster needs a manager");
  const tokens = cluster.init(first);
  for (const node of others) cluster.join(node, managers.includes(node.name) ? tokens.manager : tokens.worker);
  await cluster.waitForNodes(
    first,
    (listed) => listed.length === nodes.length && listed.every((node) => node.status === "ready") && listed.filter((node) => node.managerStatus === "reachable").length === managers.length - 1,
    `${nodes.length} nodes ready with ${managers.length - 1} reachable managers`,
    30_000,
  );
  // Reachable is not yet voting: a fault test on a cluster with a learner left would test nothing.
  const joinedManagers = cluster.list(first).filter((node) => node.role === "manager" && node.hostname !== first.name);
  await waitFor(() => joinedManagers.every((manager) => logCount(first, "learner promoted to voter", `node=${manager.id}`) > 0), {
    timeoutMs: 15_000, intervalMs: 50, what: "every joined manager promoted to voter",
  });
  const gossipWhole = async (node: TestNode) => {
    const members = await gossipMembersOf(node);
    return members.length === nodes.length && members.every((member) => member.state === "alive");
  };
  await waitFor(async () => (await Promise.all(nodes.map(gossipWhole))).every(Boolean), { timeoutMs: 30_000, intervalMs: 100, what: "every node's gossip seeing every node alive" });
  return byName;
}

/** A file's lab, its cluster and its nodes, from `netnsClusterForFile`. */
export interface NetnsCluster {
  lab: NetnsLab;
  cluster: TestCluster;
  /** The node started under `name`. */
  node(name: string): TestNode;
  /** Every node, managers first. */
  nodes(): TestNode[];
}

/**
 * Registers the file's hooks: before all, a lab with one host per node and the cluster formed
 * on it (see `formCluster`); after each test, a heal, so a failed step never leaves the next
 * one cut off; after all, every agent killed and the lab destroyed. Does nothing when
 * `netnsUnavailable()` says why it cannot (the tests skip with that reason).
 */
export function netnsClusterForFile(managers: string[], workers: string[], agentArgs: string[] = []): NetnsCluster {
  let lab: NetnsLab | undefined;
  let cluster: TestCluster | undefined;
  let byName = new Map<string, TestNode>();
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the netns cluster is not set up (skipped, or its setup failed)");
    return value;
  };
  beforeAll(async () => {
    if (netnsUnavailable()) return;
    lab = NetnsLab.create(managers.length + workers.length);
    cluster = new TestCluster(lab);
    byName = await formCluster(cluster, managers, workers, agentArgs);
  }, 60_000);
  afterEach(() => lab?.heal());
  afterAll(() => {
    cleanup();
    lab?.destroy();
  });
  return {
    get lab() {
      return ready(lab);
    },
    get cluster() {
      return ready(cluster);
    },
    node: (name) => ready(byName.get(name)),
    nodes: () => [...byName.values()],
  };
}
