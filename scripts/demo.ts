/**
 * `npm start`: a local Shoal cluster of three agents on loopback — one manager and two workers
 * (`--managers 3` for three managers) — each with its data in ./.shoal/node-<n> (`--data-dir DIR`
 * for another parent directory). It initialises the cluster, joins the other agents with their
 * tokens, shows progress while they converge, prints `shoal node ls`, and on Ctrl-C (or SIGTERM)
 * stops every agent gracefully and exits with nothing left running. Run again, it restarts the
 * same cluster: each agent rejoins with its stored identity, no token needed.
 *
 * Agents run in their own process groups, so a terminal's Ctrl-C reaches each exactly once,
 * through this script, rather than once from the terminal and again from us (which an agent
 * would take as an impatient second signal). Their logs go to <node dir>/agent.log.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, isPortFree } from "./bench/lib/ports.ts";
import { waitFor } from "./bench/lib/wait.ts";
import { buildIfStale } from "./build.ts";

const root = join(import.meta.dir, "..");
const HOST = "127.0.0.1";
const NODES = 3;
/** Each agent's ports: cluster, gossip (UDP and TCP) and health, from 7370 up by default. */
const DEFAULT_BASE_PORT = 7370;
const PORTS_PER_NODE = 3;
/** Faster than the 5 s default, so a killed demo node shows `down` within seconds. */
const HEARTBEAT_MS = 1_000;
const CONVERGE_TIMEOUT_MS = 60_000;

interface DemoNode {
  name: string;
  dir: string;
  ports: { cluster: number; gossip: number; health: number };
  process?: ChildProcess;
  exited?: Promise<number>;
}

const { values: flags } = parseArgs({
  options: {
    "data-dir": { type: "string" },
    managers: { type: "string", default: "1" },
  },
});
const managers = Number(flags.managers);
if (managers !== 1 && managers !== 3) {
  console.error("demo: --managers must be 1 or 3");
  process.exit(2);
}
const binary = buildIfStale();
const shoalPath = relative(root, binary);
const parent = flags["data-dir"] ? resolve(flags["data-dir"]) : join(root, ".shoal");
mkdirSync(parent, { recursive: true, mode: 0o700 });

/** Runs `shoal <args>` to completion; throws with its stderr when it fails. */
function shoal(node: DemoNode, ...args: string[]): string {
  const run = spawnSync(binary, [...args, "--data-dir", node.dir], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`shoal ${args[0]} on ${node.name} failed: ${(run.stderr || run.stdout).trim()}`);
  return run.stdout;
}

/**
 * The ports of every node: those of the previous run (stored identities name them), else 7370 and
 * up when all are free, else any free ones.
 */
async function choosePorts(): Promise<DemoNode["ports"][]> {
  const saved = join(parent, "demo-ports.json");
  if (existsSync(saved)) return JSON.parse(readFileSync(saved, "utf8")) as DemoNode["ports"][];
  const consecutive = Array.from({ length: NODES * PORTS_PER_NODE }, (_, i) => DEFAULT_BASE_PORT + i);
  const free = await Promise.all(consecutive.map((port, i) => isPortFree({ host: HOST, port, udp: i % PORTS_PER_NODE === 1 })));
  const ports = free.every(Boolean) ? consecutive : await Promise.all(consecutive.map(() => freePort({ host: HOST, udp: true })));
  const chosen = Array.from({ length: NODES }, (_, i) => ({ cluster: ports[PORTS_PER_NODE * i] as number, gossip: ports[PORTS_PER_NODE * i + 1] as number, health: ports[PORTS_PER_NODE * i + 2] as number }));
  writeFileSync(saved, `${JSON.stringify(chosen)}\n`);
  return chosen;
}

function startAgent(node: DemoNode): void {
  mkdirSync(node.dir, { recursive: true, mode: 0o700 });
  const log = openSync(join(node.dir, "agent.log"), "a");
  const { cluster, gossip, health } = node.ports;
  const args = [
    "agent", "--data-dir", node.dir, "--node-name", node.name,
    "--listen-addr", `${HOST}:${cluster}`, "--gossip-addr", `${HOST}:${gossip}`, "--health-addr", `${HOST}:${health}`,
    "--gossip-profile", "local", "--heartbeat-period-ms", String(HEARTBEAT_MS),
  ];
  const child = spawn(binary, args, { cwd: root, stdio: ["ignore", log, log], detached: true });
  node.process = child;
  node.exited = new Promise((done) => child.on("exit", (code, signal) => done(code ?? (signal ? 128 : 1))));
}

