// Aave V3.0 market simulation for the embedded chain: seeds borrowers across the HF spectrum (single and mixed
// collateral, stablecoin eMode, a collateral flag turned off), then moves prices (random walk, a crash now and then,
// a feed that misses its heartbeat now and then) and lets borrowers use the Pool the way real users do.
import { createWalletClient, type Hex, http, keccak256, parseUnits, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { createNonceManager, jsonRpc as nonceFromChain } from "viem/nonce";
import type { Hex20 } from "../../common/deployment";
import { jsonRpc } from "../../common/hardhat-node";
import { confirm, submit, TransactionRevertedError } from "../../common/transact";
import type { Wallet } from "../../common/wallet";
import type { MarketSimulation as Simulation, SimulationOptions } from "../types";
import * as act from "./actions";
import { aaveTx, assetOf, type ChainContext, describeAaveReason, rng } from "./actions";
import { mintableErc20Abi, mockV3AggregatorAbi, poolAbi } from "./generated/abis";
import { AAVE_MARKET, type AaveAssetSpec, STABLECOIN_EMODE } from "./market";

export type { SimulationOptions };

const STABLES = new Set(["USDC", "DAI"]);

/** What a borrower was seeded as. */
export type BorrowerProfile =
  /** one volatile collateral (WETH or WBTC), stablecoin debt */
  | "volatile"
  /** two or three collateral assets, one of them with its collateral flag turned off; debt in a stablecoin and WETH */
  | "mixed"
  /** stablecoin eMode: a stablecoin collateral, the other stablecoin as debt, at the category's LTV */
  | "emode"
  /** a stablecoin collateral, WETH debt */
  | "stable";

export interface SimBorrower {
  wallet: Wallet;
  address: Hex20;
  profile: BorrowerProfile;
  /** assets it has supplied (grows when it receives aTokens) */
  collateral: string[];
  /** assets it borrows */
  debt: string[];
  /** the asset seeded with its collateral flag off (mixed profile) */
  flagOff: string | null;
  /** the HF the seed aimed at */
  targetHf: number;
}

/** A borrower's action in a tick. */
export const ACTION_KINDS = [
  "supply",
  "borrow",
  "repay",
  "repayAll",
  "withdraw",
  "withdrawAll",
  "transfer",
  "collateralToggle",
  "eModeSwitch",
  "repayWithATokens",
  "flashLoan",
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** Relative weights of the actions after the first ticks (which try each kind once, in order). */
const WEIGHTS: Readonly<Record<ActionKind, number>> = {
  supply: 14,
  borrow: 20,
  repay: 12,
  repayAll: 5,
  withdraw: 10,
  withdrawAll: 4,
  transfer: 10,
  collateralToggle: 8,
  eModeSwitch: 7,
  repayWithATokens: 5,
  flashLoan: 5,
};

const ACTIONS_PER_TICK = 4;
/** ticks a silenced feed stays silent */
const SILENCE_TICKS = 6;

export class AaveMarketSimulation implements Simulation {
  private readonly r: () => number;
  private readonly prices = new Map<string, number>();
  private readonly specs = new Map<string, AaveAssetSpec>();
  private readonly reserveIds = new Map<string, number>();
  private _borrowers: SimBorrower[] = [];
  private receiver: Hex20 | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private tickNo = 0;
  /** symbol whose feed is being held back (heartbeat miss), and until which tick */
  private silenced: { symbol: string; untilTick: number } | null = null;
  readonly ctx: ChainContext;
  private readonly nonceManager: ReturnType<typeof createNonceManager>;
  stats = { ticks: 0, crashes: 0, heartbeatMisses: 0, actions: 0, failedActions: 0 };
  /** per action kind: attempts that went through, attempts the Pool (or a token) refused */
  readonly kinds: Record<ActionKind, { ok: number; failed: number }> = Object.fromEntries(
    ACTION_KINDS.map((k) => [k, { ok: 0, failed: 0 }]),
  ) as Record<ActionKind, { ok: number; failed: number }>;

  constructor(private readonly o: SimulationOptions) {
    this.r = rng(o.seed);
    // The admin and the borrowers send many transactions at once: a local nonce manager keeps each sender's in
    // order. One per simulation, not viem's process-wide one: a new embedded chain in the same process must not
    // inherit nonces of the last one.
    this.nonceManager = createNonceManager({ source: nonceFromChain() });
    this.ctx = { publicClient: o.publicClient, deployment: o.deployment, admin: this.walletOf(o.adminKey) };
    for (const a of o.deployment.assets) {
      const spec = AAVE_MARKET.assets.find((s) => s.symbol === a.symbol);
      if (!spec) throw new Error(`aave simulation: no market spec for ${a.symbol}`);
      this.specs.set(a.symbol, spec);
      this.prices.set(a.symbol, Number(spec.priceUsd));
    }
  }

  /** The seeded borrowers (for tests and benchmarks). */
  get borrowers(): readonly SimBorrower[] {
    return this._borrowers;
  }

  /** Liquidity in every reserve, the fund addresses funded, `borrowers` accounts from HF ≈ 1.05 to ≈ 3. */
  async seed(): Promise<void> {
    const { deployment } = this.ctx;
    const admin = this.ctx.admin;
    const started = Date.now();
    const hashes: Hex[] = [];
    for (const a of deployment.assets) {
      const big = parseUnits("1000000000", a.decimals);
      hashes.push(await this.send(admin, a.address, mintableErc20Abi, "mint", [admin.account.address, big * 4n]));
      hashes.push(await this.send(admin, a.address, mintableErc20Abi, "approve", [deployment.pool, 2n ** 256n - 1n]));
      for (const to of this.o.fundAddresses) hashes.push(await this.send(admin, a.address, mintableErc20Abi, "mint", [to, big]));
    }
    await this.waitAll(hashes);
    hashes.length = 0;
    for (const a of deployment.assets) {
      const liquidity = a.symbol === "WBTC" ? "20000" : a.symbol === "WETH" ? "300000" : "500000000";
      hashes.push(
        await this.send(admin, deployment.pool, poolAbi, "supply", [a.address, parseUnits(liquidity, a.decimals), admin.account.address, 0]),
      );
    }
    await this.waitAll(hashes);
    this.receiver = await act.deployFlashLoanReceiver(this.ctx);
    for (const a of deployment.assets) {
      const reserve = await this.ctx.publicClient.readContract({
        address: deployment.pool,
        abi: poolAbi,
        functionName: "getReserveData",
        args: [a.address],
      });
      this.reserveIds.set(a.symbol, reserve.id);
    }

    // Borrowers: deterministic keys, ETH for gas by hardhat_setBalance, collateral supplied on their behalf by the
    // admin, then their own eMode / collateral-flag choices and borrows (a borrower approves the Pool with its first
    // own supply or repay: actions.fund).
    const n = this.o.borrowers;
    this._borrowers = [];
    for (let i = 0; i < n; i++) {
      const wallet = this.walletOf(keccak256(toHex(`marginwatch-aave-sim-${this.o.seed}-${i}`)));
      this._borrowers.push(this.profileFor(wallet));
    }
    const chunk = 100;
    for (let i = 0; i < n; i += chunk) {
      const part = this._borrowers.slice(i, i + chunk);
      await Promise.all(part.map((b) => jsonRpc(this.o.url, "hardhat_setBalance", [b.address, "0x56BC75E2D63100000"])));
      const sent: Hex[] = [];
      const values: Array<Map<string, number>> = [];
      for (const b of part) {
        const usd = new Map<string, number>();
        const total = 5_000 + Math.floor(this.r() * 95_000);
        b.collateral.forEach((symbol, k) => {
          // the first collateral carries most of the value; a flag-off asset is a small side holding
          const share = b.collateral.length === 1 ? 1 : symbol === b.flagOff ? 0.2 : k === 0 ? 0.6 : 0.2;
          usd.set(symbol, total * share);
        });
        values.push(usd);
        for (const [symbol, v] of usd) {
          const a = assetOf(deployment, symbol);
          const amount = usdToUnits(v, this.prices.get(symbol)!, a.decimals);
          sent.push(await this.send(admin, deployment.pool, poolAbi, "supply", [a.address, amount, b.address, 0]));
        }
      }
      await this.waitAll(sent);
      const results = await Promise.all(
        part.map((b, j) =>
          this.seedBorrower(b, values[j]!).then(
            () => true,
            () => false,
          ),
        ),
      );
      const failed = results.filter((ok) => !ok).length;
      if (failed) this.o.logger.warn({ failed }, "simulation: some borrowers could not take their seed position");
    }
    this.o.logger.info({ borrowers: n, ms: Date.now() - started }, "simulation: borrowers seeded");
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One market step: prices move, feeds refresh (except a silenced one), a few borrowers act. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.tickNo++;
      this.stats.ticks++;
      let crash = false;
      for (const [symbol, p] of this.prices) {
        const stable = STABLES.has(symbol);
        let next = stable ? 1 + (this.r() - 0.5) * 0.004 : p * (1 + (this.r() - 0.5) * 0.02);
        // A crash early on (so a fresh `npm start` shows liquidations within a minute), then now and then.
        const scheduled = symbol === (this.tickNo % 60 === 8 ? "WETH" : this.tickNo % 60 === 38 ? "WBTC" : "");
        if (!stable && !crash && (scheduled || this.r() < 0.01)) {
          next = p * (0.75 + this.r() * 0.1); // a crash: −15% to −25%
          crash = true;
          this.stats.crashes++;
          this.o.logger.info({ symbol, from: p.toFixed(2), to: next.toFixed(2) }, "simulation: price crash");
        }
        if (!stable && this.r() < 0.1) next = next * 1.01 + (Number(this.specs.get(symbol)!.priceUsd) - next) * 0.05; // drift home
        this.prices.set(symbol, next);
      }
      // A missed heartbeat at tick 20 and every 40 ticks after (within the first 30 ticks of a test or a demo).
      const victim = this.silenceCandidate();
      if (!this.silenced && victim && this.tickNo % 40 === 20) {
        this.silenced = { symbol: victim.symbol, untilTick: this.tickNo + SILENCE_TICKS };
        this.stats.heartbeatMisses++;
        // Jump the clock past the feed's heartbeat while every other feed keeps updating.
        await jsonRpc(this.o.url, "evm_increaseTime", [victim.heartbeat + 100]);
        this.o.logger.info({ symbol: victim.symbol, heartbeat: victim.heartbeat }, "simulation: a feed misses its heartbeat");
      }
      if (this.silenced && this.tickNo >= this.silenced.untilTick) this.silenced = null;
      const hashes: Hex[] = [];
      for (const a of this.ctx.deployment.assets) {
        if (this.silenced?.symbol === a.symbol) continue;
        const answer = (BigInt(Math.round(this.prices.get(a.symbol)! * 1e6)) * 10n ** BigInt(a.feedDecimals)) / 1_000_000n;
        hashes.push(await this.send(this.ctx.admin, a.feed, mockV3AggregatorAbi, "updateAnswer", [answer]));
      }
      await this.waitAll(hashes);
      await this.borrowerActions();
    } catch (e) {
      this.o.logger.warn({ err: (e as Error).message.split("\n")[0] }, "simulation tick failed");
    } finally {
      this.ticking = false;
    }
  }

  // ---------------------------------------------------------------- seeding

  private profileFor(wallet: Wallet): SimBorrower {
    const address = wallet.account.address.toLowerCase() as Hex20;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(this.r() * xs.length)]!;
    const roll = this.r();
    const targetHf = 1.05 + this.r() ** 2 * 1.95;
    const base = { wallet, address, targetHf, flagOff: null };
    if (roll < 0.45) {
      return { ...base, profile: "volatile", collateral: [this.r() < 0.65 ? "WETH" : "WBTC"], debt: [pick(["USDC", "DAI"])] };
    }
    if (roll < 0.7) {
      const main = pick(["WETH", "WBTC"]);
      const side = pick(["USDC", "DAI", main === "WETH" ? "WBTC" : "WETH"]);
      const off = pick(["USDC", "DAI", "WETH", "WBTC"].filter((s) => s !== main && s !== side));
      const free = ["USDC", "DAI"].filter((s) => s !== side && s !== off);
      const debt = [free.length ? pick(free) : "USDC"];
      if (main !== "WETH" && side !== "WETH" && off !== "WETH") debt.push("WETH");
      return { ...base, profile: "mixed", collateral: [main, side, off], debt, flagOff: off };
    }
    if (roll < 0.9) {
      const c = pick(["USDC", "DAI"]);
      return { ...base, profile: "emode", collateral: [c], debt: [c === "USDC" ? "DAI" : "USDC"] };
    }
    return { ...base, profile: "stable", collateral: [pick(["USDC", "DAI"])], debt: ["WETH"] };
  }

  /** The borrower's own choices, then its borrows: debt = Σ collateral · LT / targetHf, under the LTV limit. */
  private async seedBorrower(b: SimBorrower, usd: Map<string, number>): Promise<void> {
    const eMode = b.profile === "emode";
    if (eMode) await act.setUserEMode(this.ctx, b.wallet, STABLECOIN_EMODE);
    if (b.flagOff) await act.setCollateral(this.ctx, b.wallet, b.flagOff, false);
    let byLt = 0;
    let byLtv = 0;
    for (const [symbol, v] of usd) {
      if (symbol === b.flagOff) continue;
      const s = this.specs.get(symbol)!;
      const category = eMode && s.eModeCategory === STABLECOIN_EMODE ? AAVE_MARKET.eModeCategories.find((c) => c.id === STABLECOIN_EMODE)! : null;
      byLt += (v * (category?.liquidationThresholdBps ?? s.liquidationThresholdBps)) / 10_000;
      byLtv += (v * (category?.ltvBps ?? s.ltvBps)) / 10_000;
    }
    const debtUsd = Math.min(byLt / b.targetHf, byLtv * 0.995);
    // A second debt asset takes a third of it.
    const shares = b.debt.length === 1 ? [1] : [2 / 3, 1 / 3];
    for (const [k, symbol] of b.debt.entries()) {
      const a = assetOf(this.ctx.deployment, symbol);
      await act.borrow(this.ctx, b.wallet, symbol, usdToUnits(debtUsd * shares[k]!, this.prices.get(symbol)!, a.decimals));
    }
  }

  // ---------------------------------------------------------------- borrower actions

  private async borrowerActions(): Promise<void> {
    const runs: Promise<void>[] = [];
    for (let i = 0; i < ACTIONS_PER_TICK && this._borrowers.length; i++) {
      // The first ticks try every kind once (a fresh demo shows them all), then kinds come by weight.
      const kind = i === 0 && this.tickNo <= ACTION_KINDS.length ? ACTION_KINDS[this.tickNo - 1]! : this.weightedKind();
      const b = this.borrowerFor(kind);
      this.stats.actions++;
      runs.push(
        this.plan(kind, b)().then(
          () => {
            this.kinds[kind].ok++;
          },
          (e: unknown) => {
            this.kinds[kind].failed++;
            this.stats.failedActions++;
            const reason =
              e instanceof TransactionRevertedError ? (e.reason ? describeAaveReason(e.reason) : "reverted") : (e as Error).message.split("\n")[0];
            this.o.logger.debug({ kind, borrower: b.address, reason }, "simulation: borrower action refused");
          },
        ),
      );
    }
    await Promise.all(runs);
  }

  /**
   * Who acts: toggles and max withdrawals from borrowers holding more than one collateral (a sole collateral backing
   * debt cannot be switched off or taken out), eMode switches from borrowers with stablecoin debt only (the category
   * admits no other debt); anyone else for the rest.
   */
  private borrowerFor(kind: ActionKind): SimBorrower {
    const fits =
      kind === "collateralToggle" || kind === "withdrawAll"
        ? (b: SimBorrower) => b.collateral.length > 1
        : kind === "eModeSwitch"
          ? (b: SimBorrower) => b.debt.every((s) => STABLES.has(s))
          : () => true;
    const some = this._borrowers.filter(fits);
    const from = some.length ? some : this._borrowers;
    return from[Math.floor(this.r() * from.length)]!;
  }

  private weightedKind(): ActionKind {
    const total = ACTION_KINDS.reduce((s, k) => s + WEIGHTS[k], 0);
    let x = this.r() * total;
    for (const k of ACTION_KINDS) {
      x -= WEIGHTS[k];
      if (x < 0) return k;
    }
    return ACTION_KINDS[0];
  }

  /**
   * The action as a closure: every random draw happens here, before the first await, so a run reproduces from its
   * seed although the actions of a tick run concurrently.
   */
  private plan(kind: ActionKind, b: SimBorrower): () => Promise<void> {
    const ctx = this.ctx;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(this.r() * xs.length)]!;
    const units = (symbol: string, lo: number, hi: number) =>
      usdToUnits(lo + this.r() * (hi - lo), this.prices.get(symbol)!, assetOf(ctx.deployment, symbol).decimals);
    switch (kind) {
      case "supply": {
        const symbol = pick(b.collateral);
        const amount = units(symbol, 200, 3_000);
        return async () => void (await act.supply(ctx, b.wallet, symbol, amount));
      }
      case "borrow": {
        const symbol = pick(b.debt);
        const amount = units(symbol, 100, 2_000);
        return async () => void (await act.borrow(ctx, b.wallet, symbol, amount));
      }
      case "repay": {
        const symbol = pick(b.debt);
        const amount = units(symbol, 100, 2_000);
        return async () => void (await act.repay(ctx, b.wallet, symbol, amount));
      }
      case "repayAll": {
        const symbol = pick(b.debt);
        return async () => void (await act.repay(ctx, b.wallet, symbol, "all"));
      }
      case "withdraw": {
        const symbol = pick(b.collateral);
        const amount = units(symbol, 100, 1_500);
        return async () => void (await act.withdraw(ctx, b.wallet, symbol, amount));
      }
      case "withdrawAll": {
        // the flag-off holding when there is one (it backs nothing), else any supplied asset (often refused)
        const symbol = b.flagOff ?? pick(b.collateral);
        return async () => void (await act.withdraw(ctx, b.wallet, symbol, "all"));
      }
      case "transfer": {
        const others = this._borrowers.filter((x) => x !== b);
        const to = others.length ? pick(others) : null;
        const symbol = pick(b.collateral);
        const share = BigInt(Math.floor((0.05 + this.r() * 0.2) * 10_000));
        return async () => {
          if (!to) throw new Error("no other borrower to send aTokens to");
          const amount = ((await act.suppliedOf(ctx, symbol, b.address)) * share) / 10_000n;
          if (amount === 0n) throw new Error(`no a${symbol} to send`);
          await act.transferAToken(ctx, b.wallet, symbol, to.address, amount);
          if (!to.collateral.includes(symbol)) to.collateral.push(symbol);
        };
      }
      case "collateralToggle": {
        // the seeded flag-off holding back and forth, or a side holding (one received in a transfer)
        const symbol = b.flagOff ?? pick(b.collateral.length > 1 ? b.collateral.slice(1) : b.collateral);
        return async () => act.setCollateral(ctx, b.wallet, symbol, !(await this.usesAsCollateral(b.address, symbol)));
      }
      case "eModeSwitch":
        return async () => {
          const current = await ctx.publicClient.readContract({
            address: ctx.deployment.pool,
            abi: poolAbi,
            functionName: "getUserEMode",
            args: [b.address],
          });
          await act.setUserEMode(ctx, b.wallet, current === 0n ? STABLECOIN_EMODE : 0);
        };
      case "repayWithATokens": {
        // supply some of the debt asset, then burn those aTokens against the debt
        const symbol = pick(b.debt);
        const amount = units(symbol, 100, 1_000);
        return async () => {
          await act.supply(ctx, b.wallet, symbol, amount);
          await act.repayWithATokens(ctx, b.wallet, symbol, amount);
        };
      }
      case "flashLoan": {
        const symbol = pick(ctx.deployment.assets.map((a) => a.symbol));
        const amount = units(symbol, 1_000, 50_000);
        return async () => void (await act.flashLoanSimple(ctx, b.wallet, this.receiver!, symbol, amount));
      }
    }
  }

  /** The collateral bit of the user's configuration (bit 2·id + 1 of the reserve's id). */
  private async usesAsCollateral(user: Hex20, symbol: string): Promise<boolean> {
    const config = await this.ctx.publicClient.readContract({
      address: this.ctx.deployment.pool,
      abi: poolAbi,
      functionName: "getUserConfiguration",
      args: [user],
    });
    return ((config.data >> BigInt(2 * this.reserveIds.get(symbol)! + 1)) & 1n) === 1n;
  }

  /** The feed that misses its heartbeat: WBTC's (as the own pool's simulation), else the first volatile one. */
  private silenceCandidate(): { symbol: string; heartbeat: number } | null {
    const assets = this.ctx.deployment.assets;
    const a = assets.find((x) => x.symbol === "WBTC") ?? assets.find((x) => !STABLES.has(x.symbol));
    return a ? { symbol: a.symbol, heartbeat: a.heartbeat } : null;
  }

  // ---------------------------------------------------------------- sending

  private walletOf(key: Hex): Wallet {
    return createWalletClient({
      chain: hardhat,
      transport: http(this.o.url, { retryCount: 0 }),
      account: privateKeyToAccount(key, { nonceManager: this.nonceManager }),
    }) as Wallet;
  }

  private send(wallet: Wallet, address: Hex20, abi: readonly unknown[], functionName: string, args: unknown[]): Promise<Hex> {
    return submit(wallet, address, abi, functionName, args, aaveTx(functionName));
  }

  private async waitAll(hashes: Hex[]): Promise<void> {
    await Promise.all(hashes.map((hash) => confirm(this.ctx.publicClient, hash, "seed", { describe: describeAaveReason })));
  }
}

function usdToUnits(usd: number, price: number, decimals: number): bigint {
  const units = usd / price;
  return parseUnits(units.toFixed(Math.min(decimals, 8)), decimals);
}
