/**
 * The simulator's self-test: every node reliably broadcasts a few values (retransmitting until
 * each peer acknowledges) over a network that loses, duplicates and reorders messages, while a
 * seeded schedule partitions the cluster and crashes and restarts nodes. After the faults end,
 * every node must hold every value, and nothing that was never sent. It exercises the whole kit
 * the way a protocol simulation does, and its trace hash proves runs replay from the seed.
 */
import { SeededRandom, Trace, VirtualClock, VirtualNetwork, type Random } from "../../kit/index.ts";
import type { SimulateOptions } from "../registry.ts";

type Message = { kind: "data"; value: string } | { kind: "ack"; value: string };

/** What one run did. */
export interface KitRunSummary {
  traceHash: string;
  events: number;
  virtualMs: number;
  messagesSent: number;
}

const valuesPerNode = 8;
const retransmitMs = 40;
const faultPhaseMs = 3000;
const convergeWithinMs = 5000;

/** One run; throws when the broadcast does not converge or delivers something never sent. */
export function simulate(seed: number, options: SimulateOptions = {}): KitRunSummary {
  const nodeCount = options.nodes ?? 5;
  if (!Number.isInteger(nodeCount) || nodeCount < 2) throw new RangeError(`kit simulation needs at least 2 nodes, got ${nodeCount}`);
  const random = new SeededRandom(seed);
  const clock = new VirtualClock();
  const trace = new Trace({ clock });
  const net = new VirtualNetwork<Message>({
    clock,
    random: random.fork(),
    latency: { minMs: 1, maxMs: 30 },
    loss: 0.1,
    duplication: 0.05,
    reorder: 0.1,
    trace,
  });
  const ids = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
  const sent = new Set<string>();
  const held = new Map(ids.map((id) => [id, new Set<string>()]));
  /** Per sender: `${peer} ${value}` pairs still waiting for an ack. */
  const unacked = new Map(ids.map((id) => [id, new Set<string>()]));

  for (const id of ids) {
    const mine = held.get(id) as Set<string>;
    const pending = unacked.get(id) as Set<string>;
    net.attach(id, (from, msg) => {
      if (msg.kind === "ack") return void pending.delete(`${from} ${msg.value}`);
      if (!sent.has(msg.value)) throw new Error(`${id} received ${msg.value}, which nobody sent`);
      if (!mine.has(msg.value)) trace.append("learn", id, msg.value);
      mine.add(msg.value);
      net.send(id, from, { kind: "ack", value: msg.value });
    });
    // Values originate throughout the fault phase, so partitions and crashes hit them in flight.
    for (let k = 0; k < valuesPerNode; k++) {
      const value = `${id}.${k}`;
      clock.setTimer(random.int(faultPhaseMs), () => {
        trace.append("originate", id, value);
        sent.add(value);
        mine.add(value);
        for (const peer of ids) if (peer !== id) pending.add(`${peer} ${value}`);
      });
    }
    clock.every(retransmitMs, () => {
      if (net.isCrashed(id)) return;
      for (const pair of pending) {
        const [peer, value] = pair.split(" ") as [string, string];
        net.send(id, peer, { kind: "data", value });
      }
    });
  }

  scheduleFaults(random.fork(), clock, net, ids);
  clock.advance(faultPhaseMs);
  net.heal();
  for (const id of ids) if (net.isCrashed(id)) net.restart(id);
  trace.append("faults-over");

  const complete = () => ids.every((id) => held.get(id)?.size === sent.size);
  if (sent.size !== nodeCount * valuesPerNode) throw new Error(`only ${sent.size} of ${nodeCount * valuesPerNode} values originated`);
  if (!clock.runUntil(complete, convergeWithinMs)) {
    const missing = ids.map((id) => `${id}:${sent.size - (held.get(id)?.size ?? 0)}`).join(" ");
    throw new Error(`broadcast did not converge within ${convergeWithinMs} ms after faults ended (missing values: ${missing})`);
  }
  return { traceHash: trace.hash(), events: trace.length, virtualMs: clock.now(), messagesSent: net.stats().sent };
}

/** A seeded schedule of partitions, one-way blocks and crashes during the fault phase. */
function scheduleFaults(random: Random, clock: VirtualClock, net: VirtualNetwork<Message>, ids: string[]): void {
  for (let at = 200; at < faultPhaseMs; at += random.between(150, 400)) {
    const fault = random.int(4);
    const victim = ids[random.int(ids.length)] as string;
    clock.setTimer(at - clock.now(), () => {
      if (fault === 0) {
        const shuffled = random.shuffle([...ids]);
        const cut = random.between(1, ids.length - 1);
        net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      } else if (fault === 1) {
        net.block(victim, ids[random.int(ids.length)] as string);
      } else if (fault === 2) {
        if (net.isCrashed(victim)) net.restart(victim);
        else net.crash(victim);
      } else {
        net.heal();
      }
    });
  }
}
