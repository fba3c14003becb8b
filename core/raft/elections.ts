/**
 * Elections: the election timer, (pre-)campaigns, answering vote requests and counting votes.
 * Pre-votes let a node check it could win before it bumps the term, so a node rejoining from a
 * partition does not depose a healthy leader.
 */
import type { Raft } from "./raft.ts";
import { stepFollower } from "./follower.ts";
import type { Message } from "./types.ts";

/** Marks a vote request sent because of a leadership transfer, which followers honour even inside a leader lease. */
const TRANSFER_CONTEXT = new TextEncoder().encode("raft.transfer");

/** Whether a vote request's context marks it as part of a leadership transfer. */
export function isTransfer(context: Uint8Array | undefined): boolean {
  if (context === undefined || context.length !== TRANSFER_CONTEXT.length) return false;
  return context.every((byte, i) => byte === TRANSFER_CONTEXT[i]);
}

/** A follower's or candidate's tick: campaigns once the randomized election timeout runs out. */
export function tickElection(raft: Raft): void {
  raft.electionElapsed++;
  if (raft.promotable() && raft.electionElapsed >= raft.randomizedElectionTimeout) {
    raft.electionElapsed = 0;
    hup(raft, false);
  }
}

/** Starts a campaign if this node may lead; `transfer` skips the pre-vote and overrides leader leases. */
export function hup(raft: Raft, transfer: boolean): void {
  if (raft.role === "leader" || !raft.promotable() || raft.hasUnappliedConf()) return;
  if (raft.config.preVote && !transfer) campaign(raft, "pre", false);
  else campaign(raft, "election", transfer);
}

function campaign(raft: Raft, kind: "pre" | "election", transfer: boolean): void {
  let term: number;
  if (kind === "pre") {
    raft.becomePreCandidate();
    term = raft.term + 1;
  } else {
    raft.becomeCandidate();
    term = raft.term;
  }
  raft.tracker.recordVote(raft.id, true);
  if (raft.tracker.tally() === "won") {
    if (kind === "pre") campaign(raft, "election", transfer);
    else raft.becomeLeader();
    return;
  }
  const type = kind === "pre" ? "preVote" : "vote";
  for (const voter of raft.tracker.voters) {
    if (voter === raft.id) continue;
    raft.send({ type, to: voter, term, index: raft.log.lastIndex(), logTerm: raft.log.lastTerm(), ...(transfer ? { context: TRANSFER_CONTEXT } : {}) });
  }
}

/** Answers a `vote` or `preVote` request, in any role. */
export function handleVoteRequest(raft: Raft, m: Message): void {
  const responseType = m.type === "vote" ? "voteResp" : "preVoteResp";
  const canVote = raft.vote === m.from || (raft.vote === "" && raft.lead === "") || (m.type === "preVote" && m.term > raft.term);
  if (canVote && raft.log.isUpToDate(m.index, m.logTerm)) {
    // Answer in the request's term, so a pre-candidate can count it.
    raft.send({ type: responseType, to: m.from, term: m.term });
    if (m.type === "vote") {
      raft.electionElapsed = 0;
      raft.vote = m.from;
    } else if (raft.role === "preCandidate" && m.term === raft.term + 1 && m.from < raft.id) {
      // Two pre-candidates that grant each other would both go on to split the vote and
      // wait out another timeout; the one with the greater id steps aside instead. Only
      // the timing of campaigns changes, never who may be elected.
      raft.becomeFollower(raft.term, "");
    }
  } else {
    raft.send({ type: responseType, to: m.from, reject: true });
  }
}

/** A candidate's or pre-candidate's message handling: count votes, or yield to a leader of this term. */
export function stepCandidate(raft: Raft, m: Message): void {
  switch (m.type) {
    case "append":
    case "heartbeat":
    case "snapshot":
      raft.becomeFollower(m.term, m.from);
      stepFollower(raft, m);
      return;
    case "voteResp":
    case "preVoteResp": {
      if ((m.type === "voteResp") !== (raft.role === "candidate")) return;
      raft.tracker.recordVote(m.from, !m.reject);
      const result = raft.tracker.tally();
      if (result === "won") {
        if (raft.role === "preCandidate") campaign(raft, "election", false);
        else raft.becomeLeader();
      } else if (result === "lost") {
        raft.becomeFollower(raft.term, "");
      }
      return;
    }
    default:
      return;
  }
}
