/**
 * What the dispatcher learns for gossip, shared by the two subsystems: the keyring (the
 * dispatcher installs what managers deliver, gossip seals and opens with it) and the gossip
 * address of the manager serving the session (gossip joins through it). Installing into the
 * same `Keyring` object that the packet seal reads means a rotation applies to the next packet,
 * with no window in which a key a peer already uses is missing.
 */
import { Keyring } from "../../secure/keyring.ts";

/** The keyring, who waits for its next version, and the manager to join gossip through. */
export class SharedGossipState {
  /** The gossip address of the manager serving this node's session, when known and gossiping. */
  seed: string | undefined;
  private current = new Keyring();
  private installedVersion = 0;
  private readonly listeners = new Set<(version: number) => void>();

  /** The keyring to seal and open with (replaced when the node enters another cluster). */
  get keyring(): Keyring {
    return this.current;
  }

  /** The version last installed (0: none yet, the node cannot gossip). */
  get version(): number {
    return this.installedVersion;
  }

  /** Records that `version` is installed and tells the listeners. */
  installed(version: number): void {
    this.installedVersion = version;
    for (const listener of this.listeners) listener(version);
  }

  /** Forgets every key and the seed (the node entered another cluster). */
  reset(): void {
    this.current = new Keyring();
    this.installedVersion = 0;
    this.seed = undefined;
  }

  /** Calls `listener` after each install; returns an unsubscribe. */
  onInstalled(listener: (version: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
