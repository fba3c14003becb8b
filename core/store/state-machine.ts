/**
 * The contract between the replica driver and whatever state Raft replicates. The driver hands
 * over committed commands in log order; the state machine applies them and records the applied
 * index in the same atomic write, so after a crash the state and its index always agree and the
 * driver replays exactly the entries after it.
 */
import type { Snapshot } from "../raft/types.ts";

/** One committed command: the log index it was committed at and its opaque bytes. */
export interface Command {
  index: number;
  data: Uint8Array;
}

/** A deterministic state machine driven by the Raft log. `R` is what applying one command yields. */
export interface StateMachine<R> {
  /** The index of the last log entry reflected in the state (0 for a fresh state). */
  appliedIndex(): number;
  /**
   * Applies `commands` in order and records `appliedIndex` (the last log index covered, which
   * may be past the last command when no-op or membership entries followed) atomically with
   * the state. Must be deterministic: a command it cannot parse yields an error result on every
   * replica alike rather than throwing.
   */
  apply(commands: readonly Command[], appliedIndex: number): R[];
  /**
   * Resolves once everything applied before the call is durable (fsync), without blocking the
   * caller's thread meanwhile: the log up to that point may then be compacted.
   */
  sync(): Promise<void>;
  /**
   * The whole state as of `appliedIndex()`, as bytes for a Raft snapshot. The bytes carry that
   * index: a snapshot's data may be newer than its metadata's index (see `DurableStorage.snapshot`).
   */
  snapshot(): Uint8Array;
  /**
   * Replaces the whole state with a snapshot's; the applied index becomes the one recorded in
   * the data, or the snapshot's index if that is higher.
   */
  restore(snapshot: Snapshot): void;
  /** Releases files; the object must not be used afterwards. */
  close(): void;
}
