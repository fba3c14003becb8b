/**
 * Membership changes, one server at a time.
 *
 * Shoal uses single-server changes (Raft dissertation §4.1) rather than joint consensus: each
 * change adds or removes at most one voter, so any majority of the old configuration overlaps
 * any majority of the new one. A change takes effect when its entry is applied (as in
 * etcd-io/raft), and the leader accepts a new change only once the previous one is applied.
 * The known hole in single-server changes (a leader of a new term acting on a change while an
 * uncommitted change of an older term is still in some logs) is closed by the usual fix: a new
 * leader first commits the no-op entry of its own term, and it treats that entry as a pending
 * change, so no change is accepted before an entry of its term is committed and applied.
 * Learners are added with `addLearner`, catch up through normal replication (or a snapshot),
 * and are then promoted with `addVoter`.
 */
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { DecodeError } from "../common/errors.ts";
import { record } from "../common/record.ts";
import type { ConfState, NodeId } from "./types.ts";

/** The kind of membership change. */
export type ConfChangeType =
  /** Add a voter, or promote a learner to voter. */
  | "addVoter"
  /** Add a learner, or demote a voter to learner. */
  | "addLearner"
  /** Remove a voter or learner. */
  | "removeNode";

/** A single-server membership change, carried CBOR-encoded in a `conf` entry. */
export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
}

const KIND = "raft.confchange";
const VERSION = 1;
const TYPES: readonly ConfChangeType[] = ["addVoter", "addLearner", "removeNode"];

/** Encodes a change as the data of a `conf` entry. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  return encodeEnvelope(KIND, VERSION, { type: change.type, node: change.node });
}

/** Decodes and validates a `conf` entry's data; throws `DecodeError`. */
export function decodeConfChange(bytes: Uint8Array): ConfChange {
  const { body } = decodeEnvelope(bytes, KIND, [VERSION]);
  const { type, node } = record(body, "conf change");
  if (typeof type !== "string" || !TYPES.includes(type as ConfChangeType)) throw new DecodeError("conf change: unknown type", { type: String(type) });
  if (typeof node !== "string" || node === "") throw new DecodeError("conf change: node must be a non-empty string");
  return { type: type as ConfChangeType, node };
}

/** Why `change` cannot apply to `conf`, or undefined when it can. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | undefined {
  const isVoter = conf.voters.includes(change.node);
  const isLearner = conf.learners.includes(change.node);
  switch (change.type) {
    case "addVoter":
      return isVoter ? `${change.node} is already a voter` : undefined;
    case "addLearner":
      if (isLearner) return `${change.node} is already a learner`;
      if (isVoter && conf.voters.length === 1) return `cannot demote ${change.node}, the last voter`;
      return undefined;
    case "removeNode":
      if (!isVoter && !isLearner) return `${change.node} is not a member`;
      if (isVoter && conf.voters.length === 1) return `cannot remove ${change.node}, the last voter`;
      return undefined;
  }
}

/** The membership after `change`; an inapplicable change leaves it as it was. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  if (confChangeProblem(conf, change) !== undefined) return conf;
  const voters = conf.voters.filter((id) => id !== change.node);
  const learners = conf.learners.filter((id) => id !== change.node);
  if (change.type === "addVoter") voters.push(change.node);
  if (change.type === "addLearner") learners.push(change.node);
  return { voters, learners, votersOutgoing: [] };
}
