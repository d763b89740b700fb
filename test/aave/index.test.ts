// The Aave V3 indexing adapter against a real V3.0.x market: a mix of supply / borrow / repay / withdraw / aToken
// transfer / collateral toggle / eMode switch / flash loan / repay with aTokens / max withdraw and max repay / a
// liquidation (with and without receiveAToken) with time passing and prices moving; at each checkpoint the state is
// rebuilt from logs alone (test/fixtures/indexer.ts freshState, from the deployment's roots) and every account's
// scaled balances equal the tokens' scaledBalanceOf, its collateral bits and eMode the Pool's, every reserve's
// extrapolated indexes the Pool's normalized income / debt, and the adapter's account math getUserAccountData, all
// at the same block, to the wei.
import { expect } from "chai";
import { createPublicClient, custom, http, maxUint256, parseUnits, type Abi, type Address, type Hex, type PublicClient } from "viem";
import type { Deployment, Hex20 } from "../../common/deployment";
import { deployContract } from "../../common/wallet";
import { ExactContext } from "../../indexer/health/exact";
import type { ProtocolState } from "../../indexer/state/state";
import { adapterFor, protocolNamed, PROTOCOLS } from "../../protocols";
import { boundAaveV3 } from "../../protocols/aave-v3";
import { deployAaveMarket } from "../../protocols/aave-v3/deploy";
import {
  aTokenAbi,
  aaveOracleAbi,
  mintableErc20Abi,
  mockV3AggregatorAbi,
  poolAbi,
  poolConfiguratorAbi,
} from "../../protocols/aave-v3/generated/abis";
import { STABLECOIN_EMODE } from "../../protocols/aave-v3/market";
import { freshState } from "../fixtures/indexer";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";

const PORT = 8770;
const WAD = 10n ** 18n;
const RECEIVER = require("@aave/core-v3/artifacts/contracts/mocks/flashloan/MockSimpleFlashLoanReceiver.sol/MockFlashLoanSimpleReceiver.json") as {
  abi: Abi;
  bytecode: Hex;
};

