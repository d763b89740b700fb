// The project's key test: the health engine, fed only with logs (pool, oracle, feeds) and oracle prices, gives every
// account the same health factor and account data as MarginPool itself, to the wei, at every sampled block —
// including blocks where only time passed. Then the behaviours the keeper relies on, each on a real chain:
// interest alone making an account liquidatable, a stale feed making exactly its holders unknown, price moves
// in and out of the liquidatable set, and liquidation prices that land on HF = 1.
import hre from "hardhat";
import { expect } from "chai";
import { BaseError, ContractFunctionRevertedError, parseUnits, type Log } from "viem";
import { emittingAggregatorAbi, marginPoolAbi, mockV3AggregatorAbi, testTokenAbi } from "../../common/generated/abis";
import { MAX_UINT256, WAD, normalisePrice } from "../../common/math";
import type { Hex20 } from "../../common/deployment";
import { HealthEngine } from "../../indexer/health/engine";
import { seededRandom } from "../../indexer/health/synthetic";
import type { Address, HealthEngineOptions, HealthUpdate, PriceInfo } from "../../indexer/health/types";
import { compareEvents, decodeLog, type ChainEvent } from "../../indexer/state/events";
import { ProtocolState } from "../../indexer/state/state";
import { borrow, deployFixture, deposit, increaseTime, setPrice, tx, type Fixture, type Wallet } from "../fixtures/protocol";

const SYMBOLS = ["WETH", "WBTC", "USDC", "DAI"] as const;
const lower = (a: string) => a.toLowerCase() as Address;

/** The custom error a call reverted with (decoded by viem, or named in the in-process node's message). */
function revertName(e: unknown): string | undefined {
  const err = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : null;
  if (err instanceof ContractFunctionRevertedError && err.data?.errorName) return err.data.errorName;
  return /reverted with custom error '(\w+)\(/.exec(String((e as Error)?.message ?? e))?.[1];
}

/**
 * What the indexer does, in miniature: logs → decodeLog → ProtocolState.apply → engine.onStateChange; prices from
 * PriceOracle.getAssetPrice at the block (stale / invalid when it reverts, with latestRoundData's answer).
 */
class ChainMirror {
  readonly state = new ProtocolState();
  readonly engines: HealthEngine[];
  private readonly kinds = new Map<string, "pool" | "oracle" | "feed">();
  private events: ChainEvent[] = [];
  private fetched: bigint;
  private applied = -1;

  constructor(
    readonly f: Fixture,
    options: HealthEngineOptions[] = [{}],
  ) {
    this.engines = options.map((o) => new HealthEngine(this.state, o));
    this.kinds.set(lower(f.deployment.pool), "pool");
    this.kinds.set(lower(f.deployment.oracle), "oracle");
    for (const a of f.deployment.assets) this.kinds.set(lower(a.feed), "feed");
    this.fetched = BigInt(f.deployment.startBlock) - 1n;
  }

  get engine(): HealthEngine {
    return this.engines[0]!;
  }

  /** Fetches all logs up to `block` with one getLogs over the pool, the oracle and every feed. */
  async fetch(block: bigint): Promise<void> {
    if (block <= this.fetched) return;
    const logs = (await this.f.publicClient.getLogs({
      address: [...this.kinds.keys()] as Hex20[],
      fromBlock: this.fetched + 1n,
      toBlock: block,
    })) as Log[];
    for (const log of logs) {
      const e = decodeLog(log, this.kinds.get(lower(log.address))!);
      if (e) this.events.push(e);
    }
    this.events.sort(compareEvents);
    this.fetched = block;
  }

  /** Applies fetched events up to `block`, reads prices at `block`, evaluates every engine at its timestamp. */
  async evaluateAt(block: bigint): Promise<{ updates: HealthUpdate[]; now: bigint; prices: Map<Address, PriceInfo> }> {
    await this.fetch(block);
    while (this.applied + 1 < this.events.length && this.events[this.applied + 1]!.meta.blockNumber <= block) {
      const change = this.state.apply(this.events[++this.applied]!);
      for (const e of this.engines) e.onStateChange(change);
    }
    const prices = await this.pricesAt(block);
    for (const [asset, info] of prices) for (const e of this.engines) e.setPrice(asset, info);
    const now = (await this.f.publicClient.getBlock({ blockNumber: block })).timestamp;
    return { updates: this.engines.map((e) => e.evaluate(now, block)), now, prices };
  }

