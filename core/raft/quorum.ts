/**
 * Majority arithmetic over a set of voters. Membership changes are single-server (see
 * `confchange.ts`), so one majority is always enough: there is no joint quorum.
 */
import type { NodeId } from "./types.ts";

/** The outcome of an election so far. */
export type VoteResult = "won" | "lost" | "pending";

/** Smallest number of voters that forms a majority of `voterCount`. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index replicated on a majority: sort the voters' match indexes descending and
 * take the one at the majority position. 0 when there are no voters.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1] as number;
}

/** Tallies `votes` (granted or not, by voter) among `voters`. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return "won";
  let granted = 0;
  let rejected = 0;
  for (const voter of voters) {
    const vote = votes.get(voter);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const needed = quorumSize(voters.length);
  if (granted >= needed) return "won";
  if (voters.length - rejected < needed) return "lost";
  return "pending";
}

/** Whether the nodes in `acked` include a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], acked: (id: NodeId) => boolean): boolean {
  let count = 0;
  for (const voter of voters) if (acked(voter)) count++;
  return count >= quorumSize(voters.length);
}
