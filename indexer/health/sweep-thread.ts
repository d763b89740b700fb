// The engine's side of its sweep worker (sweep-worker.ts): one worker thread, started when a book first has
// `minHolders` holders of one asset, used once it has said it is ready. A job is one holder list; both threads claim
// chunks of it from one atomic counter (sweep.ts sweepClaimed), so neither waits for a share the other has not
// reached: a worker that is slow to wake, or descheduled, leaves more to the engine's thread. The book and the
// holder lists live in SharedArrayBuffers (book.ts), so a job moves no data. The worker writes only the float
// sums, anchors and stamps of the accounts in the chunks it claimed, which the engine's thread does not touch
// until the job is done.
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { ExactJob } from "./exact-job";
import { CTRL, type SweepArrays, type SweepParams } from "./sweep";
import type { SweepWorkerStatus } from "./types";

export interface SweepJob {
  kind: "sweep";
  seq: number;
  ctrl: Int32Array;
  arrays: SweepArrays;
  /** holders in the list */
  n: number;
  params: SweepParams;
  out: Int32Array;
}

/**
 * How long the engine waits for a job (milliseconds of work, even under load) before it gives the worker up: it
 * then recomputes what the job could have touched itself, and sweeps alone from then on.
 */
const JOB_TIMEOUT_MS = 2_000;
/** How long a given-up worker has to acknowledge the abort. */
const ABORT_WAIT_MS = 1_000;

export class SweepThread {
  private readonly worker: Worker;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(4 * 8));
  /** sweeps and exact batches answered, and whether the worker was given up on (a job not answered in time) */
  answered = 0;
  exactAnswered = 0;
  private exactJob = false;
  gaveUp = false;
  private out = new Int32Array(new SharedArrayBuffer(4 * 1024));
  private seq = 0;
  private ready = false;
  private dead = false;

  constructor() {
    const file = path.join(__dirname, `sweep-worker${path.extname(__filename)}`);
    // The engine runs as TypeScript under ts-node (bin/marginwatch.js, the tests, the bench): its worker registers
    // ts-node the same way, with absolute paths (not the working directory's tsconfig or node_modules).
    const boot =
      path.extname(__filename) === ".ts"
        ? `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, project: ${JSON.stringify(path.resolve(__dirname, "../../tsconfig.json"))} });`
        : "";
    this.worker = new Worker(`${boot} require(${JSON.stringify(file)});`, { eval: true });
    this.worker.on("message", (m) => {
      if (m === "ready") this.ready = true;
    });
    this.worker.on("error", () => {
      this.dead = true;
    });
    this.worker.on("exit", () => {
      this.dead = true;
    });
    this.worker.unref(); // after the listeners (attaching one refs the port again): it never keeps a process alive
  }

  /** Started, ready, not failed. */
  get available(): boolean {
    return this.ready && !this.dead;
  }

  get failed(): boolean {
    return this.dead;
  }

  /** The control words; the engine's thread claims from the same counter (ctrl[NEXT]) as the worker. */
  get control(): Int32Array {
    return this.ctrl;
  }

  /** Offers the worker the sweep of holders [0, n); `finish` collects its part. */
  start(arrays: SweepArrays, n: number, params: SweepParams): void {
    // A view on a plain ArrayBuffer would reach the worker as a copy: its pushes would be lost without a sound.
    for (const [name, a] of Object.entries(arrays))
      if (!(a.buffer instanceof SharedArrayBuffer)) throw new Error(`sweep worker: ${name} is not in shared memory`);
    if (this.out.length < n) this.out = new Int32Array(new SharedArrayBuffer(4 * n));
    const seq = this.offer(false);
    this.worker.postMessage({ kind: "sweep", seq, ctrl: this.ctrl, arrays, n, params, out: this.out } satisfies SweepJob);
  }

  /**
   * Offers the worker a batch of exact confirmations (exact-job.ts), claimed from the same counter; `finish` waits
   * for its part (null: not answered, and nothing it wrote is to be read).
   */
  startExact(job: (seq: number, ctrl: Int32Array) => ExactJob): void {
    const seq = this.offer(true);
    this.worker.postMessage(job(seq, this.ctrl));
  }

  /** A new job number, with the counter and the abort word reset for it. */
  private offer(exact: boolean): number {
    this.exactJob = exact;
    const seq = ++this.seq;
    Atomics.store(this.ctrl, CTRL.ABORT, 0);
    Atomics.store(this.ctrl, CTRL.NEXT, 0);
    Atomics.store(this.ctrl, CTRL.JOB, seq);
    return seq;
  }

  /**
   * Once the engine's thread has claimed its last chunk: the ids the worker left for classify (a view, valid until
   * the next start) and how many it decided. A job the worker has not started is taken back (nothing to wait for);
   * a started one is waited for (its last chunk). Null when it did not answer in time: the worker is then given up,
   * and any chunk it claimed may be half pushed.
   */
  finish(): { ids: Int32Array; decided: number } | null {
    if (Atomics.compareExchange(this.ctrl, CTRL.JOB, this.seq, 0) === this.seq) return { ids: this.out.subarray(0, 0), decided: 0 };
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(this.ctrl, CTRL.DONE);
      if (done === this.seq) break;
      const left = deadline - Date.now();
      if (left <= 0 || this.dead) {
        this.giveUp();
        return null;
      }
      Atomics.wait(this.ctrl, CTRL.DONE, done, left); // returns at once if the answer came since the load
    }
    const count = Atomics.load(this.ctrl, CTRL.COUNT);
    if (count < 0) {
      this.giveUp(); // it stopped early (aborted): what it claimed is not all swept
      return null;
    }
    if (this.exactJob) this.exactAnswered++;
    else this.answered++;
    return { ids: this.out.subarray(0, count), decided: Atomics.load(this.ctrl, CTRL.DECIDED) };
  }

  close(): Promise<number> {
    this.dead = true;
    return this.worker.terminate();
  }

  /**
   * Stops a late worker at its next claim (sweep.ts), waits a little for it to say so (after that it writes
   * nothing), and never uses it again.
   */
  private giveUp(): void {
    Atomics.store(this.ctrl, CTRL.ABORT, 1);
    this.dead = true;
    this.gaveUp = true;
    const deadline = Date.now() + ABORT_WAIT_MS;
    for (let done = Atomics.load(this.ctrl, CTRL.DONE); done !== this.seq && Date.now() < deadline; ) {
      Atomics.wait(this.ctrl, CTRL.DONE, done, Math.max(1, deadline - Date.now()));
      done = Atomics.load(this.ctrl, CTRL.DONE);
    }
    void this.worker.terminate();
  }
}

