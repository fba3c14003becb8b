/**
 * Wires NetworkDB to the membership core: what SWIM concludes about a member is what NetworkDB
 * needs to hide, restore or drop that member's entries, and NetworkDB's messages travel as
 * membership user messages, sealed and framed like every other gossip packet.
 */
import type { Membership } from "../membership.ts";
import type { GossipEvent } from "../types.ts";
import type { NetworkDb } from "./networkdb.ts";

/**
 * Feeds one membership event to `db`. A suspect member is still alive (it may refute); a dead
 * one is failed (hidden, kept); a member that left is dropped. The membership layer's own reap
 * changes nothing: NetworkDB keeps a failed node's state for its own `nodeReapTimeout`.
 * Membership has already ordered claims by incarnation, so its verdicts are taken as they come
 * (a node reaped by membership may come back at a lower incarnation than it died with).
 */
export function applyMemberEvent(db: NetworkDb, event: GossipEvent): void {
  if (event.type !== "member") return;
  const { name } = event.member;
  switch (event.change) {
    case "join":
    case "alive":
    case "update":
    case "suspect":
      db.memberAlive(name);
      break;
    case "dead":
      db.memberFailed(name);
      break;
    case "leave":
      db.memberLeft(name);
      break;
    case "reap":
      break;
  }
}

/**
 * Hands `db`'s outbox to `membership`: gossip as best-effort datagrams, bulk syncs over a
 * reliable stream. Returns how many messages had no known destination and were dropped (the
 * peer was reaped by membership meanwhile; anti-entropy repairs what they carried).
 */
export function sendOutbox(db: NetworkDb, membership: Pick<Membership, "sendUser" | "sendUserReliable">): number {
  let undeliverable = 0;
  for (const message of db.takeOutbox()) {
    const sent = message.transport === "packet" ? membership.sendUser(message.to, message.bytes) : membership.sendUserReliable(message.to, message.bytes);
    if (!sent) undeliverable += 1;
  }
  return undeliverable;
}