const ports = await choosePorts();
const nodes: DemoNode[] = ports.map((nodePorts, i) => ({ name: `demo-${i + 1}`, dir: join(parent, `node-${i + 1}`), ports: nodePorts }));
for (const node of nodes) startAgent(node);

let stopping = false;
async function stopAll(reason: string): Promise<number> {
  stopping = true;
  console.log(`\ndemo: stopping ${NODES} agents (${reason})…`);
  for (const node of nodes) node.process?.kill("SIGTERM");
  const codes = await Promise.all(nodes.map((node) => node.exited ?? Promise.resolve(0)));
  nodes.forEach((node, i) => console.log(`demo: ${node.name} exited with code ${codes[i]}`));
  return codes.every((code) => code === 0) ? 0 : 1;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (!stopping) void stopAll(signal).then((code) => process.exit(code));
  });
}
const anyExited = Promise.race(nodes.map((node) => (node.exited as Promise<number>).then(() => node)));

async function formCluster(): Promise<void> {
  for (const node of nodes) {
    await waitFor(() => spawnSync(binary, ["status", "--data-dir", node.dir]).status === 0, { timeoutMs: 20_000, intervalMs: 50, what: `${node.name}'s control socket` });
  }
  const [first, ...others] = nodes as [DemoNode, ...DemoNode[]];
  if (existsSync(join(first.dir, "cluster", "identity"))) {
    console.log("demo: restarting the cluster of a previous run (each node rejoins with its stored identity)");
  } else {
    shoal(first, "init");
    console.log(`demo: ${first.name} initialised a cluster and is its manager`);
    const tokens = { manager: shoal(first, "join-token", "manager", "-q").trim(), worker: shoal(first, "join-token", "worker", "-q").trim() };
    others.forEach((node, i) => {
      const role = i + 1 < managers ? "manager" : "worker";
      shoal(node, "join", tokens[role]);
      console.log(`demo: ${node.name} joined as a ${role}`);
    });
  }
  let reported = -1;
  await waitFor(async () => {
    const listed = spawnSync(binary, ["node", "ls", "--json", "--data-dir", first.dir], { encoding: "utf8" });
    const ready = listed.status === 0 ? (JSON.parse(listed.stdout) as { status: string }[]).filter((node) => node.status === "ready").length : 0;
    const healthy = await Promise.all(nodes.map((node) => fetch(`http://${HOST}:${node.ports.health}/readyz`).then((response) => response.ok, () => false)));
    const readyz = healthy.filter(Boolean).length;
    if (ready + readyz !== reported) console.log(`demo: ${ready}/${NODES} nodes ready in node ls, ${readyz}/${NODES} agents ready (/readyz)`);
    reported = ready + readyz;
    return ready === NODES && readyz === NODES;
  }, { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 250, what: "every node ready" });
}

const outcome = await Promise.race([formCluster().then(() => "ready" as const), anyExited.then((node) => node)]).catch((error: Error) => error);
if (outcome !== "ready") {
  const why = outcome instanceof Error ? outcome.message : `${outcome.name} exited early (see ${relative(root, join(outcome.dir, "agent.log"))})`;
  console.error(`demo: ${why}`);
  process.exit(stopping ? 0 : await stopAll("startup failed").then(() => 1));
}
const first = nodes[0] as DemoNode;
const dirOf = (node: DemoNode) => (relative(root, node.dir).startsWith("..") ? node.dir : relative(root, node.dir));
console.log(["", `$ ${shoalPath} node ls --data-dir ${dirOf(first)}`, shoal(first, "node", "ls").trimEnd()].join("\n"));
console.log(
  [
    "",
    `Shoal is running: a local cluster of ${NODES} agents on ${HOST} (${managers === 1 ? "one manager, two workers" : "three managers"}).`,
    ...nodes.map((node) => `  ${node.name}: cluster ${HOST}:${node.ports.cluster}, gossip ${node.ports.gossip}, health http://${HOST}:${node.ports.health}, data ${dirOf(node)}`),
    `  curl http://${HOST}:${first.ports.health}/readyz`,
    `  curl http://${HOST}:${first.ports.health}/metrics`,
    `  ${shoalPath} node ls --data-dir ${dirOf(first)}`,
    `  ${shoalPath} key rotate --data-dir ${dirOf(first)}`,
    `Agent logs: ${dirOf(first)}/agent.log and the same in each node's directory.`,
    "Press Ctrl-C to stop.",
    "",
  ].join("\n"),
);
const early = await anyExited;
if (!stopping) {
  console.error(`demo: ${early.name} exited unexpectedly (see ${relative(root, join(early.dir, "agent.log"))})`);
  process.exit(await stopAll("an agent exited").then(() => 1));
}
