/**
 * The gossip keyring: the symmetric keys that seal every gossip packet (see `seal.ts`).
 *
 * One key is primary and seals what this node sends; every installed key opens what it
 * receives, so a rotation is `install` on every node, then `use` on every node, then `remove`
 * of the old key — at no step does a node receive a packet it cannot open.
 *
 * Key ids: each key has a 4-byte id; its last bytes travel in clear in every packet header as the
 * key tag (`seal.ts`), so a receiver tries only the keys with that tag. By default the id is the first 4 bytes of SHA-256 of the key (stable across
 * nodes without coordination, and it reveals nothing usable about the key); an explicit id may be
 * given instead, e.g. by a leader that numbers its rotations. Ids are shown as 8 hex digits.
 */
import { createHash } from "node:crypto";
import nacl from "tweetnacl";
import { ShoalError } from "../common/errors.ts";

/** Length in bytes of every gossip key (NaCl secretbox keys). */
export const GOSSIP_KEY_BYTES = 32;
/** Length in bytes of a key id (its last bytes travel in packet headers as the key tag). */
export const KEY_ID_BYTES = 4;

/** What `list()` reports about one installed key; never the key itself. */
export interface KeyInfo {
  /** The key id as 8 lowercase hex digits. */
  id: string;
  /** True for the key that seals outgoing packets. */
  primary: boolean;
}

/** An installed key with its id, as the sealer needs it. */
export interface InstalledKey {
  /** The key id as 8 lowercase hex digits. */
  id: string;
  /** The key id as bytes (the packet header carries its last bytes, the key tag). */
  idBytes: Uint8Array;
  /** The 32-byte secretbox key. */
  key: Uint8Array;
}

/** Derives the default id of `key`: the first 4 bytes of its SHA-256, as hex. */
export function defaultKeyId(key: Uint8Array): string {
  return createHash("sha256").update(key).digest("hex").slice(0, KEY_ID_BYTES * 2);
}

/** Converts a key id's header bytes to its hex form. */
export function keyIdToHex(idBytes: Uint8Array): string {
  return Buffer.from(idBytes).toString("hex");
}

/** Decodes a base64 gossip key (the form used in key files and on the CLI), checking its length. */
export function decodeGossipKey(base64: string): Uint8Array {
  const text = base64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new ShoalError("key_invalid", "gossip key is not base64");
  const key = new Uint8Array(Buffer.from(text, "base64"));
  if (key.length !== GOSSIP_KEY_BYTES) {
    throw new ShoalError("key_invalid", `gossip key must be ${GOSSIP_KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/** Encodes a gossip key as base64. */
export function encodeGossipKey(key: Uint8Array): string {
  return Buffer.from(key).toString("base64");
}

const HEX_ID = new RegExp(`^[0-9a-f]{${KEY_ID_BYTES * 2}}$`);

/** The set of installed gossip keys and which one is primary. */
export class Keyring {
  private readonly keys = new Map<string, InstalledKey>();
  private primaryId: string | undefined;

  /**
   * Builds a keyring from keys in order; the first becomes primary.
   * An empty list gives an empty keyring, which can neither seal nor open.
   */
  static of(keys: readonly Uint8Array[]): Keyring {
    const ring = new Keyring();
    // `install` makes the first key of an empty keyring primary.
    for (const key of keys) ring.install(key);
    return ring;
  }

  /**
   * Installs `key` (32 bytes) so that packets sealed with it are accepted. Installing a key that
   * is already present is a no-op; reusing an id for a different key is refused. The first key
   * installed into an empty keyring becomes primary. Returns the key's id.
   */
  install(key: Uint8Array, options: { id?: string } = {}): string {
    if (key.length !== GOSSIP_KEY_BYTES) {
      throw new ShoalError("key_invalid", `gossip key must be ${GOSSIP_KEY_BYTES} bytes, got ${key.length}`);
    }
    const id = options.id ?? defaultKeyId(key);
    if (!HEX_ID.test(id)) throw new ShoalError("key_invalid", `key id must be ${KEY_ID_BYTES * 2} lowercase hex digits`, { id });
    const existing = this.keys.get(id);
    if (existing) {
      if (!nacl.verify(existing.key, key)) throw new ShoalError("key_conflict", "a different key is installed under this id", { id });
      return id;
    }
    this.keys.set(id, { id, idBytes: new Uint8Array(Buffer.from(id, "hex")), key: Uint8Array.from(key) });
    this.primaryId ??= id;
    return id;
  }

  /** Makes the installed key `id` primary: outgoing packets are sealed with it from now on. */
  use(id: string): void {
    if (!this.keys.has(id)) throw new ShoalError("key_unknown", "no installed gossip key has this id", { id });
    this.primaryId = id;
  }

  /** Removes the installed key `id`; the primary key cannot be removed (`use` another first). */
  remove(id: string): void {
    if (!this.keys.has(id)) throw new ShoalError("key_unknown", "no installed gossip key has this id", { id });
    if (id === this.primaryId) throw new ShoalError("key_primary", "the primary gossip key cannot be removed; use another key first", { id });
    this.keys.delete(id);
  }

  /** Lists installed keys (ids only), primary first. */
  list(): KeyInfo[] {
    const infos = [...this.keys.keys()].map((id) => ({ id, primary: id === this.primaryId }));
    return infos.sort((a, b) => Number(b.primary) - Number(a.primary) || a.id.localeCompare(b.id));
  }

  /** The key that seals outgoing packets, or undefined for an empty keyring. */
  primary(): InstalledKey | undefined {
    return this.primaryId === undefined ? undefined : this.keys.get(this.primaryId);
  }

  /** The installed key whose id is `idBytes`, if any. */
  lookup(idBytes: Uint8Array): InstalledKey | undefined {
    return this.keys.get(keyIdToHex(idBytes));
  }

  /** The installed keys whose id ends with `tag` (a packet header's key tag), usually one. */
  withTag(tag: Uint8Array): InstalledKey[] {
    const found: InstalledKey[] = [];
    for (const key of this.keys.values()) {
      if (nacl.verify(key.idBytes.subarray(key.idBytes.length - tag.length), tag)) found.push(key);
    }
    return found;
  }
}
