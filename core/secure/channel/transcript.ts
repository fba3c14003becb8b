/**
 * The handshake's running state, after Noise's SymmetricState: a transcript hash `h` over every
 * byte exchanged, a chaining key `ck` that absorbs each Diffie-Hellman result, and the current
 * sealing key. secretbox has no associated data, so the transcript is bound by deriving each
 * payload's key from both the current key and `h`; since `h` changes with every message, every
 * payload has its own key and the nonce can stay zero.
 */
import nacl from "tweetnacl";
import { concatBytes } from "./bytes.ts";
import { hkdf2, hmacSha512 } from "./kdf.ts";

const KEY_BYTES = nacl.secretbox.keyLength;
const ZERO_NONCE = new Uint8Array(nacl.secretbox.nonceLength);

/** The two directions' keys a finished handshake yields. */
export interface SplitKeys {
  initiatorToResponder: Uint8Array;
  responderToInitiator: Uint8Array;
}

/** Transcript hash, chaining key and payload key of one handshake. */
export class Transcript {
  private hash: Uint8Array;
  private chainingKey: Uint8Array;
  private key: Uint8Array | undefined;

  /** Starts from the protocol name, so two protocol versions never share a transcript. */
  constructor(protocolName: string) {
    this.hash = nacl.hash(new TextEncoder().encode(protocolName));
    this.chainingKey = this.hash;
  }

  /** The transcript hash so far: what each side signs, and a channel binding afterwards. */
  get handshakeHash(): Uint8Array {
    return this.hash;
  }

  /** Absorbs public bytes into the transcript. */
  mixHash(data: Uint8Array): void {
    this.hash = nacl.hash(concatBytes(this.hash, data));
  }

  /** Absorbs a Diffie-Hellman result: new chaining key and payload key. */
  mixKey(sharedSecret: Uint8Array): void {
    const [chainingKey, key] = hkdf2(this.chainingKey, sharedSecret);
    this.chainingKey = chainingKey;
    this.key = key.subarray(0, KEY_BYTES);
  }

  /** Seals `plaintext` under a key bound to the transcript, then absorbs the ciphertext. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = nacl.secretbox(plaintext, ZERO_NONCE, this.payloadKey());
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** Opens a payload sealed by the peer's `encryptAndHash`; undefined when it does not open. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array | undefined {
    const plaintext = nacl.secretbox.open(ciphertext, ZERO_NONCE, this.payloadKey());
    if (plaintext === null) return undefined;
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** The per-direction session keys, from the final chaining key. */
  split(): SplitKeys {
    const [first, second] = hkdf2(this.chainingKey, new Uint8Array(0));
    return { initiatorToResponder: first.slice(0, KEY_BYTES), responderToInitiator: second.slice(0, KEY_BYTES) };
  }

  private payloadKey(): Uint8Array {
    if (this.key === undefined) throw new Error("transcript has no key before the first Diffie-Hellman");
    return hmacSha512(this.key, this.hash).subarray(0, KEY_BYTES);
  }
}
