/**
 * The node side of gossip key rotation: every node (managers included) receives the keyring over
 * its dispatcher session, checks it and installs it. A keyring is complete — every key the
 * cluster keeps — so a node that missed any number of rotations is current after one delivery:
 * it opens what others seal (they seal with a key in it) and others open what it seals (its
 * primary is the cluster's primary, which every other node already holds).
 */
import type nacl from "tweetnacl";
import { ShoalError } from "../../common/errors.ts";
import type { Keyring } from "../../secure/keyring.ts";
import { type GossipKey, keyIdOf, primaryKey } from "./state.ts";
import { KeyringError, type KeyringRejection, openKeyring, type OpenKeyringOptions, SharedKeys } from "./sealing.ts";

/** One key to install, with its header id. */
export interface KeyToInstall {
  id: string;
  serial: number;
  key: Uint8Array;
}

/** A validated keyring, ready for `installKeyring`. */
export interface ReceivedKeyring {
  /** The newest key's serial; nodes acknowledge it. */
  version: number;
  /** Oldest first. */
  keys: KeyToInstall[];
  /** The id of the key to seal with. */
  primary: string;
}

/** The outcome of `receiveKeyring`. */
export type ReceiveResult =
  | { status: "installed"; keyring: ReceivedKeyring }
  /** The node already holds this version (a duplicate or repeated delivery): nothing to do. */
  | { status: "current"; version: number }
  | { status: "rejected"; reason: KeyringRejection; message: string };

/** What a receiver needs. */
export interface KeyringReceiverOptions extends Omit<OpenKeyringOptions, "boxKeys"> {
  /** The node's box key pair (its public half is in its certificate). */
  boxKeys: nacl.BoxKeyPair;
  /** The version restored from disk, if any. */
  installedVersion?: number;
}

/** Tracks the keyring version a node holds and validates keyrings delivered to it. */
export class KeyringReceiver {
  private installed: number;
  private lastInstalledAt: number | undefined;
  private readonly openOptions: OpenKeyringOptions;

  constructor(options: KeyringReceiverOptions) {
    this.installed = options.installedVersion ?? 0;
    this.openOptions = { ...options, boxKeys: new SharedKeys(options.boxKeys) };
  }

  /** The version installed (0 before the first keyring); sent as the acknowledgement. */
  version(): number {
    return this.installed;
  }

  /** When the last keyring was accepted, for status and metrics; undefined before the first. */
  installedAt(): number | undefined {
    return this.lastInstalledAt;
  }

  /**
   * Opens and validates a sealed keyring. A newer version is returned for installation (and
   * counts as installed from now on); the same version is `current`; an older one, or anything
   * malformed, wrongly sealed or meant for another node or cluster, is rejected with the reason.
   */
  receiveKeyring(sealed: Uint8Array, now: number): ReceiveResult {
    let payload;
    try {
      payload = openKeyring(sealed, this.openOptions);
    } catch (error) {
      if (error instanceof KeyringError) return { status: "rejected", reason: error.reason, message: error.message };
      throw error;
    }
    // openKeyring guarantees at least one key.
    const primary = primaryKey(payload.keys) as GossipKey;
    const version = (payload.keys.at(-1) as GossipKey).serial;
    if (version === this.installed) return { status: "current", version };
    if (version < this.installed) {
      return { status: "rejected", reason: "stale", message: `keyring version ${version} is older than the installed ${this.installed}` };
    }
    this.installed = version;
    this.lastInstalledAt = now;
    const keys = payload.keys.map(({ serial, key }) => ({ id: keyIdOf(serial), serial, key }));
    return { status: "installed", keyring: { version, keys, primary: keyIdOf(primary.serial) } };
  }
}

/**
 * Makes `keyring` hold exactly the received keys with the received primary: installs the new
 * keys, switches the primary, then removes the keys the cluster no longer keeps — in that order,
 * so there is no moment without a primary or without a key a peer may still use. Checks every
 * key id first, so a conflicting keyring changes nothing (a conflict means the keyring comes from
 * another key history, e.g. another cluster's, since serials never repeat within one).
 */
export function installKeyring(keyring: Keyring, received: ReceivedKeyring): void {
  for (const { id, key } of received.keys) {
    const existing = keyring.lookup(Buffer.from(id, "hex"));
    if (existing && !Buffer.from(existing.key).equals(Buffer.from(key))) {
      throw new ShoalError("key_conflict", "keyring reuses an installed key id for a different key", { id });
    }
  }
  for (const { id, key } of received.keys) keyring.install(key, { id });
  keyring.use(received.primary);
  const kept = new Set(received.keys.map(({ id }) => id));
  for (const { id } of keyring.list()) if (!kept.has(id)) keyring.remove(id);
}
