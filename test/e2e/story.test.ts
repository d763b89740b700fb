// The whole story through `startApp` (what `npm start` runs): borrow → price falls → the indexer sees HF < 1 →
// the keeper liquidates → HF recovers; outcome, liquidation, account row and alerts are all recorded.
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { Queue } from "bullmq";
import { createPublicClient, http, parseUnits, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import { loadConfig } from "../../common/config";
import { startApp, type App } from "../../cli/app";
import { createWalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { HARDHAT_KEYS } from "../../common/hardhat-node";
import type { Wallet } from "../../common/wallet";
import { borrow, deposit, setPrice, assetOf, write, type ChainContext } from "../../protocols/marginpool/actions";
import { marginPoolAbi, testTokenAbi } from "../../protocols/marginpool/generated/abis";
import { waitFor } from "../fixtures/indexer";

const CHAIN_PORT = 8575;

describe("end to end: npm start's app liquidates an account whose collateral price falls", function () {
  this.timeout(180_000);
  let app: App;
  let client: PublicClient;
  let ctx: ChainContext;
  let dataDir: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-e2e-"));
    const config = loadConfig({}, { DATA_DIR: dataDir, API_PORT: 0, CHAIN_PORT, SIM_BORROWERS: 0, LOG_LEVEL: "silent" });
    app = await startApp(config, { simulate: false, logger: pino({ level: "silent" }), env: {} });
    const url = `http://127.0.0.1:${CHAIN_PORT}`;
    client = createPublicClient({ chain: hardhat, transport: http(url), cacheTime: 0 }) as PublicClient;
    const admin = createWalletClient({ chain: hardhat, transport: http(url), account: privateKeyToAccount(HARDHAT_KEYS[0]) }) as Wallet;
    ctx = { publicClient: client, deployment: app.deployment, admin };
  });

  after(async () => {
    await app?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("tells the whole story", async () => {
    const url = `http://127.0.0.1:${CHAIN_PORT}`;
    const w = (i: number) => createWalletClient({ chain: hardhat, transport: http(url), account: privateKeyToAccount(HARDHAT_KEYS[i]!) }) as Wallet;
    const supplier = w(3);
    const borrower = w(4);
    await deposit(ctx, supplier, "USDC", "1000000");
    // The keeper repays USDC debt: give it some.
    const usdc = assetOf(app.deployment, "USDC");
    await write(ctx, ctx.admin, usdc.address, testTokenAbi, "mint", [app.keeper!.address, parseUnits("500000", 6)]);

    await deposit(ctx, borrower, "WETH", "10"); // $30,000 at $3000
    await borrow(ctx, borrower, "USDC", "23000"); // HF = 30000·0.825/23000 ≈ 1.076
    const account = borrower.account.address.toLowerCase() as `0x${string}`;
    await waitFor(() => app.health.account(account, app.indexer.status.lastBlockTimestamp ?? 0n) !== undefined, 30_000, "indexer sees the borrower");

    await setPrice(ctx, "WETH", "2700"); // HF ≈ 0.968: liquidatable, close factor 50%
    const hfBefore = await client.readContract({ address: app.deployment.pool, abi: marginPoolAbi, functionName: "healthFactor", args: [account] });
    expect(hfBefore < 10n ** 18n).to.equal(true);

    // The keeper liquidates: one outcome "liquidated" with a mined transaction.
    await waitFor(
      async () => (await app.store.listKeeperOutcomes({ limit: 10, offset: 0, account })).some((o) => o.outcome === "liquidated"),
      60_000,
      "liquidated outcome",
    );
    const [outcome] = (await app.store.listKeeperOutcomes({ limit: 10, offset: 0, account })).filter((o) => o.outcome === "liquidated");
    const receipt = await client.getTransactionReceipt({ hash: outcome!.transactionHash! });
    expect(receipt.status).to.equal("success");

    // HF recovered above its pre-liquidation value (a 50% close factor with a 5% bonus leaves it above 1 here).
    const hfAfter = await client.readContract({ address: app.deployment.pool, abi: marginPoolAbi, functionName: "healthFactor", args: [account] });
    expect(hfAfter > hfBefore).to.equal(true);

    // The indexer recorded the liquidation, its engine agrees with the chain, and the store's account row follows.
    await waitFor(async () => (await app.store.listLiquidations({ limit: 10, offset: 0, account })).length === 1, 30_000, "liquidation indexed");
    const head = await client.getBlockNumber();
    await app.indexer.waitForBlock(head);
    const block = await client.getBlock({ blockNumber: app.indexer.status.cursor });
    const onChain = await client.readContract({
      address: app.deployment.pool,
      abi: marginPoolAbi,
      functionName: "healthFactor",
      args: [account],
      blockNumber: block.number,
    });
    expect(app.health.account(account, block.timestamp)!.healthFactor).to.equal(onChain);
    const row = await app.store.getAccountHealth(account);
    expect(row).to.not.equal(null);
    expect(row!.status === "healthy" || row!.status === "warning").to.equal(true);

    // Margin-call alerts went to the alerts queue: the liquidatable level triggered once for this account.
    const q = new Queue("alerts", { connection: { host: "127.0.0.1", port: 6379 }, prefix: `{marginwatch-embedded-${CHAIN_PORT}}` });
    const jobs = await q.getJobs(["waiting", "completed", "active", "delayed", "failed"]);
    await q.close();
    const mine = jobs.filter((j) => (j.data as { body: { account?: string } }).body.account === account);
    expect(mine.filter((j) => j.id!.includes("-liquidatable-triggered-")).length).to.equal(1);
    expect(mine.some((j) => j.id!.includes("-critical-triggered-"))).to.equal(true);
  });
});
