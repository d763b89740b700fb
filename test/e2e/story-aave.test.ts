// The whole story on real Aave V3.0 contracts, through `startApp` with PROTOCOL=aave-v3 (what
// `npm start -- --protocol aave-v3` runs): supply and borrow → the WETH feed falls → the indexer sees HF < 1 from logs
// and its own math → the keeper sizes and sends a liquidationCall → the account's HF recovers; the keeper outcome, the
// indexed liquidation (its amounts equal to the LiquidationCall log), the account row and the alert are all recorded,
// and the engine's HF equals Pool.getUserAccountData at the published block.
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { Queue } from "bullmq";
import { createPublicClient, createWalletClient, decodeEventLog, http, parseUnits, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { loadConfig } from "../../common/config";
import { startApp, type App } from "../../cli/app";
import { HARDHAT_KEYS } from "../../common/hardhat-node";
import type { Wallet } from "../../common/wallet";
import { assetOf, borrow, call, fund, setPrice, supply, type ChainContext } from "../../protocols/aave-v3/actions";
import { mintableErc20Abi, poolAbi } from "../../protocols/aave-v3/generated/abis";
import { waitFor } from "../fixtures/indexer";

const CHAIN_PORT = 8577;
const WAD = 10n ** 18n;

describe("end to end on Aave V3: npm start --protocol aave-v3 liquidates an account whose collateral price falls", function () {
  this.timeout(240_000);
  let app: App;
  let client: PublicClient;
  let ctx: ChainContext;
  let dataDir: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-e2e-aave-"));
    const config = loadConfig({}, { DATA_DIR: dataDir, API_PORT: 0, CHAIN_PORT, PROTOCOL: "aave-v3", SIM_BORROWERS: 0, LOG_LEVEL: "silent" });
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

  const healthFactorAt = async (account: `0x${string}`, blockNumber?: bigint): Promise<bigint> => {
    const data = await client.readContract({
      address: app.deployment.pool,
      abi: poolAbi,
      functionName: "getUserAccountData",
      args: [account],
      blockNumber,
    });
    return data[5];
  };

  it("tells the whole story", async () => {
    expect(app.deployment.protocol).to.equal("aave-v3");
    const url = `http://127.0.0.1:${CHAIN_PORT}`;
    const w = (i: number) => createWalletClient({ chain: hardhat, transport: http(url), account: privateKeyToAccount(HARDHAT_KEYS[i]!) }) as Wallet;
    const supplier = w(3);
    const borrower = w(4);
    await supply(ctx, supplier, "USDC", "1000000");
    // The keeper repays USDC debt: the admin mints some and hands it over (the keeper's own nonce stream stays its own).
    const usdc = assetOf(app.deployment, "USDC");
    await fund(ctx, ctx.admin, "USDC", "500000");
    await call(ctx, ctx.admin, usdc.address, mintableErc20Abi, "transfer", [app.keeper!.address, parseUnits("500000", 6)]);

    await supply(ctx, borrower, "WETH", "10"); // $30,000 at $3000, LT 82.5%
    await borrow(ctx, borrower, "USDC", "23000"); // HF = 30000·0.825/23000 ≈ 1.076
    const account = borrower.account.address.toLowerCase() as `0x${string}`;
    await waitFor(() => app.health.account(account, app.indexer.status.lastBlockTimestamp ?? 0n) !== undefined, 30_000, "indexer sees the borrower");

    await setPrice(ctx, "WETH", "2700"); // HF ≈ 0.968: liquidatable, close factor 50%
    const hfBefore = await healthFactorAt(account);
    expect(hfBefore < WAD).to.equal(true);

    // The keeper liquidates: one outcome "liquidated" with a mined transaction.
    await waitFor(
      async () => (await app.store.listKeeperOutcomes({ limit: 10, offset: 0, account })).some((o) => o.outcome === "liquidated"),
      90_000,
      "liquidated outcome",
    );
    const liquidated = (await app.store.listKeeperOutcomes({ limit: 10, offset: 0, account })).filter((o) => o.outcome === "liquidated");
    expect(liquidated, "liquidated exactly once").to.have.length(1);
    const receipt = await client.getTransactionReceipt({ hash: liquidated[0]!.transactionHash! });
    expect(receipt.status).to.equal("success");
    const event = receipt.logs
      .filter((l) => l.address.toLowerCase() === app.deployment.pool.toLowerCase())
      .map((l) => {
        try {
          return decodeEventLog({ abi: poolAbi, data: l.data, topics: l.topics });
        } catch {
          return null;
        }
      })
      .find((e) => e?.eventName === "LiquidationCall");
    expect(event, "a LiquidationCall log").to.not.equal(undefined);
    const args = event!.args as { debtToCover: bigint; liquidatedCollateralAmount: bigint; user: string };
    expect(args.user.toLowerCase()).to.equal(account);

    // HF recovered above its pre-liquidation value (50% close factor, 5% bonus).
    const hfAfter = await healthFactorAt(account);
    expect(hfAfter > hfBefore).to.equal(true);

    // The indexer recorded the liquidation with the log's amounts, its engine agrees with the chain, the row follows.
    await waitFor(async () => (await app.store.listLiquidations({ limit: 10, offset: 0, account })).length === 1, 30_000, "liquidation indexed");
    const [indexed] = await app.store.listLiquidations({ limit: 10, offset: 0, account });
    expect([indexed!.debtRepaid, indexed!.collateralSeized]).to.deep.equal([args.debtToCover, args.liquidatedCollateralAmount]);
    const head = await client.getBlockNumber();
    await app.indexer.waitForBlock(head);
    const block = await client.getBlock({ blockNumber: app.indexer.status.cursor });
    expect(app.health.account(account, block.timestamp)!.healthFactor).to.equal(await healthFactorAt(account, block.number));
    const row = await app.store.getAccountHealth(account);
    expect(row!.status === "healthy" || row!.status === "warning").to.equal(true);

    // The liquidatable margin call went to the alerts queue once for this account.
    const q = new Queue("alerts", { connection: { host: "127.0.0.1", port: 6379 }, prefix: `{marginwatch-embedded-${CHAIN_PORT}}` });
    const jobs = await q.getJobs(["waiting", "completed", "active", "delayed", "failed"]);
    await q.close();
    const mine = jobs.filter((j) => (j.data as { body: { account?: string } }).body.account === account);
    expect(mine.filter((j) => j.id!.includes("-liquidatable-triggered-")).length).to.equal(1);

    // Bad debt: a crash takes all of an account's collateral in one liquidation (HF < 0.95: close factor 100%, and
    // the collateral is worth less than the debt). The debt left has nothing behind it; V3.0 never writes it off.
    // The keeper liquidates once and is never given the account again; /v1/risk counts it as bad debt.
    const small = w(5);
    const smallAccount = small.account.address.toLowerCase() as `0x${string}`;
    await supply(ctx, small, "WETH", "1");
    await borrow(ctx, small, "USDC", "1800"); // HF at $2700 = 2700·0.825/1800 ≈ 1.24
    await waitFor(() => app.health.account(smallAccount, app.indexer.status.lastBlockTimestamp ?? 0n) !== undefined, 30_000, "indexer sees it");
    await setPrice(ctx, "WETH", "1000"); // HF ≈ 0.46; 1 WETH ($1000) < 1800 USDC debt
    await waitFor(
      async () => (await app.store.listKeeperOutcomes({ limit: 10, offset: 0, account: smallAccount })).some((o) => o.outcome === "liquidated"),
      90_000,
      "the bad-debt account liquidated",
    );
    const [collateralLeft, debtLeft] = await client.readContract({
      address: app.deployment.pool,
      abi: poolAbi,
      functionName: "getUserAccountData",
      args: [smallAccount],
    });
    expect(collateralLeft, "all collateral seized").to.equal(0n);
    expect(debtLeft > 0n, "debt left behind").to.equal(true);
    // Blocks go by (interval mining); the account stays liquidatable (HF 0) in the engine, but no job is made of it.
    const seen = await client.getBlockNumber();
    await waitFor(async () => (await client.getBlockNumber()) >= seen + 5n, 30_000, "five more blocks");
    await app.indexer.waitForBlock(await client.getBlockNumber());
    expect(app.health.liquidatable().map((l) => l.account)).to.include(smallAccount);
    const outcomes = await app.store.listKeeperOutcomes({ limit: 50, offset: 0, account: smallAccount });
    expect(
      outcomes.map((o) => o.outcome),
      "one liquidation, then nothing",
    ).to.deep.equal(["liquidated"]);
    const risk = app.health.aggregates((await client.getBlock()).timestamp);
    expect(risk.badDebt.accounts).to.be.greaterThanOrEqual(1);
  });
});
