/**
 * `npm run bench -- gossip [--nodes N] [--trials T] [--settle-seconds W] [--steady-seconds S]`
 *
 * Shoal's gossip beside hashicorp/memberlist, both as N real processes on loopback addresses with
 * the same LAN parameters (memberlist's DefaultLANConfig; Shoal's `lanConfig`, which matches it)
 * and encryption on. For each: the time for a new node to be known by every member, the time for
 * a SIGKILLed node to be declared dead by every survivor (medians over T trials), and per node at
 * steady state: CPU seconds per minute (from /proc/<pid>/stat), bytes and packets sent per minute
 * (each program counts what its transport writes: sealed UDP payloads and TCP stream bytes) and
 * resident memory.
 *
 * Both programs print the same JSON lines (see tests/integration/gossip/node-main.ts and
 * scripts/bench/peers/memberlist-peer/main.go); times come from the nodes' own clocks (one host).
 * Each runs as what a user runs: the Shoal node program is compiled by `scripts/build.ts` with
 * the shipped binary's flags (its runtime settings included), as the peer is compiled by `go build`.
 * The memberlist peer is built offline from Debian's packages (golang-go, and
 * golang-github-hashicorp-memberlist-dev with its dependencies) with GOPATH=/usr/share/gocode.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import nacl from "tweetnacl";
import { encodeGossipKey } from "../../core/secure/keyring.ts";
import { build } from "../build.ts";
import { type Bench, type BenchRow, ensureCommand, freePort, integerFlag, median, readProcess, row, toMB, waitFor } from "./lib/index.ts";

const root = join(import.meta.dir, "..", "..");
const PEER = "memberlist";
const GOPATH = "/usr/share/gocode";
const MEMBERLIST_SOURCE = join(GOPATH, "src/github.com/hashicorp/memberlist");

/** One JSON line a node printed. */
interface NodeLine {
  t: number;
  type: string;
  change?: string;
  name?: string;
  bytesSent?: number;
  packetsSent?: number;
}

/** Builds the argv that starts one node of an implementation. */
type Launcher = (name: string, bind: string, seeds: string[]) => string[];

/** A node process and everything it printed. */
class BenchNode {
  readonly lines: NodeLine[] = [];
  /** Other members this node currently counts as present. */
  readonly present = new Set<string>();
  readyAt: number | undefined;

  constructor(
    readonly name: string,
    readonly child: Subprocess<"ignore", "pipe", "ignore">,
  ) {
    void this.read();
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const text of lines) this.take(text);
    }
  }

  private take(text: string): void {
    let line: NodeLine;
    try {
      line = JSON.parse(text) as NodeLine;
    } catch {
      return;
    }
    this.lines.push(line);
    if (line.type === "ready") this.readyAt = line.t;
    if (line.type !== "member" || !line.name || line.name === this.name) return;
    if (line.change === "join" || line.change === "alive" || line.change === "update") this.present.add(line.name);
    if (line.change === "dead" || line.change === "leave" || line.change === "reap") this.present.delete(line.name);
  }

  /** When this node first reported `change` for `name` at or after `since`. */
  firstEvent(name: string, change: string, since: number): number | undefined {
    return this.lines.find((line) => line.type === "member" && line.name === name && line.change === change && line.t >= since)?.t;
  }

  /** The last traffic counters printed. */
  lastStats(): { t: number; bytesSent: number; packetsSent: number } | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const line = this.lines[i] as NodeLine;
      if (line.type === "stats") return { t: line.t, bytesSent: line.bytesSent ?? 0, packetsSent: line.packetsSent ?? 0 };
    }
    return undefined;
  }

  kill(): Promise<number> {
    this.child.kill("SIGKILL");
    return this.child.exited;
  }
}

/** What one implementation measured. */
interface Figures {
  joinMs: number;
  detectMs: number;
  cpuSecondsPerMinute: number;
  kibSentPerMinute: number;
  packetsSentPerMinute: number;
  rssMiB: number;
}

interface RunOptions {
  nodes: number;
  trials: number;
  settleSeconds: number;
  steadySeconds: number;
  log: (line: string) => void;
}

