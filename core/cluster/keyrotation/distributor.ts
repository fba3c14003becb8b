/**
 * Delivery of the keyring to the nodes whose dispatcher sessions a manager serves, until each
 * acknowledges it. Pure: the dispatcher calls `connect`, `acknowledge`, `disconnect` and
 * `tick(now)` and sends the deliveries returned; the network may lose, repeat or reorder them.
 *
 * A node's acknowledgement names the version it holds, so a lost acknowledgement costs one
 * resend and a repeated or late one is harmless. A manager that applies a rotation delivers the
 * new keyring to every session on its next tick; an unacknowledged delivery is resent every
 * `distributionRetry`.
 */
import type { KeyringSource, NodeBoxIdentity } from "./manager.ts";

/** One keyring to send over a node's session. */
export interface KeyringDelivery {
  nodeId: string;
  version: number;
  sealed: Uint8Array;
}

interface Session {
  node: NodeBoxIdentity;
  acknowledged: number;
  sentVersion: number;
  sentAt: number;
}

/** Per-manager bookkeeping of which session holds which keyring version. */
export class KeyDistributor {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly manager: KeyringSource,
    private readonly retryInterval: number,
  ) {}

  /**
   * A node opened (or reopened) its session, reporting the version it holds. It is always sent
   * the current keyring at once: a node coming back knows it is current only when told so.
   */
  connect(node: NodeBoxIdentity, installedVersion: number, now: number): KeyringDelivery[] {
    const session: Session = { node, acknowledged: installedVersion, sentVersion: 0, sentAt: now };
    this.sessions.set(node.nodeId, session);
    return this.manager.version() === 0 ? [] : [this.deliver(session, now)];
  }

  /** The node's session ended; nothing more is sent to it. */
  disconnect(nodeId: string): void {
    this.sessions.delete(nodeId);
  }

  /** The node reports holding `version`. */
  acknowledge(nodeId: string, version: number): void {
    const session = this.sessions.get(nodeId);
    if (session && version > session.acknowledged) session.acknowledged = version;
  }

  /** The nodes served and whether each holds the current version, for status. */
  sessionStates(): { nodeId: string; acknowledged: number; current: boolean }[] {
    const version = this.manager.version();
    return [...this.sessions.values()].map(({ node, acknowledged }) => ({ nodeId: node.nodeId, acknowledged, current: acknowledged >= version }));
  }

  /** Deliveries due at `now`: a newer keyring than last sent, or a resend after `retryInterval`. */
  tick(now: number): KeyringDelivery[] {
    const version = this.manager.version();
    const due: KeyringDelivery[] = [];
    for (const session of this.sessions.values()) {
      if (session.acknowledged >= version) continue;
      if (session.sentVersion < version || now >= session.sentAt + this.retryInterval) due.push(this.deliver(session, now));
    }
    return due;
  }

  private deliver(session: Session, now: number): KeyringDelivery {
    const version = this.manager.version();
    session.sentVersion = version;
    session.sentAt = now;
    return { nodeId: session.node.nodeId, version, sealed: this.manager.keyringFor(session.node) };
  }
}
