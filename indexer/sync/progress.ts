// A cli-progress bar during a long interactive backfill (≥ 10 000 blocks, stderr a TTY, not CI); nothing otherwise.
type Bar = { update(n: number): void; stop(): void; start(total: number, n: number): void; setTotal(n: number): void };

export class BackfillProgress {
  private bar: Bar | null = null;

  constructor(
    private readonly startBlock: bigint,
    private readonly wanted: boolean,
  ) {}

  update(from: bigint, head: bigint): void {
    const total = Number(head - this.startBlock + 1n);
    const done = Number(from - this.startBlock);
    if (!this.wanted || total < 10_000) return;
    if (!this.bar) {
      // Loaded lazily: only a long interactive backfill needs it.
      const { SingleBar, Presets } = require("cli-progress") as typeof import("cli-progress");
      this.bar = new SingleBar(
        { format: "backfill [{bar}] {percentage}% | block {value}/{total} | ETA {eta_formatted}", stream: process.stderr },
        Presets.shades_classic,
      );
      this.bar.start(total, done);
    }
    this.bar.setTotal(total);
    this.bar.update(done);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