/** Runs one implementation's cluster through the whole measurement and stops it. */
async function measure(label: string, launch: Launcher, options: RunOptions): Promise<Figures> {
  const { log } = options;
  const port = await freePort({ host: "127.0.0.1", udp: true });
  const address = (index: number) => `127.0.1.${index + 10}:${port}`;
  const seeds = [0, 1, 2].map(address);
  const nodes: BenchNode[] = [];
  const started: BenchNode[] = [];
  const start = async (name: string, index: number) => {
    const node = new BenchNode(name, Bun.spawn(launch(name, address(index), seeds.filter((seed) => seed !== address(index))), { stdin: "ignore", stdout: "pipe", stderr: "ignore", cwd: root }));
    started.push(node);
    await waitFor(() => node.readyAt !== undefined, { timeoutMs: 20_000, what: `${label} ${name} ready` });
    return node;
  };
  try {
    for (let i = 0; i < options.nodes; i++) nodes.push(await start(`${label}-${i}`, i));
    const converged = await waitFor(() => nodes.every((node) => node.present.size === options.nodes - 1), { timeoutMs: 120_000, intervalMs: 100, what: `${label} cluster converged` });
    log(`${label}: ${options.nodes} nodes converged ${Math.round(converged)} ms after the last start`);

    // Steady state: wait out the start-up transients of both programs, then measure a window.
    // A Bun process spends its first half minute or so above its steady CPU (Bun's GC timer
    // collects while the heap still grows after start, and the JIT tiers up), so a window that
    // opens 10 s after convergence measures start-up as much as gossip; memberlist is flat by then.
    await Bun.sleep(options.settleSeconds * 1_000);
    const before = nodes.map((node) => ({ cpu: readProcess(node.child.pid).cpuSeconds, stats: node.lastStats() }));
    await Bun.sleep(options.steadySeconds * 1_000);
    const after = nodes.map((node) => ({ cpu: readProcess(node.child.pid).cpuSeconds, stats: node.lastStats(), rss: readProcess(node.child.pid).rssBytes }));
    const perMinute = (values: number[], seconds: number[]) => (60 * values.reduce((sum, v) => sum + v, 0)) / seconds.reduce((sum, s) => sum + s, 0);
    const cpuSecondsPerMinute = (60 * after.reduce((sum, a, i) => sum + a.cpu - (before[i]?.cpu ?? 0), 0)) / options.steadySeconds / nodes.length;
    const windows = after.map((a, i) => ((a.stats?.t ?? 0) - (before[i]?.stats?.t ?? 0)) / 1000);
    const bytesPerMinute = perMinute(after.map((a, i) => (a.stats?.bytesSent ?? 0) - (before[i]?.stats?.bytesSent ?? 0)), windows);
    const packetsPerMinute = perMinute(after.map((a, i) => (a.stats?.packetsSent ?? 0) - (before[i]?.stats?.packetsSent ?? 0)), windows);
    const rssMiB = toMB(after.reduce((sum, a) => sum + a.rss, 0) / after.length);
    log(`${label}: steady state ${cpuSecondsPerMinute.toFixed(3)} CPU s/min, ${(bytesPerMinute / 1024).toFixed(1)} KiB/min, ${packetsPerMinute.toFixed(0)} packets/min, ${rssMiB.toFixed(1)} MiB RSS per node`);

    const joins: number[] = [];
    const detections: number[] = [];
    for (let trial = 0; trial < options.trials; trial++) {
      const newcomer = await start(`${label}-new-${trial}`, options.nodes + trial);
      const readyAt = newcomer.readyAt as number;
      await waitFor(() => nodes.every((node) => node.firstEvent(newcomer.name, "join", readyAt) !== undefined), { timeoutMs: 60_000, intervalMs: 50, what: `${label}: ${newcomer.name} known by all` });
      const joinMs = Math.max(...nodes.map((node) => (node.firstEvent(newcomer.name, "join", readyAt) as number) - readyAt));
      await waitFor(() => newcomer.present.size >= nodes.length, { timeoutMs: 60_000, intervalMs: 50, what: `${label}: ${newcomer.name} knows all` });
      await Bun.sleep(2_000);
      const killedAt = Date.now();
      await newcomer.kill();
      await waitFor(() => nodes.every((node) => node.firstEvent(newcomer.name, "dead", killedAt) !== undefined), { timeoutMs: 120_000, intervalMs: 50, what: `${label}: ${newcomer.name} declared dead by all` });
      const detectMs = Math.max(...nodes.map((node) => (node.firstEvent(newcomer.name, "dead", killedAt) as number) - killedAt));
      log(`${label}: trial ${trial + 1}: new node known by all in ${joinMs} ms, killed node dead everywhere in ${detectMs} ms`);
      joins.push(joinMs);
      detections.push(detectMs);
    }
    return { joinMs: median(joins), detectMs: median(detections), cpuSecondsPerMinute, kibSentPerMinute: bytesPerMinute / 1024, packetsSentPerMinute: packetsPerMinute, rssMiB };
  } finally {
    await Promise.all(started.map((node) => node.kill()));
  }
}

