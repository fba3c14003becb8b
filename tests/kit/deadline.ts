/**
 * One virtual-clock timer per simulated process, armed for the earliest deadline its core has
 * asked for. Pure cores report `nextDeadline()`; the simulation calls `schedule()` after every
 * input, and the timer moves earlier when needed but never fires twice for one deadline.
 */
import type { TimerId, VirtualClock } from "./clock.ts";

/** A re-armable timer that keeps only the earliest requested deadline. */
export class DeadlineTimer {
  private timer: TimerId | undefined;
  private scheduledAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: VirtualClock,
    /** Runs when the deadline arrives (typically: tick the core, then pump its output). */
    private readonly fire: () => void,
  ) {}

  /** Fires at `deadline` (at least 1 ms from now) unless already armed for an earlier time. */
  schedule(deadline: number): void {
    const at = Math.max(deadline, this.clock.now() + 1);
    if (at >= this.scheduledAt) return;
    this.cancel();
    this.scheduledAt = at;
    this.timer = this.clock.setTimer(at - this.clock.now(), () => {
      this.timer = undefined;
      this.scheduledAt = Number.POSITIVE_INFINITY;
      this.fire();
    });
  }

  /** Disarms the timer (a crash or a stall); the next `schedule` arms it again. */
  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.scheduledAt = Number.POSITIVE_INFINITY;
  }
}
