// Property: the pool's events alone rebuild every balance exactly. A seeded random run of every action (with a
// liquidation and a bad-debt write-off) is replayed through indexer/state and compared with the contract's views.
import { seededRandom } from "../../common/random";
import { expect } from "chai";
import type { Log } from "viem";
import { deposit, tx, type Fixture, type Wallet } from "../fixtures/protocol";
import { emittingAggregatorAbi, marginPoolAbi, mockV3AggregatorAbi } from "../../protocols/marginpool/generated/abis";
import { parseEventLogs } from "viem";
import { compareChanges } from "../../indexer/state/changes";
import { decodeLog } from "../../protocols/marginpool/decode";
import type { PositionInput } from "../../protocols/types";
import { ProtocolState } from "../../indexer/state/state";
import * as math from "../../protocols/marginpool/math";
import { borrow, increaseTime } from "../fixtures/protocol";
import {
  MAX_UINT,
  RAY,
  addr,
  ceilDiv,
  depositRaw,
  feedRound,
  floorDiv,
  from,
  latestTimestamp,
  mintTo,
  poolTx,
  refreshFeeds,
  useFixture,
} from "./helpers";

// mulberry32 (common/random.ts): a failure reproduces with the same seed.
const rng = seededRandom;

const SYMBOLS = ["WETH", "WBTC", "USDC", "DAI"] as const;

async function setAnswer(f: Fixture, symbol: string, answer: bigint): Promise<void> {
  const a = f.asset(symbol);
  await tx(f, f.owner, a.feed, a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi, "updateAnswer", [answer]);
}

/** Sends only if an eth_call of the same action succeeds, so the run never mines a reverted transaction. */
async function attempt(f: Fixture, w: Wallet, fn: string, args: unknown[]): Promise<boolean> {
  try {
    await f.publicClient.simulateContract({
      address: f.deployment.pool as `0x${string}`,
      abi: marginPoolAbi,
      functionName: fn as never,
      args: args as never,
      ...from(w),
    });
  } catch {
    return false;
  }
  await poolTx(f, w, fn, args);
  return true;
}

