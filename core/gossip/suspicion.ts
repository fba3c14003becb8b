/**
 * Lifeguard's suspicion timeout: it starts at its maximum and shrinks toward its minimum as
 * independent members confirm the suspicion, so a member that many see failing is declared dead
 * quickly while one suspected by a single (perhaps struggling) node gets time to refute.
 */
import type { MemberName } from "./types.ts";

/** The bounds of a suspicion timeout in a cluster of `memberCount` members. */
export interface SuspicionBounds {
  min: number;
  max: number;
}

/**
 * memberlist's bounds: `min = suspicionMult * max(1, log10(n)) * probeInterval` and
 * `max = suspicionMaxTimeoutMult * min`, so the timeout grows slowly with the cluster size.
 */
export function suspicionBounds(suspicionMult: number, suspicionMaxTimeoutMult: number, memberCount: number, probeInterval: number): SuspicionBounds {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, memberCount)));
  const min = Math.floor(suspicionMult * nodeScale * probeInterval);
  return { min, max: suspicionMaxTimeoutMult * min };
}

/** How many independent confirmations bring the timeout down to its minimum (memberlist: suspicionMult - 2). */
export function expectedConfirmations(suspicionMult: number, memberCount: number): number {
  const wanted = suspicionMult - 2;
  // In a tiny cluster there are not enough other members to confirm: start at the minimum.
  return memberCount - 2 < wanted ? 0 : wanted;
}

/** One running suspicion of one member. */
export class Suspicion {
  private readonly confirmedBy = new Set<MemberName>();
  private timeout: number;
  /** Whether the suspect has been sent its last call before the verdict (see `Membership`). */
  lastCalled = false;

  /**
   * `accuser` raised the suspicion at `startedAt`; `wanted` confirmations shrink the timeout
   * from `bounds.max` to `bounds.min`.
   */
  constructor(
    accuser: MemberName,
    private readonly wanted: number,
    private readonly bounds: SuspicionBounds,
    private readonly startedAt: number,
  ) {
    this.confirmedBy.add(accuser);
    this.timeout = wanted < 1 ? bounds.min : bounds.max;
  }

  /** When the suspected member is declared dead unless it refutes first. */
  get deadline(): number {
    return this.startedAt + this.timeout;
  }

  /** Independent confirmations so far (the original accuser not counted). */
  get confirmations(): number {
    return this.confirmedBy.size - 1;
  }

  /**
   * Records that `from` also suspects the member. Returns true when this is a new, useful
   * confirmation (worth re-gossiping), false for a repeat or once the minimum is reached.
   */
  confirm(from: MemberName): boolean {
    if (this.confirmations >= this.wanted || this.confirmedBy.has(from)) return false;
    this.confirmedBy.add(from);
    // memberlist's decay: the fraction of the way from max to min grows with log(confirmations + 1).
    const fraction = Math.log(this.confirmations + 1) / Math.log(this.wanted + 1);
    const raw = this.bounds.max - fraction * (this.bounds.max - this.bounds.min);
    this.timeout = Math.max(this.bounds.min, Math.floor(raw));
    return true;
  }
}
