import { afterEach, describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import type { Logger } from "../../../core/common/log.ts";
import type { Membership } from "../../../core/gossip/membership.ts";
import type { Member, Ready } from "../../../core/gossip/types.ts";
import { Keyring } from "../../../core/secure/keyring.ts";
import { PacketSeal } from "../../../core/secure/seal.ts";
import { GossipShell } from "../../../core/transport/gossip.ts";
import { bindUdp, type UdpEndpoint } from "../../../core/transport/udp.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

const keyring = Keyring.of([nacl.randomBytes(32)]);
const sealFor = (senderId: string) => new PacketSeal({ keyring, clusterId: "test", senderId, epoch: 1, randomBytes: nacl.randomBytes });

/** A core that hands the shell a scripted batch of packets and has no deadline of its own. */
function scriptedCore(batches: Ready["packets"][], members: Pick<Member, "state">[] = []): Membership {
  const core = {
    ready: (): Ready => ({ packets: batches.shift() ?? [], streams: [], events: [] }),
    nextDeadline: () => Number.POSITIVE_INFINITY,
    tick: () => {},
    members: () => members,
  };
  return core as unknown as Membership;
}

function recordingLogger(warnings: string[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, fields) => warnings.push(`${msg} ${String(fields?.to)}`),
    error: () => {},
    child: () => logger,
  };
  return logger;
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

describe("gossip shell sends", () => {
  test("each packet goes sealed to its destination; one with an invalid address is skipped with a warning, every time", async () => {
    const received: Uint8Array[] = [];
    const peer: UdpEndpoint = await bindUdp({ host: "127.0.0.1", port: 0 }, (bytes) => received.push(bytes), () => {});
    open.push(peer);
    const to = `127.0.0.1:${peer.local.port}`;
    const payload = (n: number) => Uint8Array.of(n);
    const warnings: string[] = [];
    const shell = await GossipShell.start({
      core: scriptedCore([
        [{ to, bytes: payload(1) }, { to: "not-an-address", bytes: payload(2) }, { to, bytes: payload(3) }],
        [{ to: "not-an-address", bytes: payload(4) }, { to, bytes: payload(5) }],
      ]),
      bind: { host: "127.0.0.1", port: 0 },
      seal: sealFor("sender"),
      metrics: new MetricsRegistry(),
      logger: recordingLogger(warnings),
    });
    open.push(shell);
    shell.flush(); // the second batch: the same destinations again

    await waitFor(() => received.length === 3, { timeoutMs: 3_000, what: "three packets at the peer" });
    const receiver = sealFor("receiver");
    const payloads = received.map((bytes) => {
      const opened = receiver.open(bytes);
      if (!opened.ok) throw new Error(`packet did not open: ${opened.reason}`);
      return opened.payload[0];
    });
    expect(payloads.sort()).toEqual([1, 3, 5]);
    expect(shell.traffic().packetsSent).toBe(3);
    expect(warnings).toEqual(["gossip packet to an invalid address skipped not-an-address", "gossip packet to an invalid address skipped not-an-address"]);
  });
});

describe("gossip shell metrics", () => {
  test("member counts by state are taken from the core when scraped", async () => {
    const members: Pick<Member, "state">[] = [{ state: "alive" }, { state: "alive" }, { state: "suspect" }];
    const metrics = new MetricsRegistry();
    const shell = await GossipShell.start({ core: scriptedCore([], members), bind: { host: "127.0.0.1", port: 0 }, seal: sealFor("node"), metrics, logger: recordingLogger([]) });
    open.push(shell);
    expect(metrics.render()).toContain('shoal_gossip_members{state="alive"} 2\n');
    members.push({ state: "dead" });
    const rendered = metrics.render();
    expect(rendered).toContain('shoal_gossip_members{state="dead"} 1\n');
    expect(rendered).toContain('shoal_gossip_members{state="suspect"} 1\n');
  });
});