describe("events rebuild every balance", () => {
  const fx = useFixture();

  it("a seeded random run replayed through ProtocolState equals getPosition / getReserveData / getAccountData", async function () {
    this.timeout(120_000);
    const f = fx();
    const rand = rng(20240607);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const frac = (lo: number, hi: number): bigint => BigInt(Math.floor((lo + rand() * (hi - lo)) * 1e6));
    const actors = [f.borrower, f.supplier, f.others[0]!, f.others[1]!, f.others[2]!];
    const DEADBEAT = f.others[3]!;
    const LIQUIDATOR = f.liquidator;

    for (const s of SYMBOLS) {
      await deposit(f, f.supplier, s, s === "WBTC" ? "50" : s === "WETH" ? "500" : "2000000");
      await mintTo(f, LIQUIDATOR, s, 10n ** 30n);
    }

    // Scripted: a WETH-only account borrowing two assets is crushed and leaves bad debt in both.
    await deposit(f, DEADBEAT, "WETH", "10");
    await borrow(f, DEADBEAT, "USDC", "12000");
    await borrow(f, DEADBEAT, "DAI", "4000");
    await increaseTime(3 * 86400);
    await refreshFeeds(f);
    await setAnswer(f, "WETH", 1000n * 10n ** 8n);
    await poolTx(f, LIQUIDATOR, "liquidate", [addr(DEADBEAT), f.asset("WETH").address, f.asset("USDC").address, MAX_UINT]);
    await setAnswer(f, "WETH", 3000n * 10n ** 8n);

    // Random: deposits, withdrawals, borrows, repays, time, price moves and liquidations of whoever falls below 1.
    for (const w of actors) await deposit(f, w, pick(["WETH", "WBTC"]), pick(["1", "2", "5"]));
    let sent = 0;
    for (let step = 0; step < 150; step++) {
      const w = pick(actors);
      const s = pick(SYMBOLS);
      const a = f.asset(s);
      const unit = 10n ** BigInt(a.decimals);
      const roll = rand();
      if (roll < 0.15) {
        await depositRaw(f, w, s, (unit * frac(0.01, 3)) / 1_000_000n + 1n);
        sent++;
      } else if (roll < 0.4) {
        const d = await f.pool.read.getAccountData([addr(w)]);
        const price = await f.oracle.read.getAssetPrice([a.address]);
        const amount = (d.availableBorrowsBase * frac(0.1, 0.95) * unit) / (price * 1_000_000n);
        if (amount > 0n && (await attempt(f, w, "borrow", [a.address, amount]))) sent++;
      } else if (roll < 0.55) {
        const [, scaledDebt, , debt] = await f.pool.read.getPosition([addr(w), a.address]);
        if (scaledDebt === 0n) continue;
        await mintTo(f, w, s, debt + unit);
        const amount = rand() < 0.3 ? MAX_UINT : (debt * frac(0.05, 0.9)) / 1_000_000n + 1n;
        if (await attempt(f, w, "repay", [a.address, amount, addr(w)])) sent++;
      } else if (roll < 0.7) {
        const [scaledColl, , coll] = await f.pool.read.getPosition([addr(w), a.address]);
        if (scaledColl === 0n) continue;
        const amount = rand() < 0.3 ? MAX_UINT : (coll * frac(0.05, 0.9)) / 1_000_000n + 1n;
        if (await attempt(f, w, "withdraw", [a.address, amount, addr(w)])) sent++;
      } else if (roll < 0.8) {
        await increaseTime(Math.floor(rand() * 20 * 86400));
        await refreshFeeds(f);
      } else if (roll < 0.92) {
        const vol = pick(["WETH", "WBTC"]);
        const { answer } = await feedRound(f, vol);
        await setAnswer(f, vol, (answer * frac(0.75, 1.2)) / 1_000_000n);
      } else {
        for (const v of actors) {
          if ((await f.pool.read.healthFactor([addr(v)])) >= 10n ** 18n) continue;
          const held = await Promise.all(SYMBOLS.map((x) => f.pool.read.getPosition([addr(v), f.asset(x).address])));
          const coll = SYMBOLS.find((_, i) => held[i]![0] > 0n);
          const debt = SYMBOLS.find((_, i) => held[i]![1] > 0n);
          if (coll && debt && (await attempt(f, LIQUIDATOR, "liquidate", [addr(v), f.asset(coll).address, f.asset(debt).address, MAX_UINT]))) sent++;
        }
      }
    }
    // Push everyone with debt under water once, so the run certainly contains random-path liquidations too.
    await setAnswer(f, "WETH", 1200n * 10n ** 8n);
    await setAnswer(f, "WBTC", 24_000n * 10n ** 8n);
    for (const v of actors) {
      const held = await Promise.all(SYMBOLS.map((x) => f.pool.read.getPosition([addr(v), f.asset(x).address])));
      const coll = SYMBOLS.find((_, i) => held[i]![0] > 0n);
      const debt = SYMBOLS.find((_, i) => held[i]![1] > 0n);
      if (coll && debt) await attempt(f, LIQUIDATOR, "liquidate", [addr(v), f.asset(coll).address, f.asset(debt).address, MAX_UINT]);
    }
    expect(sent > 60, `actions sent: ${sent}`).to.equal(true);
    // A day with no pool event: the views extrapolate and so must the replay. Feeds are refreshed so every
    // account can be priced; nothing is mined after this point.
    await increaseTime(86400);
    await refreshFeeds(f);

    // ---- replay ----
    const fromBlock = BigInt(f.deployment.startBlock);
    const [poolLogs, oracleLogs] = await Promise.all([
      f.publicClient.getLogs({ address: f.deployment.pool as `0x${string}`, fromBlock }),
      f.publicClient.getLogs({ address: f.deployment.oracle as `0x${string}`, fromBlock }),
    ]);
    // The raw events (their amounts and indexes), then the adapter's changes of the same logs into state.
    const raw = parseEventLogs({ abi: marginPoolAbi, logs: poolLogs as Log[] }).sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );
    const changes = [...poolLogs.flatMap((l) => decodeLog(l as Log, "pool")), ...oracleLogs.flatMap((l) => decodeLog(l as Log, "oracle"))].sort(
      compareChanges,
    );
    const state = new ProtocolState();
    const lastIndex = new Map<string, { liquidityIndex: bigint; borrowIndex: bigint }>();
    const counts: Record<string, number> = {};
    for (const e0 of raw) {
      const e = {
        eventName: e0.eventName,
        args: Object.fromEntries(Object.entries(e0.args).map(([k, v]) => [k, typeof v === "string" ? v.toLowerCase() : v])),
        // biome-ignore lint/suspicious/noExplicitAny: each branch reads the fields its event declares
      } as any;
      counts[e.eventName] = (counts[e.eventName] ?? 0) + 1;
      if (e.eventName === "ReserveDataUpdated") lastIndex.set(e.args.asset, e.args);
      if (e.eventName === "Deposit" || e.eventName === "Withdraw") {
        expect(e.args.liquidityIndex).to.equal(lastIndex.get(e.args.asset)!.liquidityIndex);
        const exact = (e.args.amount * RAY) / e.args.liquidityIndex;
        if (e.eventName === "Deposit") expect(e.args.scaledAmount).to.equal(floorDiv(e.args.amount * RAY, e.args.liquidityIndex));
        else expect(e.args.scaledAmount - exact <= 1n && e.args.scaledAmount >= exact).to.equal(true);
      }
      if (e.eventName === "Borrow" || e.eventName === "Repay") {
        expect(e.args.borrowIndex).to.equal(lastIndex.get(e.args.asset)!.borrowIndex);
        if (e.eventName === "Borrow") expect(e.args.scaledAmount).to.equal(ceilDiv(e.args.amount * RAY, e.args.borrowIndex));
      }
    }
    for (const c of changes) state.apply(c);
    expect(counts.Liquidation! >= 3, `liquidations: ${counts.Liquidation}`).to.equal(true);
    expect(counts.BadDebtWrittenOff! >= 2, `write-offs: ${counts.BadDebtWrittenOff}`).to.equal(true);
    for (const n of ["Deposit", "Withdraw", "Borrow", "Repay"]) expect(counts[n]! > 0, n).to.equal(true);

    const now = await latestTimestamp(f);
    for (const s of SYMBOLS) {
      const asset = f.asset(s).address.toLowerCase() as `0x${string}`;
      const st = state.assets.get(asset)!;
      const r = await f.pool.read.getReserveData([asset]);
      const idx = math.currentIndexes(st, now);
      expect([st.totalScaledCollateral, st.totalScaledDebt, st.deficit], `${s} totals`).to.deep.equal([
        r.totalScaledCollateral,
        r.totalScaledDebt,
        r.deficit,
      ]);
      expect([idx.liquidityIndex, idx.borrowIndex, st.liquidityRate, st.borrowRate, st.lastUpdateTimestamp], `${s} indexes`).to.deep.equal([
        r.liquidityIndex,
        r.borrowIndex,
        r.liquidityRate,
        r.borrowRate,
        r.lastUpdateTimestamp,
      ]);
      const cfg = await f.pool.read.getAssetConfig([asset]);
      expect([st.ltvBps, st.liquidationThresholdBps, st.liquidationBonusBps, st.reserveFactorBps]).to.deep.equal(
        [cfg.ltvBps, cfg.liquidationThresholdBps, cfg.liquidationBonusBps, cfg.reserveFactorBps].map(BigInt),
      );
      expect(state.feeds.get(asset)!.heartbeat).to.equal(BigInt(f.asset(s).heartbeat));
    }
    const deficits = await Promise.all(SYMBOLS.map(async (s) => (await f.pool.read.getReserveData([f.asset(s).address])).deficit));
    expect(deficits.filter((d) => d > 0n).length >= 2).to.equal(true);

    for (const w of [...actors, DEADBEAT, LIQUIDATOR]) {
      const account = addr(w).toLowerCase() as `0x${string}`;
      const inputs: PositionInput[] = [];
      for (const s of SYMBOLS) {
        const asset = f.asset(s).address.toLowerCase() as `0x${string}`;
        const p = state.position(account, asset) ?? { scaledCollateral: 0n, scaledDebt: 0n };
        const st = state.assets.get(asset)!;
        const idx = math.currentIndexes(st, now);
        const [sc, sd, c, d] = await f.pool.read.getPosition([account, asset]);
        expect([p.scaledCollateral, p.scaledDebt], `${s} of ${account}`).to.deep.equal([sc, sd]);
        expect([math.rayMulDown(p.scaledCollateral, idx.liquidityIndex), math.rayMulUp(p.scaledDebt, idx.borrowIndex)]).to.deep.equal([c, d]);
        if (p.scaledCollateral === 0n && p.scaledDebt === 0n) continue;
        inputs.push({
          ...p,
          ...idx,
          price: await f.oracle.read.getAssetPrice([asset]),
          collateralEnabled: true,
          category: null,
          unit: 10n ** BigInt(st.decimals),
          ltvBps: st.ltvBps,
          liquidationThresholdBps: st.liquidationThresholdBps,
        });
      }
      // Balances from events + prices from the feeds give the contract's account data to the unit.
      const m = math.accountData(inputs);
      const d = await f.pool.read.getAccountData([account]);
      expect(
        [d.totalCollateralBase, d.totalDebtBase, d.availableBorrowsBase, d.currentLiquidationThresholdBps, d.ltvBps, d.healthFactor],
        account,
      ).to.deep.equal([m.totalCollateralBase, m.totalDebtBase, m.availableBorrowsBase, m.currentLiquidationThresholdBps, m.ltvBps, m.healthFactor]);
    }
  });
});
