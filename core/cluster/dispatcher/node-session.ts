/**
 * The node side of a dispatcher session, as a pure state machine: the shell feeds it connection
 * events, decoded messages and `tick(now)`, and carries out the actions it returns (dial, send,
 * hang up, install a keyring). It never reads a clock or draws randomness of its own.
 *
 * A node keeps exactly one session, with one manager at a time:
 *
 *   idle --dial--> dialing --connected/open--> opening --accepted--> open
 *     ^                |                          |                    |
 *     +---- failover: dial failed, open timed out, manager silent for missedHeartbeats
 *           periods, connection lost, or the manager closed the session
 *
 * Failover tries the next manager of the round at once; only after a whole round of managers
 * failed does it wait, doubling the wait up to `reconnectBackoffMax`, with jitter so that the
 * nodes of a manager that went away do not all come back in step. Each round starts at a random
 * manager, so nodes spread over the managers; a manager's own node session tries itself last,
 * so it is served by (and joins gossip through) another manager whenever one answers. The list
 * starts from the join token (or the stored managers) and is replaced by each `accepted`.
 */
import { backoffDelay } from "../../common/backoff.ts";
import type { Random } from "../../common/random.ts";
import type { KeyringRejection, KeyringReceiver, ReceivedKeyring } from "../keyrotation/index.ts";
import { type DispatcherConfig, sessionTimeout } from "./config.ts";
import type { ManagerMessage, NodeMessage } from "./messages.ts";

/** What the shell must do. */
export type NodeSessionAction =
  /** Open a secure channel to the manager at `address`, then call `connected` (or `connectionLost`). */
  | { kind: "dial"; address: string }
  | { kind: "send"; address: string; message: NodeMessage }
  /** Close the channel to `address`; no `connectionLost` is expected for it. */
  | { kind: "hangUp"; address: string }
  /** Put this keyring into the gossip keyring (`installKeyring`); the ack is already queued. */
  | { kind: "install"; keyring: ReceivedKeyring }
  /** A delivered keyring was refused; count and log it. */
  | { kind: "keyringRejected"; reason: KeyringRejection; message: string }
  /** The cluster removed this node: it must not reconnect (the session core has stopped). */
  | { kind: "removed" };

/** Where the session is, for `/readyz`, status and metrics. */
export type NodeSessionStatus =
  | { state: "idle"; retryAt: number }
  | { state: "dialing" | "opening"; address: string; since: number }
  | { state: "open"; address: string; sessionId: string; since: number; heartbeatPeriod: number; managerGossipAddress: string }
  | { state: "removed" };

/** What a `NodeSession` needs. */
export interface NodeSessionOptions {
  nodeId: string;
  config: DispatcherConfig;
  random: Random;
  /** The node's keyring receiver (`KeyringReceiver`), which validates delivered keyrings. */
  keyring: Pick<KeyringReceiver, "version" | "receiveKeyring">;
  /** Managers' secure channel addresses to start from (the token's, or those stored). */
  managers: readonly string[];
  /** This node's own cluster address, when it is a manager: tried last. */
  ownAddress?: string;
}

type Phase =
  | { state: "idle"; retryAt: number }
  | { state: "dialing" | "opening"; address: string; since: number }
  | {
      state: "open"; address: string; sessionId: string; since: number; heartbeatPeriod: number; managerGossipAddress: string;
      lastReplyAt: number; nextHeartbeatAt: number; seq: number;
    }
  | { state: "removed" };

/** One node's dispatcher session. */
export class NodeSession {
  private phase: Phase = { state: "idle", retryAt: 0 };
  private managers: string[];
  /** Managers still to try in this round; when it runs out, the node backs off. */
  private round: string[] = [];
  /** Whole rounds of managers that failed in a row, for the backoff. */
  private failedRounds = 0;

  constructor(private readonly options: NodeSessionOptions) {
    this.managers = [...new Set(options.managers)];
  }

  /** The session's state. */
  status(): NodeSessionStatus {
    const phase = this.phase;
    if (phase.state !== "open") return { ...phase };
    const { address, sessionId, since, heartbeatPeriod, managerGossipAddress } = phase;
    return { state: "open", address, sessionId, since, heartbeatPeriod, managerGossipAddress };
  }

  /** The managers the node fails over between. */
  managerAddresses(): readonly string[] {
    return this.managers;
  }

  /** Replaces the manager list (an empty list is ignored: a node never forgets every manager). */
  setManagers(addresses: readonly string[]): void {
    if (addresses.length > 0) this.managers = [...new Set(addresses)];
  }

  /** Advances time: dials when due, heartbeats, and gives up on a silent manager. */
  tick(now: number): NodeSessionAction[] {
    const phase = this.phase;
    const { config } = this.options;
    switch (phase.state) {
      case "idle":
        return now >= phase.retryAt ? this.dialNext(now) : [];
      case "dialing":
      case "opening":
        return now >= phase.since + config.openTimeout ? this.failover(now, true) : [];
      case "open": {
        if (now >= phase.lastReplyAt + sessionTimeout(phase.heartbeatPeriod, config)) return this.failover(now, true);
        if (now < phase.nextHeartbeatAt) return [];
        phase.nextHeartbeatAt = now + phase.heartbeatPeriod;
        phase.seq++;
        return [{ kind: "send", address: phase.address, message: { type: "heartbeat", sessionId: phase.sessionId, seq: phase.seq } }];
      }
      case "removed":
        return [];
    }
  }

