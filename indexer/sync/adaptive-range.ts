// Block-range sizing for eth_getLogs: grows after a success, halves after a provider's range error or a timeout.
export interface AdaptiveRangeOptions {
  /** blocks per request at start (default 2_000) */
  initial?: number;
  /** floor (default 1) */
  min?: number;
  /** ceiling (default 100_000) */
  max?: number;
  /** growth factor after a success (default 2) */
  growth?: number;
}

export class AdaptiveRange {
  size: number;
  readonly min: number;
  readonly max: number;
  private readonly growth: number;

  constructor(o: AdaptiveRangeOptions = {}) {
    this.min = o.min ?? 1;
    this.max = o.max ?? 100_000;
    this.growth = o.growth ?? 2;
    this.size = Math.min(this.max, Math.max(this.min, o.initial ?? 2_000));
  }

  grow(): void {
    this.size = Math.min(this.max, Math.ceil(this.size * this.growth));
  }

  /** @returns false when already at the floor: the range cannot shrink further */
  shrink(): boolean {
    if (this.size <= this.min) return false;
    this.size = Math.max(this.min, Math.floor(this.size / 2));
    return true;
  }
}