/**
 * The engine's sweep sharing: its worker (started by the first sweep of at least `minHolders` holders, used once
 * ready, never restarted after a failure) and the engine thread's own candidate buffer.
 */
export class Sweeper {
  private thread: SweepThread | null = null;
  private closed = false;
  private cand = new Int32Array(1024);

  constructor(private readonly minHolders: number) {}

  /**
   * Starts the worker when a sweep of `n` holders would be shared (ahead of the first such sweep). Not on a single
   * core: the two threads would only take turns.
   */
  prepare(n: number): void {
    if (n >= this.minHolders && !this.closed && availableParallelism() > 1) this.thread ??= new SweepThread();
  }

  /** The worker to share a sweep of `n` holders with, or null (too few, not ready yet, failed). */
  workerFor(n: number): SweepThread | null {
    this.prepare(n);
    return n >= this.minHolders && this.thread?.available ? this.thread : null;
  }

  /** The worker to share exact confirmations with, when one is running (started by a big enough sweep). */
  get running(): SweepThread | null {
    return this.thread?.available ? this.thread : null;
  }

  /** A buffer for `n` candidate ids (reused: valid until the next call). */
  candidates(n: number): Int32Array {
    if (this.cand.length < n) this.cand = new Int32Array(Math.max(n, this.cand.length * 2));
    return this.cand;
  }

  /**
   * state "off": never needed, or closed; "starting"; "on"; "failed": it exited, or was given up on (`gaveUp`: a
   * job not answered in time), and sweeps run on one thread from then on. `shared`: sweeps it took part in.
   */
  status(): SweepWorkerStatus {
    const t = this.thread;
    const state = !t || this.closed ? "off" : t.available ? "on" : t.failed ? "failed" : "starting";
    return { state, shared: t?.answered ?? 0, exactShared: t?.exactAnswered ?? 0, gaveUp: t?.gaveUp ?? false };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.thread?.close();
  }
}