  async pricesAt(blockNumber: bigint): Promise<Map<Address, PriceInfo>> {
    const out = new Map<Address, PriceInfo>();
    for (const a of this.f.deployment.assets) {
      try {
        out.set(lower(a.address), { price: await this.f.oracle.read.getAssetPrice([a.address as Hex20], { blockNumber }), status: "fresh" });
      } catch (e) {
        const name = revertName(e);
        if (name !== "StalePrice" && name !== "InvalidPrice") throw e;
        const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
        const round = (await this.f.publicClient.readContract({
          address: a.feed as Hex20,
          abi,
          functionName: "latestRoundData",
          blockNumber,
        })) as readonly [bigint, bigint, bigint, bigint, bigint];
        out.set(lower(a.address), { price: normalisePrice(round[1], a.feedDecimals), status: name === "StalePrice" ? "stale" : "invalid" });
      }
    }
    return out;
  }

  /** A reorg back to `block`: the state undoes its journal, the engines rebuild what it touched. */
  rollbackTo(block: bigint): void {
    const change = this.state.rollbackTo(block);
    for (const e of this.engines) e.onRollback(change);
    while (this.applied >= 0 && this.events[this.applied]!.meta.blockNumber > block) this.applied--;
  }

  async latest(): Promise<bigint> {
    return this.f.publicClient.getBlockNumber();
  }
}

/** Every account's HF and account data, from the engine and from the pool at `block`, must be equal. */
async function expectParity(m: ChainMirror, block: bigint, now: bigint, label: string): Promise<number> {
  const chainLiquidatable: Address[] = [];
  let compared = 0;
  for (const account of [...m.state.accounts.keys()].sort()) {
    const mine = m.engine.account(account, now)!;
    const hf = await m.f.pool.read.healthFactor([account as Hex20], { blockNumber: block });
    expect(mine.healthFactor, `${label}: HF of ${account}`).to.equal(hf);
    const d = await m.f.pool.read.getAccountData([account as Hex20], { blockNumber: block });
    expect(
      [mine.totalCollateralBase, mine.totalDebtBase, mine.availableBorrowsBase, mine.currentLiquidationThresholdBps, mine.ltvBps, mine.healthFactor],
      `${label}: account data of ${account}`,
    ).to.deep.equal([d.totalCollateralBase, d.totalDebtBase, d.availableBorrowsBase, d.currentLiquidationThresholdBps, d.ltvBps, d.healthFactor]);
    if (hf < WAD) chainLiquidatable.push(account);
    compared++;
  }
  expect(
    m.engine.liquidatable().map((e) => e.account),
    `${label}: liquidatable set`,
  ).to.deep.equal(chainLiquidatable);
  return compared;
}

// ---------------------------------------------------------------- chain helpers

async function send(w: Wallet, address: string, abi: readonly unknown[], functionName: string, args: unknown[]): Promise<boolean> {
  try {
    await w.writeContract({
      address: address as Hex20,
      abi: abi as never,
      functionName: functionName as never,
      args: args as never,
      account: w.account,
      chain: w.chain,
      gas: 1_500_000n,
    });
    return true;
  } catch (e) {
    if (process.env.PARITY_DEBUG) console.log(functionName, String(e).split("\n")[0]);
    return false; // a revert (hardhat throws on a failed transaction in automine): the action is skipped
  }
}

async function setAnswerUsd(f: Fixture, symbol: string, usd: number): Promise<void> {
  await setPrice(f, symbol, usd.toFixed(6));
}

// ---------------------------------------------------------------- tests

