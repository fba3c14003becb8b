/**
 * Key rotation on live sockets: three gossip shells rotate install → use → remove while probing
 * each other. At no step is a packet dropped or a probe failed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { nullLogger } from "../../../core/common/log.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { localConfig } from "../../../core/gossip/config.ts";
import { Membership } from "../../../core/gossip/membership.ts";
import { Keyring } from "../../../core/secure/keyring.ts";
import { PacketSeal } from "../../../core/secure/seal.ts";
import { GossipShell } from "../../../core/transport/gossip.ts";
import { eventually } from "./harness.ts";

const PORT = 20_000 + ((process.pid + 3_571) % 12_000); // below the ephemeral range
const hosts = ["127.0.0.50", "127.0.0.51", "127.0.0.52"];
const oldKey = nacl.randomBytes(32);
const newKey = nacl.randomBytes(32);
const keyrings = hosts.map(() => Keyring.of([oldKey]));
const shells: GossipShell[] = [];


/** Lets every node complete `rounds` more probes, then checks nothing was dropped or failed. */
async function probeRounds(rounds: number): Promise<void> {
  const before = shells.map((shell) => shell.core.stats().probes);
  await eventually(`${rounds} more probes everywhere`, 20_000, () => shells.every((shell, i) => shell.core.stats().probes >= (before[i] as number) + rounds));
  for (const shell of shells) {
    expect(Object.values(shell.traffic().dropped).every((count) => count === 0)).toBe(true);
    expect(shell.core.stats().probesFailed).toBe(0);
    expect(shell.core.members().map((member) => member.state)).toEqual(["alive", "alive", "alive"]);
  }
}

beforeAll(async () => {
  for (const [i, host] of hosts.entries()) {
    const name = `rotor-${i}`;
    const config = localConfig({ name, address: `${host}:${PORT}` }, { probeInterval: 200, probeTimeout: 100, gossipInterval: 50 });
    const seal = new PacketSeal({ keyring: keyrings[i]!, clusterId: "rotation", senderId: name, epoch: Date.now(), randomBytes: nacl.randomBytes });
    shells.push(await GossipShell.start({ core: new Membership(config, new SeededRandom(i + 1), Date.now()), bind: { host, port: PORT }, seal, metrics: new MetricsRegistry(), logger: nullLogger }));
  }
  for (const shell of shells.slice(1)) {
    shell.core.joinCluster([`${hosts[0]}:${PORT}`], Date.now());
    shell.flush();
  }
  await eventually("three members alive everywhere", 20_000, () => shells.every((shell) => shell.core.members().filter((member) => member.state === "alive").length === 3));
}, 30_000);

afterAll(() => {
  for (const shell of shells) shell.close();
});

test("install everywhere, use one by one, remove the old key: no packet dropped, no probe failed", async () => {
  await probeRounds(3);
  const newId = keyrings.map((ring) => ring.install(newKey))[0]!;
  await probeRounds(3);
  keyrings[0]!.use(newId); // one node ahead of the others: both keys are still accepted everywhere
  await probeRounds(3);
  for (const ring of keyrings) ring.use(newId);
  await probeRounds(3);
  for (const ring of keyrings) ring.remove(ring.list().find((key) => !key.primary)!.id);
  await probeRounds(3);
  for (const ring of keyrings) expect(ring.list()).toEqual([{ id: newId, primary: true }]);
}, 60_000);