/** Installs the memberlist source when missing and builds the peer into `dir`; the binary's path, or null. */
function buildMemberlistPeer(dir: string, log: (line: string) => void): string | null {
  const go = ensureCommand("go", "golang-go", log);
  if (!go) return null;
  if (!existsSync(MEMBERLIST_SOURCE)) {
    log("$ apt-get install -y golang-github-hashicorp-memberlist-dev");
    const install = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "golang-github-hashicorp-memberlist-dev"], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (install.status !== 0 || !existsSync(MEMBERLIST_SOURCE)) {
      log("memberlist: golang-github-hashicorp-memberlist-dev could not be installed");
      return null;
    }
  }
  const out = join(dir, "memberlist-peer");
  const env = { ...process.env, GOPATH, GO111MODULE: "off", GOFLAGS: "", GOCACHE: join(tmpdir(), "shoal-bench-gocache") };
  const compiled = spawnSync(go, ["build", "-o", out, "."], { cwd: join(import.meta.dir, "peers", "memberlist-peer"), env, encoding: "utf8" });
  if (compiled.status !== 0) {
    log(`memberlist: building the peer failed:\n${compiled.stderr}`);
    return null;
  }
  return out;
}

export const bench: Bench = {
  description: "gossip membership beside hashicorp/memberlist: join and failure detection times, CPU, bytes and memory per node",
  async run({ args, log }) {
    const { values } = parseArgs({
      args,
      options: {
        nodes: { type: "string" },
        trials: { type: "string" },
        "settle-seconds": { type: "string" },
        "steady-seconds": { type: "string" },
      },
    });
    const options: RunOptions = {
      nodes: integerFlag("nodes", values.nodes, 20, 4),
      trials: integerFlag("trials", values.trials, 5),
      settleSeconds: integerFlag("settle-seconds", values["settle-seconds"], 30, 0),
      steadySeconds: integerFlag("steady-seconds", values["steady-seconds"], 60, 5),
      log,
    };
    const dir = mkdtempSync(join(tmpdir(), "shoal-bench-"));
    const keyFile = join(dir, "gossip.key");
    writeFileSync(keyFile, `${encodeGossipKey(nacl.randomBytes(32))}\n`, { mode: 0o600 });

    let shoal: Figures;
    let peer: Figures | null;
    try {
      const nodeBinary = join(dir, "shoal-gossip-node");
      build({ entry: join(root, "tests/integration/gossip/node-main.ts"), outfile: nodeBinary, report: false });
      const peerBinary = buildMemberlistPeer(dir, log);
      shoal = await measure("shoal", (name, bind, seeds) => [nodeBinary, "--name", name, "--bind", bind, "--seeds", seeds.join(","), "--key-file", keyFile, "--profile", "lan"], options);
      peer = peerBinary ? await measure("memberlist", (name, bind, seeds) => [peerBinary, "-name", name, "-bind", bind, "-seeds", seeds.join(","), "-key-file", keyFile, "-profile", "lan"], options) : null;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const label = `${options.nodes} processes, LAN profile, encrypted`;
    const figure = (metric: string, unit: string, pick: (figures: Figures) => number): BenchRow =>
      row({ case: label, metric, unit, better: "lower", shoal: pick(shoal), peer: peer ? pick(peer) : null, peerName: PEER });
    return [
      figure(`new node known by all (median of ${options.trials})`, "ms", (f) => f.joinMs),
      figure(`killed node declared dead by all (median of ${options.trials})`, "ms", (f) => f.detectMs),
      figure(`CPU per node, steady state (${options.steadySeconds} s from ${options.settleSeconds} s after convergence)`, "CPU s/min", (f) => f.cpuSecondsPerMinute),
      figure("bytes sent per node, steady state", "KiB/min", (f) => f.kibSentPerMinute),
      figure("packets sent per node, steady state", "packets/min", (f) => f.packetsSentPerMinute),
      figure("resident memory per node", "MiB", (f) => f.rssMiB),
    ];
  },
};
