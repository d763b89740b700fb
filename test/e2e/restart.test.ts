// `npm start`, stop, `npm start` again: each embedded run is a new chain, and nothing from the previous one (the
// keeper's remembered nonce and lock, queue and alert keys, store rows) may leak into it. Two runs of the real app
// on the same chain port, data folder and Redis, each liquidating.
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig } from "../../common/config";
import { startApp, type App } from "../../cli/app";
import { waitFor } from "../fixtures/indexer";

const CHAIN_PORT = 8592;

describe("restarts of the embedded app are clean", function () {
  this.timeout(300_000);
  let dataDir: string;
  let app: App | null = null;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-restart-"));
  });

  after(async () => {
    await app?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function run(): Promise<{ liquidated: number; outcomesBefore: number }> {
    const config = loadConfig({}, { DATA_DIR: dataDir, API_PORT: 0, CHAIN_PORT, SIM_BORROWERS: 40, SIM_TICK_MS: 250, LOG_LEVEL: "silent" });
    app = await startApp(config, { logger: pino({ level: "silent" }), env: {} });
    const a = app;
    const outcomesBefore = (await a.store.listKeeperOutcomes({ limit: 1000, offset: 0 })).length;
    await waitFor(
      async () => (await a.store.listKeeperOutcomes({ limit: 1000, offset: 0, outcome: "liquidated" })).length > 0,
      120_000,
      "a liquidation",
    );
    const liquidated = (await a.store.listKeeperOutcomes({ limit: 1000, offset: 0, outcome: "liquidated" })).length;
    const failed = await a.keeper!.producer.queue.getJobCounts("failed");
    expect(failed.failed, "no failed liquidation job").to.equal(0);
    await a.stop();
    app = null;
    return { liquidated, outcomesBefore };
  }

  // Before the fix the second run died in keeper start-up: "Nonce too high. Expected nonce to be 0 but got 14".
  it("a second run on a new chain comes up and liquidates: no nonce, queue or store row from the first", async () => {
    const first = await run();
    expect(first.liquidated).to.be.greaterThan(0);
    const second = await run();
    expect(second.outcomesBefore, "the store starts empty for a new embedded chain").to.equal(0);
    expect(second.liquidated).to.be.greaterThan(0);
  });
});
