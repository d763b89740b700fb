// The health engine's sweep worker: claims chunks of the holder list the engine hands it (sweep.ts sweepClaimed),
// on the engine's own shared memory, while the engine's thread claims and classifies from the same counter
// (sweep-thread.ts); and chunks of a batch of exact confirmations (exact-job.ts runExactJob) the same way.
import { parentPort } from "node:worker_threads";
import { type ExactJob, loadHealth, runExactJob } from "./exact-job";
import { CTRL, type SweepTally, sweepClaimed } from "./sweep";
import type { SweepJob } from "./sweep-thread";

const port = parentPort;
if (!port) throw new Error("sweep-worker.ts runs as a worker thread of the health engine");
port.on("message", (job: SweepJob | ExactJob) => {
  const { ctrl, seq } = job;
  // The protocol's math is loaded before the job is claimed: the engine's thread goes on claiming meanwhile. A
  // module that does not load is answered at once as stopped early (the engine computes the batch, gives this up).
  let loaded = true;
  if (job.kind === "exact") {
    try {
      loadHealth(job.healthModule);
    } catch {
      loaded = false;
    }
  }
  // Start only the job still on offer: the engine may have taken it back (and swept it all) before this message
  // came; an atomic claim also orders the engine's earlier writes (rebuilt sums, stamps) before what follows.
  if (Atomics.compareExchange(ctrl, CTRL.JOB, seq, -seq) !== seq) return;
  const tally: SweepTally = { count: 0, decided: 0 };
  let whole = false;
  try {
    if (loaded) whole = job.kind === "exact" ? runExactJob(job) : sweepClaimed(job.arrays, job.n, job.params, job.out, tally, ctrl);
  } catch {
    // answered as stopped early: the engine redoes the job on its own thread and gives this worker up
  }
  Atomics.store(ctrl, CTRL.COUNT, whole ? tally.count : -1);
  Atomics.store(ctrl, CTRL.DECIDED, tally.decided);
  Atomics.store(ctrl, CTRL.DONE, seq);
  Atomics.notify(ctrl, CTRL.DONE);
});
port.postMessage("ready");
