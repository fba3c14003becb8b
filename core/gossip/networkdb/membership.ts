/**
 * Wires NetworkDB to the membership core's events: what SWIM concludes about a member is what
 * NetworkDB needs to hide, restore or drop that member's entries.
 */
import type { GossipEvent } from "../types.ts";
import type { NetworkDb } from "./networkdb.ts";

/**
 * Feeds one membership event to `db`. A suspect member is still alive (it may refute); a dead
 * one is failed (hidden, kept); a member that left is dropped. The membership layer's own reap
 * changes nothing: NetworkDB keeps a failed node's state for its own `nodeReapTimeout`.
 */
export function applyMemberEvent(db: NetworkDb, event: GossipEvent): void {
  if (event.type !== "member") return;
  const { name, incarnation } = event.member;
  switch (event.change) {
    case "join":
    case "alive":
    case "update":
    case "suspect":
      db.memberAlive(name, incarnation);
      break;
    case "dead":
      db.memberFailed(name, incarnation);
      break;
    case "leave":
      db.memberLeft(name);
      break;
    case "reap":
      break;
  }
}
