export type BuildPhase = 'fetching-artifact' | 'scheduling' | 'building' | 'pushing';

/**
 * Decides which progress lines a person sees: every change of phase, then within a phase that moves bytes one
 * line about every 10% and at least every 5 s while bytes move, and the line that completes it. Pure apart from
 * the injected clock.
 */
export class ProgressThrottle {
  readonly #now: () => number;
  readonly #intervalMs: number;
  #phase: BuildPhase | undefined;
  #decile = -1;
  #at = 0;
  #done = -1;

  constructor(now: () => number, intervalMs = 5_000) {
    this.#now = now;
    this.#intervalMs = intervalMs;
  }

  admit(phase: BuildPhase, done?: number, total?: number): boolean {
    const now = this.#now();
    if (phase !== this.#phase) {
      this.#phase = phase;
      this.#decile = total && done !== undefined ? Math.floor((done / total) * 10) : 0;
      this.#at = now;
      this.#done = done ?? -1;
      return true;
    }
    if (done === undefined || done === this.#done) return false;
    const decile = total ? Math.floor((done / total) * 10) : -1;
    const finished = total !== undefined && done >= total;
    if (decile > this.#decile || finished || now - this.#at >= this.#intervalMs) {
      this.#decile = decile;
      this.#at = now;
      this.#done = done;
      return true;
    }
    return false;
  }
}
