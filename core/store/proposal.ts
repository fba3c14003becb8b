/**
 * The wrapper the replica puts around every command it proposes: a request id next to the
 * command, so the node that accepted a client's request recognises the entry when it commits
 * (whichever leader replicated it) and answers that client with the state machine's result.
 */
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { DecodeError } from "../common/errors.ts";

/** A proposed command and the id of the request waiting for it. */
export interface Proposal {
  /** Unique across the cluster's lifetime: node id, process boot nonce and a counter. */
  requestId: string;
  command: Uint8Array;
}

/** Encodes a proposal as a log entry's data. */
export function encodeProposal(proposal: Proposal): Uint8Array {
  return encodeEnvelope("store.proposal", 1, [proposal.requestId, proposal.command]);
}

/** Decodes a log entry's data; throws `DecodeError` when it is not a proposal. */
export function decodeProposal(data: Uint8Array): Proposal {
  const { body } = decodeEnvelope(data, "store.proposal", [1]);
  if (!Array.isArray(body) || typeof body[0] !== "string" || !(body[1] instanceof Uint8Array)) throw new DecodeError("malformed proposal");
  return { requestId: body[0], command: body[1] };
}