describe("aave-v3: indexing adapter (logs → state → account math) against the chain", function () {
  this.timeout(300_000);
  let node: NodeHandle;
  let d: Deployment;
  const ADMIN = 0;
  const addr = (i: number) => node.wallet(i).account.address.toLowerCase() as Hex20;
  const asset = (symbol: string) => d.assets.find((a) => a.symbol === symbol)!;
  const units = (symbol: string, human: string) => parseUnits(human, asset(symbol).decimals);
  let checks = 0;
  let compared = 0;

  async function tx(i: number, address: Address, abi: Abi, functionName: string, args: unknown[]): Promise<void> {
    const w = node.wallet(i);
    // A fixed gas limit (see test/aave/deploy.test.ts: an estimate in the second of a reserve's last update misses the accrual).
    const hash = await w.writeContract({ address, abi, functionName, args, account: w.account, chain: w.chain, gas: 3_000_000n });
    const receipt = await node.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status, `${functionName} by #${i}`).to.equal("success");
  }
  const read = async <T>(address: Address, abi: Abi, functionName: string, args: unknown[], blockNumber?: bigint): Promise<T> =>
    (await node.publicClient.readContract({ address, abi, functionName, args, blockNumber })) as T;
  const later = async (seconds: number) => {
    await node.rpc("evm_increaseTime", [seconds]);
    await node.rpc("evm_mine");
  };

  async function supply(i: number, symbol: string, human: string): Promise<void> {
    const value = units(symbol, human);
    await tx(ADMIN, asset(symbol).address, mintableErc20Abi, "mint", [addr(i), value]);
    await tx(i, asset(symbol).address, mintableErc20Abi, "approve", [d.pool, maxUint256]);
    await tx(i, d.pool, poolAbi, "supply", [asset(symbol).address, value, addr(i), 0]);
  }
  const borrow = (i: number, symbol: string, human: string) =>
    tx(i, d.pool, poolAbi, "borrow", [asset(symbol).address, units(symbol, human), 2n, 0, addr(i)]);
  async function repay(i: number, symbol: string, human: string | "max"): Promise<void> {
    // Enough of the asset for interest, then repay (max uint = the whole debt).
    await tx(ADMIN, asset(symbol).address, mintableErc20Abi, "mint", [addr(i), units(symbol, "100000")]);
    await tx(i, asset(symbol).address, mintableErc20Abi, "approve", [d.pool, maxUint256]);
    await tx(i, d.pool, poolAbi, "repay", [asset(symbol).address, human === "max" ? maxUint256 : units(symbol, human), 2n, addr(i)]);
  }
  const withdraw = (i: number, symbol: string, human: string | "max") =>
    tx(i, d.pool, poolAbi, "withdraw", [asset(symbol).address, human === "max" ? maxUint256 : units(symbol, human), addr(i)]);
  const setPrice = (symbol: string, usd: string) => tx(ADMIN, asset(symbol).feed, mockV3AggregatorAbi, "updateAnswer", [parseUnits(usd, 8)]);

  /** Every account and reserve of a fresh rebuild at the head against the chain at that block. */
  async function expectStateEqualsChain(what: string, client: PublicClient = node.publicClient): Promise<ProtocolState> {
    const block = await node.publicClient.getBlock();
    const at = block.number;
    const state = await freshState(client, d, at);
    const adapter = adapterFor(d);
    const accounts = new Set<Hex20>([...state.accounts.keys()]);
    for (let i = 1; i <= 7; i++) accounts.add(addr(i));
    accounts.add(d.deployer);
    expect([...state.assets.keys()], `${what}: the reserves, in the Pool's order`).to.deep.equal(
      (await read<Address[]>(d.pool, poolAbi, "getReservesList", [], at)).map((a) => a.toLowerCase()),
    );
    // Reserves: parameters as configured, indexes extrapolated to the block as the Pool's normalized income / debt.
    for (const a of d.assets) {
      const s = state.assets.get(a.address)!;
      expect(s.decimals, a.symbol).to.equal(a.decimals);
      expect(s.rateModel, a.symbol).to.equal(a.rateModel);
      const idx = adapter.math.indexesAt(s, block.timestamp);
      expect(idx.liquidityIndex, `${what}: ${a.symbol} income`).to.equal(
        await read<bigint>(d.pool, poolAbi, "getReserveNormalizedIncome", [a.address], at),
      );
      expect(idx.borrowIndex, `${what}: ${a.symbol} debt index`).to.equal(
        await read<bigint>(d.pool, poolAbi, "getReserveNormalizedVariableDebt", [a.address], at),
      );
      expect(state.feeds.get(a.address), `${what}: ${a.symbol} feed`).to.deep.equal({
        asset: a.address,
        aggregator: a.feed,
        heartbeat: BigInt(a.heartbeat),
        decimals: 8,
      });
    }
    const prices = await read<readonly bigint[]>(d.oracle, aaveOracleAbi, "getAssetsPrices", [d.assets.map((a) => a.address)], at);
    const price = new Map(d.assets.map((a, k) => [a.address, { price: prices[k]!, status: "fresh" as const }]));
    const ctx = new ExactContext(state, (x) => price.get(x), block.timestamp, adapter.math);
    for (const account of accounts) {
      const config = await read<{ data: bigint }>(d.pool, poolAbi, "getUserConfiguration", [account], at);
      for (const a of d.assets) {
        const s = state.assets.get(a.address)!;
        const p = state.position(account, a.address);
        const label = `${what}: ${account} ${a.symbol}`;
        expect(p?.scaledCollateral ?? 0n, `${label} scaled collateral`).to.equal(
          await read<bigint>(a.aToken!, aTokenAbi, "scaledBalanceOf", [account], at),
        );
        expect(p?.scaledDebt ?? 0n, `${label} scaled debt`).to.equal(
          await read<bigint>(a.variableDebtToken!, aTokenAbi, "scaledBalanceOf", [account], at),
        );
        const idx = adapter.math.indexesAt(s, block.timestamp);
        expect(adapter.math.collateralAmount(p?.scaledCollateral ?? 0n, idx.liquidityIndex), `${label} aToken balance`).to.equal(
          await read<bigint>(a.aToken!, aTokenAbi, "balanceOf", [account], at),
        );
        expect(adapter.math.debtAmount(p?.scaledDebt ?? 0n, idx.borrowIndex), `${label} debt balance`).to.equal(
          await read<bigint>(a.variableDebtToken!, aTokenAbi, "balanceOf", [account], at),
        );
        const bit = (config.data >> (2n * BigInt(s.index) + 1n)) & 1n;
        expect(p?.collateralFlag ?? adapter.math.collateralDefault, `${label} collateral bit`).to.equal(bit === 1n);
        compared += 5;
      }
      expect(BigInt(state.accountCategories.get(account) ?? 0), `${what}: ${account} eMode`).to.equal(
        await read<bigint>(d.pool, poolAbi, "getUserEMode", [account], at),
      );
      const got = ctx.account(account).data;
      const [c, debt, avail, lt, ltv, hf] = await read<readonly bigint[]>(d.pool, poolAbi, "getUserAccountData", [account], at);
      expect(
        [got.totalCollateralBase, got.totalDebtBase, got.availableBorrowsBase, got.currentLiquidationThresholdBps, got.ltvBps, got.healthFactor],
        `${what}: ${account} getUserAccountData at block ${at}`,
      ).to.deep.equal([c, debt, avail, lt, ltv, hf]);
      // The engine's liquidatable test follows the HF.
      expect(got.totalDebtBase !== 0n && got.weightedThresholdBase < got.totalDebtBase * 10_000n, `${what}: ${account} under 1`).to.equal(hf! < WAD);
      compared += 7;
    }
    checks++;
    return state;
  }

  before(async () => {
    node = await startHardhatNode(PORT);
    d = await deployAaveMarket({ publicClient: node.publicClient, walletClient: node.wallet(ADMIN) });
  });
  after(async () => {
    console.log(`      aave-v3 index: ${checks} rebuilds checked, ${compared} figures equal to the chain`);
    await node?.stop();
  });

  it("is registered after marginpool and binds to its deployment; the dev deploy refuses a sequencer grace period", async () => {
    expect(PROTOCOLS.map((p) => p.name)).to.deep.equal(["marginpool", "aave-v3"]);
    const p = protocolNamed("aave-v3");
    expect(p.views.refusesStalePrices).to.equal(false);
    expect(p.math.collateralDefault).to.equal(false);
    expect(adapterFor(d)).to.not.equal(p);
    let err: unknown;
    await p.dev.deploy({ publicClient: node.publicClient, walletClient: node.wallet(ADMIN), sequencerGracePeriod: 3600 }).catch((e) => (err = e));
    expect(String(err)).to.match(/sequencerGracePeriod cannot be set/);
  });

  it("a fresh rebuild of the deployed market from logs alone: reserves, tokens, feeds, risk parameters, eMode", async () => {
    const state = await expectStateEqualsChain("deployed");
    const weth = state.assets.get(asset("WETH").address)!;
    expect([weth.ltvBps, weth.liquidationThresholdBps, weth.liquidationBonusBps, weth.reserveFactorBps]).to.deep.equal([8000n, 8250n, 500n, 1500n]);
    expect(state.assets.get(asset("USDC").address)!.category).to.equal(STABLECOIN_EMODE);
    expect(state.categories.get(STABLECOIN_EMODE)).to.deep.equal({
      category: STABLECOIN_EMODE,
      ltvBps: 9300n,
      liquidationThresholdBps: 9500n,
      liquidationBonusBps: 100n,
      priceSource: "0x0000000000000000000000000000000000000000",
      label: "Stablecoins",
    });
  });

  it("the same from the addresses provider alone (a fork file naming no tokens and no configurator)", async () => {
    const bare: Deployment = {
      ...d,
      poolConfigurator: undefined,
      assets: d.assets.map(({ aToken: _a, variableDebtToken: _v, stableDebtToken: _s, ...rest }) => rest),
    };
    const warnings: string[] = [];
    const adapter = boundAaveV3(bare, (m) => warnings.push(m));
    const { ProtocolState } = await import("../../indexer/state/state");
    const { AdaptiveRange } = await import("../../indexer/sync/adaptive-range");
    const { fetchRange } = await import("../../indexer/sync/logs");
    const head = await node.publicClient.getBlockNumber();
    const s = new ProtocolState();
    const watched = adapter.watch(bare, s);
    expect(watched.map((w) => w.family).sort()).to.deep.equal(["oracle", "pool", "provider"]);
    const r = await fetchRange(node.publicClient, adapter, watched, BigInt(d.startBlock), head, new AdaptiveRange({ initial: 10_000, max: 10_000 }));
    for (const c of r.changes) s.apply(c);
    const families = new Map(r.discovered.map((w) => [w.address, w.family]));
    expect(families.get(d.poolConfigurator!)).to.equal("configurator");
    for (const a of d.assets) {
      expect(families.get(a.aToken!), a.symbol).to.equal(`atoken:${a.address}`);
      expect(families.get(a.variableDebtToken!), a.symbol).to.equal(`vdebt:${a.address}`);
      expect(families.get(a.stableDebtToken!), a.symbol).to.equal(`sdebt:${a.address}`);
    }
    expect(s.digest()).to.equal((await freshState(node.publicClient, d, head)).digest());
    expect(warnings).to.deep.equal([]);
    // State keeps the contracts the logs found: a new process restored from a checkpoint of that state watches them
    // all with only the file, from the addresses provider down.
    expect(adapter.watch(bare, s).length).to.equal(watched.length + r.discovered.length);
    const rows = {
      assets: [...s.assets.values()],
      feeds: [...s.feeds.values()],
      positions: [...s.accounts].flatMap(([account, m]) => [...m].map(([asset, p]) => ({ account, asset, ...p }))),
      sequencer: s.sequencer,
      categories: [...s.categories.values()],
      accountCategories: [...s.accountCategories].map(([account, category]) => ({ account, category })),
      finalizedBlock: s.finalizedBlock,
      journal: s.dumpJournal(),
    };
    const restored = ProtocolState.restore({ ...rows, contracts: [...s.contracts].map(([address, family]) => ({ address, family })) });
    expect(restored.digest()).to.equal(s.digest());
    expect(boundAaveV3(bare, () => undefined).watch(bare, restored)).to.deep.equal(adapter.watch(bare, s));
    // A state without them (a store that lost its contracts table) cannot watch the reserves' tokens: a configuration
    // error, not a silent gap.
    expect(() => boundAaveV3(bare, () => undefined).watch(bare, ProtocolState.restore(rows))).to.throw(/name its aToken and variable debt token/);
  });

  it("supply, borrow, interest, repay, withdraw: scaled balances, indexes and account data equal the chain", async () => {
    await supply(1, "USDC", "1000000");
    await supply(1, "DAI", "500000");
    await supply(1, "WBTC", "20");
    await supply(2, "WETH", "10");
    await borrow(2, "USDC", "12000");
    await later(3 * 86_400);
    await borrow(2, "DAI", "3000");
    await supply(3, "WBTC", "1");
    await borrow(3, "WETH", "4");
    await later(86_400);
    await repay(2, "USDC", "5000");
    await withdraw(2, "WETH", "1");
    await expectStateEqualsChain("basics");
  });

  it("an aToken transfer, a collateral toggle and an eMode switch", async () => {
    await tx(2, asset("WETH").aToken!, aTokenAbi, "transfer", [addr(4), units("WETH", "0.5")]); // #4 gets its collateral bit on receipt
    await supply(4, "USDC", "20000");
    await tx(4, d.pool, poolAbi, "setUserUseReserveAsCollateral", [asset("WETH").address, false]);
    await borrow(4, "DAI", "10000");
    await later(7_200);
    await expectStateEqualsChain("toggle");
    await tx(4, d.pool, poolAbi, "setUserEMode", [STABLECOIN_EMODE]);
    await borrow(4, "USDC", "3000"); // the category's 93% on USDC
    await later(3_600);
    await expectStateEqualsChain("emode in");
    await tx(4, d.pool, poolAbi, "setUserUseReserveAsCollateral", [asset("WETH").address, true]);
    await repay(4, "USDC", "max");
    await tx(4, d.pool, poolAbi, "setUserEMode", [0]);
    await expectStateEqualsChain("emode out");
  });

  it("a flash loan (its premium raises the liquidity index), repay with aTokens, max withdraw and max repay after time", async () => {
    await tx(ADMIN, d.poolConfigurator!, poolConfiguratorAbi, "setReserveFlashLoaning", [asset("USDC").address, true]);
    const receiver = await deployContract({ publicClient: node.publicClient, walletClient: node.wallet(ADMIN) }, RECEIVER.abi, RECEIVER.bytecode, [
      d.addressesProvider!,
    ]);
    await tx(ADMIN, d.poolConfigurator!, poolConfiguratorAbi, "updateFlashloanPremiumTotal", [9n]); // 0.09%, all to the suppliers
    const reserve = () => read<{ liquidityIndex: bigint; lastUpdateTimestamp: number }>(d.pool, poolAbi, "getReserveData", [asset("USDC").address]);
    const before = (await expectStateEqualsChain("before the flash loan")).assets.get(asset("USDC").address)!;
    await tx(5, d.pool, poolAbi, "flashLoanSimple", [receiver, asset("USDC").address, units("USDC", "300000"), "0x", 0]);
    const after = await reserve();
    // the premium is cumulated to the index on top of the interest accrued since the last update
    const accrued = adapterFor(d).math.indexesAt(before, BigInt(after.lastUpdateTimestamp)).liquidityIndex;
    expect(after.liquidityIndex > accrued, `index ${after.liquidityIndex} > ${accrued}`).to.equal(true);
    await expectStateEqualsChain("flash loan");

    await supply(6, "USDC", "50000");
    await borrow(6, "USDC", "10000");
    await later(10 * 86_400);
    await tx(6, d.pool, poolAbi, "repayWithATokens", [asset("USDC").address, units("USDC", "4000"), 2n]);
    await expectStateEqualsChain("repay with aTokens");
    await later(5 * 86_400);
    await tx(6, d.pool, poolAbi, "repayWithATokens", [asset("USDC").address, maxUint256, 2n]); // the whole debt, from the aTokens
    await later(86_400);
    await repay(3, "WETH", "max");
    await later(3_600);
    await withdraw(3, "WBTC", "max"); // bit cleared
    await withdraw(6, "USDC", "max");
    await expectStateEqualsChain("max");
  });

  it("liquidations (collateral burned, and received as aTokens) move balances by the token logs; the history record", async () => {
    await supply(7, "WETH", "2");
    await borrow(7, "USDC", "4600");
    await later(3_600);
    await setPrice("WETH", "2700"); // HF = 5400·0.825 / 4600 < 1
    await tx(ADMIN, asset("USDC").address, mintableErc20Abi, "mint", [addr(5), units("USDC", "100000")]);
    await tx(5, asset("USDC").address, mintableErc20Abi, "approve", [d.pool, maxUint256]);
    await tx(5, d.pool, poolAbi, "liquidationCall", [asset("WETH").address, asset("USDC").address, addr(7), units("USDC", "1000"), false]);
    await tx(5, d.pool, poolAbi, "liquidationCall", [asset("WETH").address, asset("USDC").address, addr(7), units("USDC", "500"), true]);
    const state = await expectStateEqualsChain("liquidated");
    expect(state.position(addr(5), asset("WETH").address)!.scaledCollateral > 0n, "the liquidator's aTokens").to.equal(true);
    const head = await node.publicClient.getBlockNumber();
    const logs = await node.publicClient.getLogs({ address: d.pool, fromBlock: head - 4n, toBlock: head });
    // (ReserveDataUpdated needs the sync engine's timestamp stamp: the others decode from the bare log)
    const changes = logs
      .filter((l) => !adapterFor(d).timestampedEvents?.has(l.topics[0]!))
      .flatMap((l) => adapterFor(d).decode(l, "pool"))
      .filter((c) => c.kind === "liquidation");
    expect(changes.map((c) => [c.borrower, c.liquidator, c.collateralAsset, c.debtAsset])).to.deep.equal([
      [addr(7), addr(5), asset("WETH").address, asset("USDC").address],
      [addr(7), addr(5), asset("WETH").address, asset("USDC").address],
    ]);
    await setPrice("WETH", "3000");
  });

  it("ReserveDataUpdated logs are stamped with their block's time: one header per block that has one, none for others", async () => {
    let headers = 0;
    const counting = createPublicClient({
      transport: custom({
        request: async (args: { method: string; params?: unknown }) => {
          if (args.method === "eth_getBlockByHash") headers++;
          return http(node.url)({}).request(args as never);
        },
      }),
    }) as PublicClient;
    await expectStateEqualsChain("counted", counting);
    const logs = await node.publicClient.getLogs({ address: d.pool, fromBlock: BigInt(d.startBlock) });
    const blocks = new Set(
      logs.filter((l) => l.topics[0] === (adapterFor(d).timestampedEvents?.values().next().value as Hex)).map((l) => l.blockHash),
    );
    expect(blocks.size).to.be.greaterThan(10);
    expect(headers, "headers fetched by the rebuild").to.equal(blocks.size);
  });

  it("warns, without throwing, on an eMode category with its own price source", async () => {
    await tx(ADMIN, d.poolConfigurator!, poolConfiguratorAbi, "setEModeCategory", [2, 9000, 9300, 10200, asset("DAI").feed, "with a source"]);
    const warnings: string[] = [];
    const adapter = boundAaveV3(d, (m) => warnings.push(m));
    const head = await node.publicClient.getBlockNumber();
    const logs = await node.publicClient.getLogs({ address: d.poolConfigurator!, fromBlock: head, toBlock: head });
    const [c] = logs.flatMap((l) => adapter.decode(l, "configurator"));
    expect(c).to.include({ kind: "category-set", category: 2, priceSource: asset("DAI").feed, label: "with a source" });
    expect(warnings.length).to.equal(1);
    expect(warnings[0]).to.match(/prices from a category price source are not supported/);
    await expectStateEqualsChain("category 2");
  });
});
