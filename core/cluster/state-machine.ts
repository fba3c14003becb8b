/**
 * The cluster state machine the managers' Raft replica drives: decodes each committed command,
 * applies it with the pure `applyCommand`, and keeps the whole state durable in
 * `<dataDir>/cluster.db` as one CBOR blob written with its applied index in one transaction. The
 * cluster state is small (nodes, tokens, keys), so rewriting it per batch costs less than
 * the fsync of the log entry that carried the batch, and a crash can never tear it.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { DecodeError, describeError } from "../common/errors.ts";
import { record } from "../common/record.ts";
import type { Snapshot } from "../raft/types.ts";
import type { Command, StateMachine } from "../store/state-machine.ts";
import { syncSqliteFile } from "../store/wal-sync.ts";
import { decodeClusterCommand, decodeJoinTokens, decodeNode } from "./codec.ts";
import type { AppliedCommand, ClusterNode, ClusterStateView } from "./contract.ts";
import { decodeKeyState, encodeKeyState } from "./keyrotation/index.ts";
import { applyCommand, EMPTY_CLUSTER_STATE } from "./state.ts";

const SNAPSHOT_KIND = "cluster.state";
const SNAPSHOT_VERSION = 1;

/** What applying one log entry yields: the refusal, when the state machine refused it. */
export type ClusterApplyResult = AppliedCommand | { index: number; refusal: { code: string; message: string }; command?: undefined };

/** The cluster state of one manager, durable in `<dataDir>/cluster.db`. */
export class ClusterStateMachine implements StateMachine<ClusterApplyResult> {
  private readonly db: Database;
  private readonly path: string;
  private current: ClusterStateView;
  private readonly listeners = new Set<(applied: AppliedCommand) => void>();
  private readonly restoreListeners = new Set<(state: ClusterStateView) => void>();

  /** Opens (creating when missing) the state in `dataDir`. */
  constructor(dataDir: string) {
    this.path = join(dataDir, "cluster.db");
    this.db = new Database(this.path, { create: true, strict: true });
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA synchronous = NORMAL");
    this.db.run("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL)");
    const row = this.db.query("SELECT data FROM state WHERE id = 1").get() as { data: Uint8Array } | null;
    this.current = row ? decodeClusterState(row.data) : EMPTY_CLUSTER_STATE;
  }

  /** The state as of the last applied entry. */
  state(): ClusterStateView {
    return this.current;
  }

  /** Calls `listener` after each applied command (refused ones included), in log order. */
  onApplied(listener: (applied: AppliedCommand) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` after a snapshot replaced the state. No command is applied then, so whoever
   * keeps something derived from the state (the transport's peers) must take it from here.
   */
  onRestored(listener: (state: ClusterStateView) => void): () => void {
    this.restoreListeners.add(listener);
    return () => this.restoreListeners.delete(listener);
  }

  appliedIndex(): number {
    return this.current.appliedIndex;
  }

  apply(commands: readonly Command[], appliedIndex: number): ClusterApplyResult[] {
    let state = this.current;
    const results: ClusterApplyResult[] = [];
    for (const { index, data } of commands) {
      let command;
      try {
        command = decodeClusterCommand(data);
      } catch (error) {
        results.push({ index, refusal: { code: "invalid_command", message: describeError(error) } });
        continue;
      }
      const outcome = applyCommand(state, command);
      if (outcome.state) state = outcome.state;
      results.push({ index, command, refusal: outcome.refusal });
    }
    this.save({ ...state, appliedIndex });
    for (const result of results) if (result.command) this.notify(result);
    return results;
  }

  sync(): Promise<void> {
    return syncSqliteFile(this.path);
  }

  snapshot(): Uint8Array {
    return encodeClusterState(this.current);
  }

  restore(snapshot: Snapshot): void {
    const restored = snapshot.data.length === 0 ? EMPTY_CLUSTER_STATE : decodeClusterState(snapshot.data);
    this.save({ ...restored, appliedIndex: Math.max(snapshot.meta.index, restored.appliedIndex) });
    for (const listener of this.restoreListeners) listener(this.current);
  }

  close(): void {
    this.db.close();
  }

  private save(state: ClusterStateView): void {
    this.db.query("INSERT OR REPLACE INTO state (id, data) VALUES (1, ?)").run(encodeClusterState(state));
    this.current = state;
  }

  private notify(applied: AppliedCommand): void {
    for (const listener of this.listeners) listener(applied);
  }
}

/** Encodes the whole state (the snapshot and the stored form alike). */
export function encodeClusterState(state: ClusterStateView): Uint8Array {
  return encodeEnvelope(SNAPSHOT_KIND, SNAPSHOT_VERSION, {
    clusterId: state.clusterId,
    rootPublicKey: state.rootPublicKey,
    appliedIndex: state.appliedIndex,
    nodes: [...state.nodes.values()],
    revokedSerials: [...state.revokedSerials],
    gossipKeys: encodeKeyState(state.gossipKeys),
    joinTokens: state.joinTokens,
  });
}

/** Decodes and validates a stored state or snapshot; throws `DecodeError`. */
export function decodeClusterState(bytes: Uint8Array): ClusterStateView {
  const body = record(decodeEnvelope(bytes, SNAPSHOT_KIND, [SNAPSHOT_VERSION]).body, "cluster state");
  const { clusterId, rootPublicKey, appliedIndex, nodes, revokedSerials, gossipKeys } = body;
  if (typeof clusterId !== "string") throw new DecodeError("cluster state has no cluster id");
  if (!(rootPublicKey instanceof Uint8Array)) throw new DecodeError("cluster state has no root public key");
  if (!Number.isSafeInteger(appliedIndex) || (appliedIndex as number) < 0) throw new DecodeError("cluster state has no applied index");
  if (!Array.isArray(nodes) || !Array.isArray(revokedSerials) || !revokedSerials.every((serial) => typeof serial === "string")) {
    throw new DecodeError("cluster state nodes or revoked serials are malformed");
  }
  if (!(gossipKeys instanceof Uint8Array)) throw new DecodeError("cluster state gossip keys are malformed");
  const decodedNodes = new Map<string, ClusterNode>(nodes.map((node) => decodeNode(node)).map((node) => [node.id, node]));
  return {
    clusterId,
    rootPublicKey: new Uint8Array(rootPublicKey),
    appliedIndex: appliedIndex as number,
    nodes: decodedNodes,
    revokedSerials: new Set(revokedSerials as string[]),
    gossipKeys: decodeKeyState(gossipKeys),
    joinTokens: clusterId === "" ? EMPTY_CLUSTER_STATE.joinTokens : decodeJoinTokens(body.joinTokens),
  };
}
