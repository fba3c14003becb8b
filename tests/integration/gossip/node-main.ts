/**
 * A standalone gossip node for real-process tests and the gossip benchmark: the membership core
 * in the real shell, with encryption, and nothing else of the agent.
 *
 *   bun tests/integration/gossip/node-main.ts --name n1 --bind 127.0.0.2:7371 \
 *     --seeds 127.0.0.3:7371,127.0.0.4:7371 --key-file keys.txt --cluster test [--profile lan|local] [--http-port 0]
 *
 * The key file holds base64 keys, one a line; the first is primary. stdout carries JSON lines
 * (the same shape the memberlist peer prints, so the benchmark reads both alike):
 *
 *   {"t":<unix ms>,"type":"ready","name":...,"address":...,"http":<port or null>}
 *   {"t":...,"type":"member","change":"join"|"update"|"suspect"|"alive"|"dead"|"leave"|"reap","name":...}
 *   {"t":...,"type":"stats","bytesSent":N,"packetsSent":N,"members":N}      (every second)
 *
 * With --http-port, a loopback HTTP server on the bind host answers GET /members (JSON) and
 * GET /metrics (Prometheus text). SIGTERM leaves gracefully; SIGKILL is the crash under test.
 */
import { readFileSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";
import nacl from "tweetnacl";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { nullLogger } from "../../../core/common/log.ts";
import { entropyRandom } from "../../../core/common/random.ts";
import { lanConfig, localConfig } from "../../../core/gossip/config.ts";
import { Membership } from "../../../core/gossip/membership.ts";
import { Keyring, decodeGossipKey } from "../../../core/secure/keyring.ts";
import { PacketSeal } from "../../../core/secure/seal.ts";
import { GossipShell } from "../../../core/transport/gossip.ts";
import { requireHostPort } from "../../../core/common/address.ts";

const { values: args } = parseArgs({
  options: {
    name: { type: "string" },
    bind: { type: "string" },
    seeds: { type: "string", default: "" },
    "key-file": { type: "string" },
    cluster: { type: "string", default: "shoal-test" },
    profile: { type: "string", default: "lan" },
    "http-port": { type: "string" },
  },
});
if (!args.name || !args.bind || !args["key-file"]) {
  console.error("usage: node-main.ts --name N --bind host:port --key-file F [--seeds a,b] [--cluster C] [--profile lan|local] [--http-port P]");
  process.exit(2);
}
const name = args.name;
const bind = requireHostPort(args.bind);
// One write(2) per line, as the memberlist peer does, so both programs pay the same for their
// stats output and the bench's CPU row compares gossip with gossip.
const emit = (fields: Record<string, unknown>) => writeSync(1, `${JSON.stringify({ t: Date.now(), ...fields })}\n`);

const keys = readFileSync(args["key-file"], "utf8").split("\n").filter((line) => line.trim() !== "").map(decodeGossipKey);
const keyring = Keyring.of(keys);
const metrics = new MetricsRegistry();
const identity = { name, address: args.bind };
const config = args.profile === "local" ? localConfig(identity) : lanConfig(identity);
const core = new Membership(config, entropyRandom(), Date.now());
const shell = await GossipShell.start({
  core,
  bind,
  seal: new PacketSeal({ keyring, clusterId: args.cluster, senderId: name, epoch: Date.now(), randomBytes: nacl.randomBytes }),
  metrics,
  logger: nullLogger,
  onEvent: (event) => {
    if (event.type === "member") emit({ type: "member", change: event.change, name: event.member.name });
    else emit({ ...event });
    if (event.type === "leaveComplete") finish();
  },
});

let http: ReturnType<typeof Bun.serve> | undefined;
if (args["http-port"] !== undefined) {
  http = Bun.serve({
    hostname: bind.host,
    port: Number(args["http-port"]),
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/members") {
        const members = core.members().map((member) => ({ name: member.name, state: member.state, incarnation: member.incarnation, address: member.address }));
        return Response.json({ name, members, traffic: shell.traffic() });
      }
      if (path === "/metrics") return new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
      return new Response("not found\n", { status: 404 });
    },
  });
}
emit({ type: "ready", name, address: shell.address, http: http?.port ?? null });

const seeds = args.seeds.split(",").filter((seed) => seed !== "");
if (seeds.length > 0) {
  core.joinCluster(seeds, Date.now());
  shell.flush();
}

const stats = setInterval(() => {
  const traffic = shell.traffic();
  emit({ type: "stats", bytesSent: traffic.bytesSent, packetsSent: traffic.packetsSent, members: core.liveCount() });
}, 1_000);

/** SIGTERM: leave gracefully, exit once the leave has propagated (the core bounds the wait). */
function stop(): void {
  clearInterval(stats);
  core.leave(Date.now());
  shell.flush();
}

function finish(): void {
  shell.close();
  http?.stop(true);
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
