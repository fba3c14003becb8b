/**
 * A replicated key-value state machine (put, get, delete) over SQLite, used by the raft tests
 * and the benchmark, and the shape the cluster-state machine follows.
 *
 * The state lives in `<dataDir>/kv.db` with the applied index in the same file, written in one
 * transaction per batch. That file uses `synchronous=NORMAL`: a power loss may drop the last
 * applied batches, but never tears one, and the raft log (fsynced) replays what was lost.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { DecodeError, describeError } from "../common/errors.ts";
import { record } from "../common/record.ts";
import type { Snapshot } from "../raft/types.ts";
import { checkpointInBackground, configureWal } from "./checkpoint.ts";
import type { Command, StateMachine } from "./state-machine.ts";
import { syncSqliteFile } from "./wal-sync.ts";

/** A KV command, CBOR-encoded in a `kv.cmd` envelope. */
export type KvCommand = { op: "put"; key: string; value: Uint8Array } | { op: "delete"; key: string };

/** The outcome of one command: `ok`, or the reason a malformed command was refused. */
export type KvResult = { ok: true; existed: boolean } | { ok: false; error: string };

/** Longest key accepted, in characters. */
export const MAX_KEY_LENGTH = 1024;

/** Encodes a command for `propose`. */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  return encodeEnvelope("kv.cmd", 1, command);
}

/** Decodes and validates a command; throws `DecodeError` on anything malformed. */
export function decodeKvCommand(bytes: Uint8Array): KvCommand {
  const { body } = decodeEnvelope(bytes, "kv.cmd", [1]);
  const command = record(body, "kv command");
  if (typeof command.key !== "string" || command.key.length === 0 || command.key.length > MAX_KEY_LENGTH) {
    throw new DecodeError(`kv command key must be a string of 1..${MAX_KEY_LENGTH} characters`);
  }
  if (command.op === "put") {
    if (!(command.value instanceof Uint8Array)) throw new DecodeError("kv put value must be bytes");
    return { op: "put", key: command.key, value: command.value };
  }
  if (command.op === "delete") return { op: "delete", key: command.key };
  throw new DecodeError(`unknown kv op ${String(command.op).slice(0, 20)}`);
}

/** The KV state machine of one node, durable in `<dataDir>/kv.db`. */
export class KvStateMachine implements StateMachine<KvResult> {
  private readonly db: Database;
  private readonly path: string;
  private applied: number;
  private readonly stopCheckpoints: () => void;

  /** Opens (creating when missing) the state in `dataDir`. */
  constructor(dataDir: string) {
    this.path = join(dataDir, "kv.db");
    this.db = new Database(this.path, { create: true, strict: true });
    configureWal(this.db, "NORMAL");
    this.db.run("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)");
    this.db.run("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    const row = this.db.query("SELECT value FROM meta WHERE name = 'applied'").get() as { value: number } | null;
    this.applied = row?.value ?? 0;
    this.stopCheckpoints = checkpointInBackground(this.path);
  }

  appliedIndex(): number {
    return this.applied;
  }

  apply(commands: readonly Command[], appliedIndex: number): KvResult[] {
    const put = this.db.query("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)");
    const remove = this.db.query("DELETE FROM kv WHERE key = ?");
    const exists = this.db.query("SELECT 1 FROM kv WHERE key = ?");
    const results = this.db.transaction(() => {
      const out: KvResult[] = [];
      for (const { data } of commands) {
        let command: KvCommand;
        try {
          command = decodeKvCommand(data);
        } catch (error) {
          out.push({ ok: false, error: describeError(error) });
          continue;
        }
        const existed = exists.get(command.key) !== null;
        if (command.op === "put") put.run(command.key, command.value);
        else remove.run(command.key);
        out.push({ ok: true, existed });
      }
      this.writeApplied(appliedIndex);
      return out;
    })();
    this.applied = appliedIndex;
    return results;
  }

  /** The value of `key` in the applied state, or undefined. */
  get(key: string): Uint8Array | undefined {
    const row = this.db.query("SELECT value FROM kv WHERE key = ?").get(key) as { value: Uint8Array } | null;
    return row?.value;
  }

  /** Number of keys held. */
  size(): number {
    return (this.db.query("SELECT count(*) AS n FROM kv").get() as { n: number }).n;
  }

  snapshot(): Uint8Array {
    const rows = this.db.query("SELECT key, value FROM kv ORDER BY key").values() as [string, Uint8Array][];
    return encodeEnvelope("kv.snapshot", 1, { applied: this.applied, pairs: rows });
  }

  restore(snapshot: Snapshot): void {
    const body = decodeSnapshot(snapshot.data);
    const applied = Math.max(snapshot.meta.index, body.applied);
    const insert = this.db.query("INSERT INTO kv (key, value) VALUES (?, ?)");
    this.db.transaction(() => {
      this.db.run("DELETE FROM kv");
      for (const [key, value] of body.pairs) insert.run(key, value);
      this.writeApplied(applied);
    })();
    this.applied = applied;
  }

  sync(): Promise<void> {
    return syncSqliteFile(this.path);
  }

  close(): void {
    this.stopCheckpoints();
    this.db.close();
  }

  private writeApplied(index: number): void {
    this.db.query("INSERT OR REPLACE INTO meta (name, value) VALUES ('applied', ?)").run(index);
  }
}

/** Validates a KV snapshot body (an empty snapshot is the empty state). */
function decodeSnapshot(data: Uint8Array): { applied: number; pairs: [string, Uint8Array][] } {
  if (data.length === 0) return { applied: 0, pairs: [] };
  const { body } = decodeEnvelope(data, "kv.snapshot", [1]);
  const { applied, pairs } = (body ?? {}) as { applied?: unknown; pairs?: unknown };
  if (!Number.isSafeInteger(applied) || (applied as number) < 0) throw new DecodeError("kv snapshot has no applied index");
  if (!Array.isArray(pairs)) throw new DecodeError("kv snapshot has no pairs");
  for (const pair of pairs) {
    if (!Array.isArray(pair) || typeof pair[0] !== "string" || !(pair[1] instanceof Uint8Array)) throw new DecodeError("kv snapshot pair is malformed");
  }
  return { applied: applied as number, pairs: pairs as [string, Uint8Array][] };
}