describe("health engine parity with MarginPool on the in-process chain", function () {
  this.timeout(120_000);

  it("every account, at every sampled block, has the chain's HF and account data to the wei", async () => {
    const f = await deployFixture();
    const rand = seededRandom(20_251_126);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const usd: Record<string, number> = { WETH: 3000, WBTC: 60000, USDC: 1, DAI: 1 };
    const pool = f.deployment.pool;

    // 40 actors: impersonated addresses with ETH for gas, tokens minted by the owner, the pool approved.
    const actors: Wallet[] = [];
    for (let i = 0; i < 40; i++) {
      const address = `0x${Array.from({ length: 5 }, () =>
        Math.floor(rand() * 2 ** 32)
          .toString(16)
          .padStart(8, "0"),
      ).join("")}` as Hex20;
      await hre.network.provider.send("hardhat_impersonateAccount", [address]);
      await hre.network.provider.send("hardhat_setBalance", [address, "0x56BC75E2D63100000"]);
      actors.push((await hre.viem.getWalletClient(address)) as unknown as Wallet);
    }
    const funded = new Set<string>();
    const fund = async (w: Wallet, symbol: string) => {
      const key = `${w.account.address}:${symbol}`;
      if (funded.has(key)) return;
      funded.add(key);
      const a = f.asset(symbol);
      await send(f.owner, a.address, testTokenAbi, "mint", [w.account.address, parseUnits("1000000000", a.decimals)]);
      await send(w, a.address, testTokenAbi, "approve", [pool, MAX_UINT256]);
    };
    for (const s of SYMBOLS) {
      await deposit(f, f.supplier, s, s === "WBTC" ? "40" : s === "WETH" ? "800" : "3000000");
      await fund(f.liquidator, s);
    }

    const samples: bigint[] = [];
    const sample = async () => samples.push(await f.publicClient.getBlockNumber());
    const movePrices = async (shock: Partial<Record<string, number>> = {}) => {
      for (const s of SYMBOLS) {
        usd[s] = usd[s]! * (shock[s] ?? 0.95 + rand() * 0.09);
        await setAnswerUsd(f, s, usd[s]!);
      }
    };

    let sent = 0;
    let liquidations = 0;
    for (let round = 0; round < 9; round++) {
      await movePrices(round === 5 ? { WETH: 0.72, WBTC: 0.8, USDC: 1, DAI: 1 } : round === 7 ? { WETH: 1.2, WBTC: 1.1, USDC: 1, DAI: 1 } : {});
      if (round >= 4) {
        await sample(); // prices moved, positions not yet
        // The liquidator takes whoever is under 1: largest debt against largest collateral.
        for (const w of actors) {
          const me = w.account.address;
          if ((await f.pool.read.healthFactor([me])) >= WAD) continue;
          let best = { coll: 0n, debt: 0n, c: "", d: "" };
          for (const s of SYMBOLS) {
            const a = f.asset(s);
            const [, , collateral, debt] = await f.pool.read.getPosition([me, a.address as Hex20]);
            const scale = parseUnits(usd[s]!.toFixed(6), 18 - a.decimals + 2);
            if (collateral * scale > best.coll) best = { ...best, coll: collateral * scale, c: a.address };
            if (debt * scale > best.debt) best = { ...best, debt: debt * scale, d: a.address };
          }
          if (best.c && best.d) liquidations += Number(await send(f.liquidator, pool, marginPoolAbi, "liquidate", [me, best.c, best.d, MAX_UINT256]));
        }
        await sample();
      }
      for (const w of actors) {
        const me = w.account.address;
        const u = rand();
        const s = pick(SYMBOLS);
        const a = f.asset(s);
        const unitsPerUsd = (x: number) => parseUnits((x / usd[s]!).toFixed(Math.min(a.decimals, 12)), a.decimals);
        if (u < 0.4 || round === 0) {
          await fund(w, s);
          sent += Number(await send(w, pool, marginPoolAbi, "deposit", [a.address, unitsPerUsd(500 + rand() * 20_000), me]));
        } else if (u < 0.72) {
          const d = await f.pool.read.getAccountData([me]);
          if (d.availableBorrowsBase === 0n) continue;
          // A third of the borrows go almost to the limit, so that price moves and interest make liquidations.
          const fraction = rand() < 0.35 ? 0.97 + rand() * 0.029 : 0.2 + rand() * 0.6;
          sent += Number(await send(w, pool, marginPoolAbi, "borrow", [a.address, unitsPerUsd((Number(d.availableBorrowsBase) / 1e8) * fraction)]));
        } else if (u < 0.86) {
          const [, , , debt] = await f.pool.read.getPosition([me, a.address as Hex20]);
          if (debt === 0n) continue;
          await fund(w, s);
          const amount = rand() < 0.3 ? MAX_UINT256 : (debt * BigInt(Math.floor(rand() * 1e6))) / 1_000_000n + 1n;
          sent += Number(await send(w, pool, marginPoolAbi, "repay", [a.address, amount, me]));
        } else if (u < 0.97) {
          const [, , collateral] = await f.pool.read.getPosition([me, a.address as Hex20]);
          if (collateral === 0n) continue;
          const amount = rand() < 0.3 ? MAX_UINT256 : (collateral * BigInt(Math.floor(rand() * 1e6))) / 2_000_000n + 1n;
          sent += Number(await send(w, pool, marginPoolAbi, "withdraw", [a.address, amount, me]));
        }
      }
      await sample();
      if (round === 2 || round === 6) {
        await increaseTime(2_400); // an empty block, only time passed (feeds are still within their heartbeat)
        await sample();
      }
      if (round === 3) {
        // Five days of interest, then fresh prices: the sampled block holds feed rounds only, no pool event.
        await increaseTime(5 * 86_400);
        await movePrices({ WETH: 1, WBTC: 1, USDC: 1, DAI: 1 });
        await sample();
      }
    }
    expect(sent).to.be.greaterThan(200);
    expect(liquidations).to.be.greaterThan(0);

    const m = new ChainMirror(f);
    await m.fetch(samples[samples.length - 1]!);
    let compared = 0;
    let liquidatableSeen = 0;
    for (const block of samples) {
      const { now } = await m.evaluateAt(block);
      compared += await expectParity(m, block, now, `block ${block}`);
      liquidatableSeen += m.engine.liquidatable().length;
    }
    expect(liquidatableSeen).to.be.greaterThan(0);

    // A reorg back to a middle sample (time runs backwards for the engine), then forward again: still exact.
    const middle = samples[Math.floor(samples.length / 2)]!;
    m.rollbackTo(middle);
    const back = await m.evaluateAt(middle);
    expect(back.updates[0]!.rebased).to.equal(true);
    await expectParity(m, middle, back.now, `rolled back to ${middle}`);
    const last = samples[samples.length - 1]!;
    const forward = await m.evaluateAt(last);
    await expectParity(m, last, forward.now, `replayed to ${last}`);
    console.log(`      ${sent} actions, ${liquidations} liquidations, ${samples.length} sampled blocks, ${compared} account comparisons, all equal`);
  });

  it("interest alone takes an account under 1: it appears in liquidatable() after evaluate, with no event", async () => {
    const f = await deployFixture();
    const who = lower(f.borrower.account.address);
    await deposit(f, f.supplier, "WBTC", "1");
    await deposit(f, f.borrower, "USDC", "100000");
    await borrow(f, f.borrower, "WBTC", "0.99"); // 99% utilisation: WBTC's kinked rate is ~300% a year
    await setAnswerUsd(f, "USDC", 0.7445); // HF ≈ 1.003
    // Engine 0: default drift budget (this day of interest forces a rebase); engine 1: a 50% budget, so only
    // its watch set can notice.
    const m = new ChainMirror(f, [{}, { driftBudgetBps: 5_000 }]);
    const before = await m.latest();
    const first = await m.evaluateAt(before);
    const hf0 = m.engine.account(who, first.now)!.healthFactor!;
    expect(hf0 >= WAD && hf0 < (WAD * 1005n) / 1000n).to.equal(true);
    for (const e of m.engines) expect(e.liquidatable()).to.deep.equal([]);
    const version = m.engine.positionVersion(who);

    await increaseTime(86_400);
    for (const s of SYMBOLS) await setAnswerUsd(f, s, s === "USDC" ? 0.7445 : s === "WETH" ? 3000 : s === "WBTC" ? 60000 : 1);
    const block = await m.latest();
    await m.fetch(block);
    expect(m.state.accounts.size).to.equal(2);
    for (const e of m.engines) expect(e.liquidatable(), "not before evaluate").to.deep.equal([]);

    const { updates, now } = await m.evaluateAt(block);
    const chainHf = await f.pool.read.healthFactor([who as Hex20], { blockNumber: block });
    expect(chainHf < WAD).to.equal(true);
    const [rebasing, watching] = updates as [HealthUpdate, HealthUpdate];
    expect(rebasing.rebased).to.equal(true);
    expect(watching.rebased).to.equal(false);
    expect(watching.recomputed).to.equal(1);
    m.engines.forEach((e, i) => {
      expect(updates[i]!.liquidatableAdded).to.deep.equal([who]);
      expect(e.liquidatable().map((x) => [x.account, x.healthFactor, x.since, x.positionVersion])).to.deep.equal([[who, chainHf, block, version]]);
    });
    expect(m.engine.positionVersion(who)).to.equal(version); // no position event moved it
    expect(m.engine.account(who, now)!.status).to.equal("liquidatable");
  });

  describe("prices: in and out of the liquidatable set, stale feeds, liquidation prices", () => {
    let f: Fixture;
    let m: ChainMirror;
    let A: Address, B: Address, C: Address, D: Address;

    before(async () => {
      f = await deployFixture();
      const [a, b, c, d] = f.others as [Wallet, Wallet, Wallet, Wallet];
      [A, B, C, D] = [a, b, c, d].map((w) => lower(w.account.address)) as [Address, Address, Address, Address];
      for (const s of SYMBOLS) await deposit(f, f.supplier, s, s === "WBTC" ? "10" : s === "WETH" ? "100" : "1000000");
      await deposit(f, a, "WETH", "1");
      await borrow(f, a, "USDC", "2300"); // HF = 3000·0.825 / 2300 ≈ 1.076
      await deposit(f, b, "WBTC", "0.1");
      await borrow(f, b, "USDC", "3000");
      await deposit(f, c, "WETH", "2"); // no debt
      await deposit(f, d, "USDC", "10000");
      await borrow(f, d, "WETH", "2");
      m = new ChainMirror(f);
      await m.evaluateAt(await m.latest());
      expect(m.engine.liquidatable()).to.deep.equal([]);
    });

    const step = async (label: string) => {
      const block = await m.latest();
      const { updates, now } = await m.evaluateAt(block);
      await expectParity(m, block, now, label);
      return { update: updates[0]!, block, now };
    };

    it("a price update moves accounts in and out of the liquidatable set", async () => {
      await setAnswerUsd(f, "WETH", 2700); // A: 2700·0.825 / 2300 < 1; D (WETH debt) gets healthier
      const down = await step("WETH 2700");
      expect(down.update.liquidatableAdded).to.deep.equal([A]);
      expect(m.engine.liquidatable()[0]!.since).to.equal(down.block);

      await setAnswerUsd(f, "WETH", 3000);
      const up = await step("WETH 3000");
      expect(up.update.liquidatableAdded).to.deep.equal([]);
      expect(up.update.liquidatableRemoved).to.deep.equal([A]);
      expect(m.engine.liquidatable()).to.deep.equal([]);

      await setAnswerUsd(f, "WETH", 2700);
      const again = await step("WETH 2700 again");
      expect(again.update.liquidatableAdded).to.deep.equal([A]);
      expect(m.engine.liquidatable()[0]!.since, "a new episode").to.equal(again.block);
    });

    it("a stale price marks exactly the holders of that asset (with debt) unknown, never liquidatable", async () => {
      await increaseTime(3_700); // past WETH's 3600 s heartbeat
      for (const s of ["WBTC", "USDC", "DAI"]) await setAnswerUsd(f, s, s === "WBTC" ? 60000 : 1);
      const block = await m.latest();
      const { updates, prices, now } = await m.evaluateAt(block);
      expect(prices.get(lower(f.asset("WETH").address))!.status).to.equal("stale");
      expect(m.engine.unknown()).to.deep.equal([A, D].sort());
      expect(updates[0]!.unknownAdded).to.deep.equal([A, D].sort());
      expect(updates[0]!.liquidatableRemoved).to.deep.equal([A]);
      expect(m.engine.liquidatable()).to.deep.equal([]);
      // The chain agrees: it cannot price A or D; C (no debt) is at max; B does not hold WETH.
      for (const x of [A, D]) {
        expect(m.engine.account(x, now)!.healthFactor).to.equal(null);
        expect(m.engine.account(x, now)!.status).to.equal("unknown");
        let reason: string | undefined;
        await f.pool.read.healthFactor([x as Hex20], { blockNumber: block }).catch((e) => {
          reason = revertName(e);
        });
        expect(reason).to.equal("StalePrice");
      }
      expect(await f.pool.read.healthFactor([C as Hex20], { blockNumber: block })).to.equal(MAX_UINT256);
      expect(m.engine.account(C, now)!.healthFactor).to.equal(MAX_UINT256);
      expect(m.engine.account(B, now)!.healthFactor).to.equal(await f.pool.read.healthFactor([B as Hex20], { blockNumber: block }));

      await setAnswerUsd(f, "WETH", 2700);
      const fresh = await step("WETH fresh again");
      expect(fresh.update.unknownRemoved).to.deep.equal([A, D].sort());
      expect(fresh.update.liquidatableAdded).to.deep.equal([A]);
      expect(m.engine.unknown()).to.deep.equal([]);
    });

    it("liquidation price: at it the chain says HF < 1, one unit above HF ≥ 1", async () => {
      const [, , , , e] = f.others as Wallet[];
      const E = lower(e!.account.address);
      await setAnswerUsd(f, "WETH", 3000);
      await deposit(f, e!, "DAI", "3000");
      await deposit(f, e!, "WETH", "1");
      await borrow(f, e!, "USDC", "3500"); // liquidatable at WETH ≈ 1333 (DAI fixed) or DAI ≈ 0.43 (WETH fixed)
      const { now } = await step("E borrows");
      const card = m.engine.account(E, now)!;
      const byAsset = new Map(card.liquidationPrices.map((l) => [l.asset, l]));
      for (const symbol of ["DAI", "WETH"] as const) {
        const a = f.asset(symbol);
        const liq = byAsset.get(lower(a.address))!;
        expect(liq.price, `${symbol} liquidation price`).to.not.equal(null);
        expect(Number(liq.dropPct) > 0 && Number(liq.dropPct) < 100).to.equal(true);
        const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
        const scale = 10n ** BigInt(a.feedDecimals - 8); // 8-decimal price → feed answer
        for (const [price, under] of [
          [liq.price!, true],
          [liq.price! + 1n, false],
        ] as const) {
          // At the timestamp the price was computed for: a second of interest on a loaded machine moves HF by more
          // than one unit of price does.
          await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(now)]);
          await tx(f, f.owner, a.feed, abi, "updateAnswer", [price * scale]);
          const hf = await f.pool.read.healthFactor([E as Hex20]);
          expect(hf < WAD, `${symbol} at ${price}: HF ${hf}`).to.equal(under);
          // One unit of an 8-decimal price moves this HF by far less than 1e-6.
          expect(hf > WAD - 10n ** 12n && hf < WAD + 10n ** 12n, `${symbol} at ${price}: HF ${hf} ≈ 1`).to.equal(true);
        }
        await tx(f, f.owner, a.feed, abi, "updateAnswer", [(symbol === "DAI" ? 1n : 3000n) * 10n ** BigInt(a.feedDecimals)]);
      }
      await step("prices restored");
    });
  });
});
