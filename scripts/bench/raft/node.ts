/**
 * One Shoal raft node as a process: the durable replica, the TCP transport and the KV state
 * machine behind a small HTTP front. The raft benchmark and the real-process tests run three
 * or more of these on loopback.
 *
 *   bun scripts/bench/raft/node.ts --id a --data-dir DIR --raft 127.0.0.11:7370 --http 127.0.0.11:8080 \
 *     --peers a=127.0.0.11:7370,b=127.0.0.12:7370,c=127.0.0.13:7370 [--join] [--snapshot-threshold N]
 *
 * `--peers` lists the founding voters (this node included); with `--join` the node starts
 * empty and waits to be added as a learner (`POST /members/<id>` on the leader).
 *
 * HTTP: `PUT /kv/:key` (body = value) answers 204 once the write is applied here;
 * `GET /kv/:key` is linearizable (ReadIndex); `GET /status`; `POST /peers/:id?raft=HOST:PORT` tells this
 * node where a peer listens; `POST /members/:id?role=learner|voter` (leader) adds a learner or
 * promotes a caught-up one.
 * Errors: 503 with a JSON `{error, code}` when there is no leader or the request timed out.
 */
import { Hono } from "hono";
import { parseArgs } from "node:util";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { parseHostPort, type HostPort } from "../../../core/common/address.ts";
import { describeError, ShoalError } from "../../../core/common/errors.ts";
import { createLogger } from "../../../core/common/log.ts";
import { StoreCorruptError } from "../../../core/store/errors.ts";
import { encodeKvCommand, KvStateMachine, MAX_KEY_LENGTH, type KvResult } from "../../../core/store/kv.ts";
import { openReplica } from "../../../core/store/open-replica.ts";
import type { Replica } from "../../../core/store/replica.ts";
import { TcpTransport } from "../../../core/transport/tcp.ts";

const { values } = parseArgs({
  options: {
    id: { type: "string" },
    "data-dir": { type: "string" },
    raft: { type: "string" },
    http: { type: "string" },
    peers: { type: "string", default: "" },
    join: { type: "boolean", default: false },
    "snapshot-threshold": { type: "string" },
    "keep-entries": { type: "string" },
    "tick-ms": { type: "string" },
    "log-level": { type: "string", default: "info" },
  },
});

function address(text: string | undefined, flag: string): HostPort {
  const parsed = parseHostPort(text ?? "");
  return "error" in parsed ? fail(`--${flag}: ${parsed.error}`) : parsed;
}

function fail(message: string): never {
  console.error(`raft-node: ${message}`);
  process.exit(1);
}

/** `{ [field]: n }` when the flag was given, else nothing, so the core's default applies. */
function optionalInt(field: string, text: string | undefined): Record<string, number> {
  return text === undefined ? {} : { [field]: Number.parseInt(text, 10) };
}

const id = values.id ?? fail("--id is required");
const dataDir = values["data-dir"] ?? fail("--data-dir is required");
const raftAddress = address(values.raft, "raft");
const httpAddress = address(values.http, "http");
const peers = new Map<string, HostPort>();
for (const item of values.peers.split(",").filter(Boolean)) {
  const [peer, addr] = item.split("=");
  peers.set(peer as string, address(addr, "peers"));
}

const logger = createLogger({ level: values["log-level"] as "info", format: "logfmt", subsystem: "raft" }).child({ node: id });
const metrics = new MetricsRegistry();
let replica: Replica<KvResult> | undefined;
const transport = new TcpTransport({ id, listen: raftAddress, onMessage: (message) => replica?.step(message), metrics, logger });
for (const [peer, addr] of peers) if (peer !== id) transport.setPeer(peer, addr);

const kv = new KvStateMachine(dataDir);
try {
  ({ replica } = openReplica({
    dataDir,
    raft: {
      id,
      ...optionalInt("snapshotThreshold", values["snapshot-threshold"]),
      ...optionalInt("entriesKeptAfterSnapshot", values["keep-entries"]),
      ...optionalInt("tickMs", values["tick-ms"]),
    },
    stateMachine: kv,
    transport,
    bootstrap: values.join ? undefined : { voters: [...peers.keys()], learners: [], votersOutgoing: [] },
    logger,
    metrics,
  }));
} catch (error) {
  if (error instanceof StoreCorruptError) fail(error.message);
  throw error;
}
const node = replica as Replica<KvResult>;
await transport.start();
node.start();

function errorResponse(error: unknown): Response {
  const code = error instanceof ShoalError ? error.code : "internal";
  return Response.json({ error: describeError(error), code }, { status: code === "internal" ? 500 : 503 });
}

const app = new Hono();
app.put("/kv/:key", async (c) => {
  const key = c.req.param("key");
  if (key.length > MAX_KEY_LENGTH) return c.json({ error: "key too long" }, 400);
  const value = new Uint8Array(await c.req.arrayBuffer());
  try {
    const result = await node.propose(encodeKvCommand({ op: "put", key, value }));
    return result.ok ? c.body(null, 204) : c.json({ error: result.error }, 400);
  } catch (error) {
    return errorResponse(error);
  }
});
app.get("/kv/:key", async (c) => {
  try {
    await node.read();
  } catch (error) {
    return errorResponse(error);
  }
  const value = kv.get(c.req.param("key"));
  return value === undefined ? c.body(null, 404) : new Response(value, { status: 200 });
});
app.get("/status", (c) => c.json(node.status()));
app.get("/metrics", (c) => c.text(metrics.render()));
app.post("/peers/:id", (c) => {
  const parsed = parseHostPort(c.req.query("raft") ?? "");
  if ("error" in parsed) return c.json({ error: `raft: ${parsed.error}`, code: "bad_address" }, 400);
  transport.setPeer(c.req.param("id"), parsed);
  return c.body(null, 204);
});
app.post("/members/:id", async (c) => {
  const member = c.req.param("id");
  try {
    if (c.req.query("role") === "voter") await node.promote(member);
    else await node.changeMembership({ type: "addLearner", node: member });
    return c.json(node.status().conf);
  } catch (error) {
    return errorResponse(error);
  }
});

const server = Bun.serve({ hostname: httpAddress.host, port: httpAddress.port, fetch: app.fetch });
logger.info("raft node serving", { http: `${httpAddress.host}:${server.port}`, raft: `${raftAddress.host}:${raftAddress.port}` });

async function shutdown(): Promise<void> {
  node.stop();
  await transport.close();
  server.stop(true);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
