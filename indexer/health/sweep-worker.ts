// The health engine's sweep worker: claims chunks of the holder list the engine hands it (sweep.ts sweepClaimed),
// on the engine's own shared memory, while the engine's thread claims and classifies from the same counter
// (sweep-thread.ts).
import { parentPort } from "node:worker_threads";
import { CTRL, type SweepTally, sweepClaimed } from "./sweep";
import type { SweepJob } from "./sweep-thread";

const port = parentPort;
if (!port) throw new Error("sweep-worker.ts runs as a worker thread of the health engine");
port.on("message", (job: SweepJob) => {
  const { ctrl, seq } = job;
  // Start only the job still on offer: the engine may have taken it back (and swept it all) before this message
  // came; an atomic claim also orders the engine's earlier writes (rebuilt sums, stamps) before what follows.
  if (Atomics.compareExchange(ctrl, CTRL.JOB, seq, -seq) !== seq) return;
  const tally: SweepTally = { count: 0, decided: 0 };
  const whole = sweepClaimed(job.arrays, job.n, job.params, job.out, tally, ctrl);
  Atomics.store(ctrl, CTRL.COUNT, whole ? tally.count : -1);
  Atomics.store(ctrl, CTRL.DECIDED, tally.decided);
  Atomics.store(ctrl, CTRL.DONE, seq);
  Atomics.notify(ctrl, CTRL.DONE);
});
port.postMessage("ready");
