/**
 * Closed-loop clients issuing puts (proposals) and gets (ReadIndex reads) against random
 * nodes, recording a history for the linearizability checker. A put whose outcome the client
 * never learned (timeout, node crash) is recorded with an unknown outcome; a get without an
 * answer had no effect and is left out; an operation refused with `ProposalDroppedError`
 * never entered the system and is left out too.
 */
import { ProposalDroppedError } from "../../../core/raft/errors.ts";
import type { NodeId } from "../../../core/raft/types.ts";
import type { KvInput, KvOutput, Operation } from "../../kit/linearizability.ts";
import { type Random, type TimerId, VirtualClock } from "../../kit/index.ts";
import type { ClusterObserver, SimRaftCluster } from "./cluster.ts";
import { encodePut, type KvStateMachine, type PutCommand } from "./kv.ts";

interface Pending {
  seq: number;
  input: KvInput;
  node: NodeId;
  callAt: number;
  timer: TimerId;
}

interface Client {
  name: string;
  seq: number;
  node: NodeId | undefined;
  pending: Pending | undefined;
}

/** Settings of the workload. */
export interface WorkloadOptions {
  clock: VirtualClock;
  random: Random;
  keys: string[];
  /** How long a client waits for an answer before giving up on it. */
  timeoutMs: number;
  /** Pause between a client's operations: uniform in [0, thinkMs]. */
  thinkMs: number;
}

const encoder = new TextEncoder();

/** The clients and the history they produced. */
export class Workload implements ClusterObserver {
  /** Finished operations (and puts of unknown outcome). */
  readonly history: Operation<KvInput, KvOutput>[] = [];
  private readonly clients: Client[] = [];
  private cluster: SimRaftCluster | undefined;
  private running = false;
  /** Operations that completed with a known result. */
  completed = 0;

  constructor(private readonly options: WorkloadOptions) {}

  /** Starts `count` clients against `cluster`; each picks its first node among `members()`. */
  start(cluster: SimRaftCluster, count: number, members: () => NodeId[]): void {
    this.cluster = cluster;
    this.members = members;
    this.running = true;
    for (let i = 0; i < count; i++) {
      const client: Client = { name: `c${i}`, seq: 0, node: undefined, pending: undefined };
      this.clients.push(client);
      this.options.clock.setTimer(this.options.random.int(this.options.thinkMs + 1), () => this.issue(client));
    }
  }

  /** Stops issuing; outstanding puts are recorded as of unknown outcome. */
  stop(): void {
    this.running = false;
    for (const client of this.clients) {
      if (client.pending === undefined) continue;
      this.options.clock.clearTimer(client.pending.timer);
      this.abandon(client);
    }
  }

  putApplied(node: NodeId, command: PutCommand): void {
    const client = this.clients.find((c) => c.name === command.client);
    const pending = client?.pending;
    if (client === undefined || pending === undefined || pending.seq !== command.seq || pending.node !== node) return;
    this.finish(client, undefined);
  }

  readReady(node: NodeId, context: string, machine: KvStateMachine): void {
    const [name, seqText] = context.split(":");
    const client = this.clients.find((c) => c.name === name);
    const pending = client?.pending;
    if (client === undefined || pending === undefined || pending.seq !== Number(seqText) || pending.node !== node) return;
    this.finish(client, machine.get(pending.input.key));
  }

  private members: () => NodeId[] = () => [];

  private issue(client: Client): void {
    if (!this.running || this.cluster === undefined) return;
    const { random, clock, keys } = this.options;
    const members = this.members();
    if (members.length === 0) return this.later(client);
    if (client.node === undefined || !members.includes(client.node)) client.node = members[random.int(members.length)];
    const node = client.node === undefined ? undefined : this.cluster.get(client.node);
    if (node === undefined) return this.later(client);
    client.seq++;
    const key = keys[random.int(keys.length)] as string;
    const input: KvInput = random.chance(0.5) ? { kind: "put", key, value: `${client.name}-${client.seq}` } : { kind: "get", key };
    try {
      this.cluster.act(node, (raft) => {
        if (input.kind === "put") raft.propose(encodePut({ client: client.name, seq: client.seq, key, value: input.value }));
        else raft.readIndex(encoder.encode(`${client.name}:${client.seq}`));
      });
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      client.node = undefined;
      return this.later(client);
    }
    const timer = clock.setTimer(this.options.timeoutMs, () => {
      this.abandon(client);
      client.node = undefined;
      this.later(client);
    });
    client.pending = { seq: client.seq, input, node: node.id, callAt: clock.now(), timer };
  }

  private finish(client: Client, output: KvOutput | undefined): void {
    const pending = client.pending as Pending;
    this.options.clock.clearTimer(pending.timer);
    client.pending = undefined;
    this.history.push({ client: client.name, input: pending.input, output, callAt: pending.callAt, returnAt: this.options.clock.now() });
    this.completed++;
    this.later(client);
  }

  private abandon(client: Client): void {
    const pending = client.pending;
    client.pending = undefined;
    if (pending === undefined || pending.input.kind === "get") return;
    this.history.push({ client: client.name, input: pending.input, output: undefined, callAt: pending.callAt, returnAt: Number.POSITIVE_INFINITY });
  }

  private later(client: Client): void {
    this.options.clock.setTimer(1 + this.options.random.int(this.options.thinkMs), () => this.issue(client));
  }
}
