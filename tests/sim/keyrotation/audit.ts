/**
 * Watches the committed log the way every manager applies it and checks the rotation schedule
 * and the key history: at most three keys, keys never repeat, every rotation lands on its slot
 * (late by at most an election or two, never restarted by a leader change), the next slot is
 * always one interval after the last, and a key becomes primary only after it had time to spread.
 */
import assert from "node:assert";
import { decodeKeyEntry } from "../../../core/cluster/keyrotation/codec.ts";
import type { KeyRotationConfig } from "../../../core/cluster/keyrotation/config.ts";
import { applyKeyEntry, EMPTY_KEY_STATE, type GossipKeyState, KEYS_KEPT, primaryKey } from "../../../core/cluster/keyrotation/state.ts";
import type { CommittedEntry } from "./replicated-log.ts";

/** One applied rotation. */
export interface AuditedRotation {
  serial: number;
  committedAt: number;
  /** When it was due. */
  slot: number;
  /** Brought forward by `rotateNow`. */
  manual: boolean;
}

/** See the module comment. */
export class RotationAudit {
  state: GossipKeyState = EMPTY_KEY_STATE;
  readonly rotations: AuditedRotation[] = [];
  bootstrapAt: number | undefined;
  private readonly seenKeys = new Set<string>();
  private readonly committedAt = new Map<number, number>();
  private rescheduled = false;

  constructor(
    private readonly config: KeyRotationConfig,
    /** How late past its slot a rotation may commit (elections and commit latency). */
    private readonly maxLatenessMs: number,
    /** The longest commit latency, which the install-time check allows for. */
    private readonly commitMaxMs: number,
  ) {}

  /** Applies a committed entry and checks it. */
  observe(entry: CommittedEntry): void {
    const decoded = decodeKeyEntry(entry.data);
    const before = this.state;
    const { state, outcome } = applyKeyEntry(before, decoded);
    this.state = state;
    if (!outcome.applied) return;
    if (decoded.type === "reschedule") {
      if (state.nextRotationAt < before.nextRotationAt) this.rescheduled = true;
      return;
    }
    const at = entry.committedAt;
    assert(state.keys.length <= KEYS_KEPT, `${state.keys.length} keys kept`);
    const hex = Buffer.from(decoded.key).toString("hex");
    assert(!this.seenKeys.has(hex), `key ${decoded.serial} repeats an earlier key`);
    this.seenKeys.add(hex);
    this.committedAt.set(decoded.serial, at);
    if (before.keys.length === 0) {
      this.bootstrapAt = at;
      return;
    }
    const slot = before.nextRotationAt;
    assert(at - slot <= this.maxLatenessMs, `rotation ${decoded.serial} committed ${at - slot} ms after its slot at ${slot}`);
    assert(state.nextRotationAt === slot + this.config.rotationInterval, `after rotation ${decoded.serial} the next slot is ${state.nextRotationAt}, not ${slot} + one interval`);
    const primary = primaryKey(state.keys);
    const spreadFor = at - (this.committedAt.get(primary?.serial ?? 0) ?? at);
    assert(spreadFor >= this.config.installGrace - this.commitMaxMs, `key ${primary?.serial} became primary ${spreadFor} ms after it was committed`);
    this.rotations.push({ serial: decoded.serial, committedAt: at, slot, manual: this.rescheduled });
    this.rescheduled = false;
  }

  /**
   * How many rotations the schedule calls for by `end`: one per interval from the first key,
   * re-anchored at each manual rotation (which counts itself).
   */
  expectedRotations(end: number): number {
    if (this.bootstrapAt === undefined) return 0;
    const anchors = [this.bootstrapAt, ...this.rotations.filter((rotation) => rotation.manual).map((rotation) => rotation.slot)];
    let expected = anchors.length - 1;
    for (const [index, anchor] of anchors.entries()) expected += Math.floor(((anchors[index + 1] ?? end) - anchor) / this.config.rotationInterval);
    return expected;
  }
}
