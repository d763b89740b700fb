// Liquidation sizing against the real pool: every planned pair equals what liquidate() does at the same block,
// the best-bonus pair wins, the close factor (50%, 100% under HF 0.95) and the keeper's balance bound the repay.
import { expect } from "chai";
import { parseUnits } from "viem";
import { marginPoolAbi } from "../../protocols/marginpool/generated/abis";
import { MAX_UINT256, WAD } from "../../common/math";
import { readAccountSnapshot, type SnapshotReader } from "../../protocols/marginpool/snapshot";
import { planLiquidation, planPairs } from "../../protocols/marginpool/plan";
import type { AccountSnapshot, LiquidationPlan } from "../../protocols/types";
import { assetOf, borrowGas, depositGas, KEEPER_ADDRESS, setPrice, startChain, type Chain } from "./helpers";

const PORT = 8610;
const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

describe("keeper: liquidation sizing equals the pool's", function () {
  this.timeout(120_000);
  let chain: Chain;
  let snap: string;
  let reader: SnapshotReader;
  let borrower: `0x${string}`;

  before(async () => {
    chain = await startChain(PORT);
    const pc = chain.node.publicClient;
    reader = {
      publicClient: pc as never,
      pool: chain.d.pool,
      oracle: chain.d.oracle,
      assets: await pc.readContract({ address: chain.d.pool, abi: marginPoolAbi, functionName: "getAssets" }),
    };
    // Two collaterals (WETH 5% bonus, WBTC 6.5%) and two debts: HF 1.20 at the start.
    const w = chain.wallet(6);
    borrower = w.account.address;
    await depositGas(chain, w, "WETH", "10");
    await depositGas(chain, w, "WBTC", "0.5");
    await borrowGas(chain, w, "USDC", "25000");
    await borrowGas(chain, w, "DAI", "15000");
    snap = await chain.rpc<string>("evm_snapshot");
  });
  beforeEach(async () => {
    await chain.rpc("evm_revert", [snap]);
    snap = await chain.rpc<string>("evm_snapshot");
  });
  after(async () => chain?.stop());

  async function snapshotNow(): Promise<AccountSnapshot> {
    const block = await chain.node.publicClient.getBlockNumber();
    return readAccountSnapshot(reader, borrower, KEEPER_ADDRESS, block);
  }

  /** liquidate() simulated from the keeper at the snapshot's block: [repaid, seized]. */
  async function simulate(s: AccountSnapshot, p: LiquidationPlan): Promise<readonly [bigint, bigint]> {
    const { result } = await chain.node.publicClient.simulateContract({
      address: chain.d.pool,
      abi: marginPoolAbi,
      functionName: "liquidate",
      args: [borrower, p.collateralAsset, p.debtAsset, p.repayArgument],
      account: KEEPER_ADDRESS,
      blockNumber: s.blockNumber,
    });
    return result;
  }

  it("50% close factor (HF 0.9975): every pair matches the pool to the wei, and the WBTC/USDC pair has the best bonus", async () => {
    await setPrice(chain.ctx, "WETH", "2000"); // (16500 + 23400) / 40000
    const s = await snapshotNow();
    // 0.9975 at the borrows' own second, a hair less after each second of interest (a loaded machine takes some).
    expect(s.healthFactor <= 997_500_000_000_000_000n && s.healthFactor > 997_400_000_000_000_000n, String(s.healthFactor)).to.equal(true);
    const plans = planPairs(s);
    expect(plans.length).to.equal(4);
    for (const p of plans) {
      expect(await simulate(s, p), `${p.collateralAsset}/${p.debtAsset}`).to.deep.equal([p.repayAmount, p.seizeAmount]);
      expect(p.limitedBy).to.equal("close-factor");
      expect(p.repayArgument).to.equal(MAX_UINT256);
    }
    const best = planLiquidation(s)!;
    expect(best.collateralAsset.toLowerCase()).to.equal(assetOf(chain.d, "WBTC").address);
    expect(best.debtAsset.toLowerCase()).to.equal(assetOf(chain.d, "USDC").address);
    // half of ~25000 USDC, seized at 6.5% bonus: ≈ $812.5 of bonus value
    expect(best.repayAmount >= parseUnits("12500", 6) && best.repayAmount < parseUnits("12500.01", 6)).to.equal(true);
    expect(best.bonusValueBase > 812n * 10n ** 8n && best.bonusValueBase < 813n * 10n ** 8n).to.equal(true);
    for (const p of plans) expect(p.bonusValueBase <= best.bonusValueBase).to.equal(true);
  });

  it("HF < 0.95: the whole debt may be repaid; a collateral that runs out caps the repay (collateral-limited) and still matches the pool", async () => {
    await setPrice(chain.ctx, "WETH", "2000");
    await setPrice(chain.ctx, "WBTC", "55000"); // (16500 + 21450) / 40000 = 0.94875
    const s = await snapshotNow();
    expect(s.healthFactor < 95n * 10n ** 16n).to.equal(true);
    const plans = planPairs(s);
    const usdc = s.assets.find((a) => same(a.asset, assetOf(chain.d, "USDC").address))!;
    for (const p of plans) {
      expect(await simulate(s, p)).to.deep.equal([p.repayAmount, p.seizeAmount]);
      if (p.debtAsset === usdc.asset) expect(p.maxRepay).to.equal(usdc.debt);
    }
    // 10 WETH ($20000) covers at most $20000 / 1.05 ≈ $19048 of the ~$25000 USDC debt: the collateral runs out
    // first, so the repay shrinks to what it buys (rounded up, as the pool does).
    const wethUsdc = plans.find((p) => same(p.collateralAsset, assetOf(chain.d, "WETH").address) && p.debtAsset === usdc.asset)!;
    expect(wethUsdc.limitedBy).to.equal("collateral");
    expect(wethUsdc.seizeAmount).to.equal(s.assets.find((a) => same(a.asset, assetOf(chain.d, "WETH").address))!.collateral);
    expect(wethUsdc.repayAmount < usdc.debt).to.equal(true);
  });

  it("the keeper's balance bounds the repay: it passes the exact amount, not 'max', and the pool takes exactly that", async () => {
    await setPrice(chain.ctx, "WETH", "2000");
    const s = await snapshotNow();
    const usdc = assetOf(chain.d, "USDC").address;
    const only = parseUnits("1000", 6);
    const best = planLiquidation(s, (asset) => (same(asset, usdc) ? only : 0n))!;
    expect(best.debtAsset.toLowerCase()).to.equal(usdc);
    expect(best.limitedBy).to.equal("balance");
    expect(best.repayAmount).to.equal(only);
    expect(best.repayArgument).to.equal(only);
    expect(await simulate(s, best)).to.deep.equal([best.repayAmount, best.seizeAmount]);
    // with no balance of any debt asset there is nothing to do
    expect(planLiquidation(s, () => 0n)).to.equal(null);
  });

  it("a healthy account still plans (the HF gate is the processor's), but the pool would refuse it", async () => {
    const s = await snapshotNow();
    expect(s.healthFactor >= WAD).to.equal(true);
    const best = planLiquidation(s)!;
    let reverted = "";
    await simulate(s, best).catch((e: Error) => (reverted = e.message));
    expect(reverted).to.contain("HealthFactorNotBelowOne");
  });
});