  /** The channel to `address` is up: ask for a session. */
  connected(address: string, now: number): NodeSessionAction[] {
    const phase = this.phase;
    if (phase.state !== "dialing" || phase.address !== address) return [{ kind: "hangUp", address }];
    this.phase = { state: "opening", address, since: now };
    return [{ kind: "send", address, message: { type: "open", nodeId: this.options.nodeId, keyringVersion: this.options.keyring.version() } }];
  }

  /** The channel to `address` failed or closed. */
  connectionLost(address: string, now: number): NodeSessionAction[] {
    const phase = this.phase;
    if (phase.state === "idle" || phase.state === "removed" || phase.address !== address) return [];
    return this.failover(now, false);
  }

  /** A message from the manager at `address`. */
  receive(address: string, message: ManagerMessage, now: number): NodeSessionAction[] {
    const phase = this.phase;
    if (phase.state === "idle" || phase.state === "removed" || phase.address !== address) return [];
    if (message.type === "closed") {
      if (message.reason !== "removed") return this.failover(now, true);
      this.phase = { state: "removed" };
      return [{ kind: "hangUp", address }, { kind: "removed" }];
    }
    if (message.type === "accepted") {
      if (phase.state !== "opening") return [];
      this.setManagers(message.managers.map((manager) => manager.address));
      this.round = [];
      this.failedRounds = 0;
      const { sessionId, heartbeatPeriod, gossipAddress: managerGossipAddress } = message;
      this.phase = { state: "open", address, sessionId, since: now, heartbeatPeriod, managerGossipAddress, lastReplyAt: now, nextHeartbeatAt: now + heartbeatPeriod, seq: 0 };
      return [];
    }
    if (phase.state !== "open" || message.sessionId !== phase.sessionId) return [];
    phase.lastReplyAt = now;
    if (message.type === "managers") {
      this.setManagers(message.managers.map((manager) => manager.address));
      return [];
    }
    if (message.type === "heartbeatAck") {
      if (message.heartbeatPeriod !== phase.heartbeatPeriod) {
        phase.heartbeatPeriod = message.heartbeatPeriod;
        phase.nextHeartbeatAt = Math.min(phase.nextHeartbeatAt, now + message.heartbeatPeriod);
      }
      return [];
    }
    return this.receiveKeyring(phase.address, phase.sessionId, message.sealed, now);
  }

  private receiveKeyring(address: string, sessionId: string, sealed: Uint8Array, now: number): NodeSessionAction[] {
    const result = this.options.keyring.receiveKeyring(sealed, now);
    if (result.status === "rejected") return [{ kind: "keyringRejected", reason: result.reason, message: result.message }];
    const version = result.status === "installed" ? result.keyring.version : result.version;
    const ack: NodeSessionAction = { kind: "send", address, message: { type: "keyringAck", sessionId, version } };
    return result.status === "installed" ? [{ kind: "install", keyring: result.keyring }, ack] : [ack];
  }

  /** Leaves the current manager and tries the next one, or waits when a whole round failed. */
  private failover(now: number, hangUp: boolean): NodeSessionAction[] {
    const phase = this.phase;
    const actions: NodeSessionAction[] = hangUp && phase.state !== "idle" && phase.state !== "removed" ? [{ kind: "hangUp", address: phase.address }] : [];
    // A session that worked until now: every other manager gets a try at once.
    if (phase.state === "open") this.round = this.newRound().filter((address) => address !== phase.address);
    if (this.round.length > 0) return [...actions, ...this.dialNext(now)];
    const { config, random } = this.options;
    this.failedRounds++;
    const wait = backoffDelay(this.failedRounds, { minMs: config.reconnectBackoffMin, maxMs: config.reconnectBackoffMax }, random);
    this.phase = { state: "idle", retryAt: now + wait };
    return actions;
  }

  private dialNext(now: number): NodeSessionAction[] {
    if (this.round.length === 0) this.round = this.newRound();
    const address = this.round.shift();
    if (address === undefined) {
      this.phase = { state: "idle", retryAt: now + this.options.config.reconnectBackoffMax };
      return [];
    }
    this.phase = { state: "dialing", address, since: now };
    return [{ kind: "dial", address }];
  }

  /** Every manager once: the others from a random one on, then this node itself. */
  private newRound(): string[] {
    const own = this.options.ownAddress;
    const others = this.managers.filter((address) => address !== own);
    const start = others.length === 0 ? 0 : this.options.random.int(others.length);
    const self = own !== undefined && this.managers.includes(own) ? [own] : [];
    return [...others.slice(start), ...others.slice(0, start), ...self];
  }
}
