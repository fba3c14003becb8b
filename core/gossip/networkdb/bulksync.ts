/**
 * Splitting one network's state into bulk-sync messages: attachment records first, then
 * entries, each message under a byte cap, only the first asking for a reply (one reply per
 * request, however many parts it came in). Receivers merge every part on its own, so parts
 * may arrive in any order.
 */
import { encodeCbor } from "../../common/envelope.ts";
import { encodeMessage } from "./codec.ts";
import type { AttachmentRecord, BulkSyncMessage, EntryRecord } from "./types.ts";

/** Room for the two list headers (at most 5 bytes each) that grow as records are added. */
const listHeaders = 10;

/** Encodes `attachments` and `entries` of `network` as bulk-sync messages of at most `maxBytes`. */
export function packBulkSync(
  header: { from: string; network: string; reply: boolean },
  attachments: readonly AttachmentRecord[],
  entries: readonly EntryRecord[],
  maxBytes: number,
): Uint8Array[] {
  const empty: BulkSyncMessage = { type: "bulk", ...header, attachments: [], entries: [] };
  const budget = maxBytes - encodeMessage(empty).length - listHeaders;
  const messages: Uint8Array[] = [];
  let part = { attachments: [] as AttachmentRecord[], entries: [] as EntryRecord[], size: 0 };
  const finishPart = () => {
    messages.push(encodeMessage({ ...empty, reply: header.reply && messages.length === 0, attachments: part.attachments, entries: part.entries }));
    part = { attachments: [], entries: [], size: 0 };
  };
  const add = (size: number, push: () => void) => {
    if (part.size + size > budget && part.size > 0) finishPart();
    push();
    part.size += size;
  };
  for (const record of attachments) add(encodeCbor(record).length, () => part.attachments.push(record));
  for (const record of entries) add(encodeCbor(record).length, () => part.entries.push(record));
  finishPart();
  return messages;
}
