// The health engine's sweep worker: runs sweepRange (sweep.ts) over the range of a holder list the engine hands it,
// on the engine's own shared memory, while the engine's thread sweeps and classifies the rest (sweep-thread.ts).
import { parentPort } from "node:worker_threads";
import { sweepRange } from "./sweep";
import { CTRL, type SweepJob } from "./sweep-thread";

const port = parentPort;
if (!port) throw new Error("sweep-worker.ts runs as a worker thread of the health engine");
port.on("message", (job: SweepJob) => {
  const { ctrl } = job;
  // Reading the job's sequence number atomically orders the engine's earlier writes (rebuilt sums, stamps) first.
  if (Atomics.load(ctrl, CTRL.SEQ) !== job.seq) return; // superseded (cannot happen: the engine waits for each)
  const r = sweepRange(job.arrays, job.from, job.to, job.params, job.out, ctrl.subarray(CTRL.ABORT, CTRL.ABORT + 1));
  Atomics.store(ctrl, CTRL.COUNT, r.count);
  Atomics.store(ctrl, CTRL.DECIDED, r.decided);
  Atomics.store(ctrl, CTRL.DONE, job.seq);
  Atomics.notify(ctrl, CTRL.DONE);
});
port.postMessage("ready");
