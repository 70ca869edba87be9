import type { Clock } from '../../src/core/clock';

/** A clock that moves only when the test says so. */
export class ManualClock {
  constructor(private current = new Date('2026-11-23T10:00:00.000Z')) {}
  readonly now: Clock = () => new Date(this.current);
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
