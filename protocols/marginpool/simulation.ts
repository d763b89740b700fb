// MarginPool market simulation for the embedded chain: seeds borrowers across the HF spectrum, then moves prices (random walk,
// a crash now and then, a feed that misses its heartbeat now and then) and lets borrowers act.
import { parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createNonceManager, jsonRpc as nonceFromChain } from "viem/nonce";
import { createWalletClient, http, keccak256, toHex } from "viem";
import { hardhat } from "viem/chains";
import type { Hex20 } from "../../common/deployment";
import type { Wallet } from "../../common/wallet";
import { jsonRpc } from "../../common/hardhat-node";
import type { MarketSimulation as Simulation, SimulationOptions } from "../types";
import { assetOf, rng, type ChainContext } from "./actions";
import { emittingAggregatorAbi, marginPoolAbi, mockV3AggregatorAbi, testTokenAbi } from "./generated/abis";
import { DEFAULT_MARKET } from "./market";

const MAX = 2n ** 256n - 1n;

export type { SimulationOptions };

interface Borrower {
  wallet: Wallet;
  collateral: string;
  debt: string;
}

export class MarketSimulation implements Simulation {
  private readonly r: () => number;
  private readonly prices = new Map<string, number>();
  private borrowers: Borrower[] = [];
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private tickNo = 0;
  /** symbol whose feed is being held back (heartbeat miss), and until which tick */
  private silenced: { symbol: string; untilTick: number } | null = null;
  readonly ctx: ChainContext;
  private readonly nonceManager: ReturnType<typeof createNonceManager>;
  stats = { ticks: 0, crashes: 0, heartbeatMisses: 0, actions: 0, failedActions: 0 };

  constructor(private readonly o: SimulationOptions) {
    this.r = rng(o.seed);
    // The admin sends many transactions at once: a local nonce manager keeps them in order. One per simulation, not
    // viem's process-wide one: a new embedded chain in the same process must not inherit nonces of the last one.
    this.nonceManager = createNonceManager({ source: nonceFromChain() });
    const nonceManager = this.nonceManager;
    const admin = createWalletClient({
      chain: hardhat,
      transport: http(o.url, { retryCount: 0 }),
      account: privateKeyToAccount(o.adminKey, { nonceManager }),
    }) as Wallet;
    this.ctx = { publicClient: o.publicClient, deployment: o.deployment, admin };
    for (const spec of DEFAULT_MARKET) this.prices.set(spec.symbol, Number(spec.priceUsd));
  }

  /** Funds the keeper, creates `borrowers` accounts with positions spread from HF ≈ 1.05 to ≈ 3. */
  async seed(): Promise<void> {
    const { deployment } = this.ctx;
    const admin = this.ctx.admin;
    const started = Date.now();
    // Liquidity for every asset, and a treasury for deposits on behalf of borrowers.
    const hashes: `0x${string}`[] = [];
    for (const a of deployment.assets) {
      const big = parseUnits("1000000000", a.decimals);
      hashes.push(await this.send(admin, a.address, testTokenAbi, "mint", [admin.account.address, big * 4n]));
      hashes.push(await this.send(admin, a.address, testTokenAbi, "approve", [deployment.pool, MAX]));
      for (const to of this.o.fundAddresses) hashes.push(await this.send(admin, a.address, testTokenAbi, "mint", [to, big]));
    }
    await this.waitAll(hashes);
    hashes.length = 0;
    for (const a of deployment.assets) {
      const liquidity = a.symbol === "WBTC" ? "20000" : a.symbol === "WETH" ? "300000" : "500000000";
      hashes.push(
        await this.send(admin, deployment.pool, marginPoolAbi, "deposit", [a.address, parseUnits(liquidity, a.decimals), admin.account.address]),
      );
    }
    await this.waitAll(hashes);

    // Borrowers: deterministic keys, ETH for gas by hardhat_setBalance, collateral deposited on their behalf.
    const n = this.o.borrowers;
    this.borrowers = [];
    for (let i = 0; i < n; i++) {
      const key = keccak256(toHex(`marginwatch-sim-${this.o.seed}-${i}`));
      const wallet = createWalletClient({
        chain: hardhat,
        transport: http(this.o.url, { retryCount: 0 }),
        account: privateKeyToAccount(key, { nonceManager: this.nonceManager }),
      }) as Wallet;
      const volatile = this.r() < 0.85;
      const collateral = volatile ? (this.r() < 0.65 ? "WETH" : "WBTC") : this.r() < 0.5 ? "USDC" : "DAI";
      const debt = volatile ? (this.r() < 0.6 ? "USDC" : "DAI") : "WETH";
      this.borrowers.push({ wallet, collateral, debt });
    }
    const chunk = 50;
    for (let i = 0; i < n; i += chunk) {
      const part = this.borrowers.slice(i, i + chunk);
      await Promise.all(part.map((b) => jsonRpc(this.o.url, "hardhat_setBalance", [b.wallet.account.address, "0x56BC75E2D63100000"])));
      const deposits: `0x${string}`[] = [];
      const sizes: number[] = [];
      for (const b of part) {
        const usd = 5_000 + Math.floor(this.r() * 95_000);
        sizes.push(usd);
        const c = assetOf(deployment, b.collateral);
        const amount = usdToUnits(usd, this.prices.get(b.collateral)!, c.decimals);
        deposits.push(await this.send(admin, deployment.pool, marginPoolAbi, "deposit", [c.address, amount, b.wallet.account.address]));
      }
      await this.waitAll(deposits);
      const borrows = await Promise.all(
        part.map(async (b, j) => {
          const spec = DEFAULT_MARKET.find((s) => s.symbol === b.collateral)!;
          // Target HF between ≈ 1.04 and ≈ 3: debt = collateral · LT / HF, capped under the LTV limit.
          const hf = 1.04 + this.r() ** 2 * 2;
          const maxByLtv = ((sizes[j]! * spec.ltvBps) / 10_000) * 0.999;
          const debtUsd = Math.min((sizes[j]! * spec.liquidationThresholdBps) / 10_000 / hf, maxByLtv);
          const d = assetOf(deployment, b.debt);
          const amount = usdToUnits(debtUsd, this.prices.get(b.debt)!, d.decimals);
          return this.send(b.wallet, deployment.pool, marginPoolAbi, "borrow", [d.address, amount]).catch(() => null);
        }),
      );
      await this.waitAll(borrows.filter((h): h is `0x${string}` => h !== null));
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

  /** One market step: prices move, feeds refresh (except a silenced one), a few borrowers act. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.tickNo++;
      this.stats.ticks++;
      let crash = false;
      for (const [symbol, p] of this.prices) {
        const stable = symbol === "USDC" || symbol === "DAI";
        let next = stable ? 1 + (this.r() - 0.5) * 0.004 : p * (1 + (this.r() - 0.5) * 0.02);
        // A crash early on (so a fresh `npm start` shows liquidations within a minute), then now and then.
        const scheduled = symbol === (this.tickNo % 60 === 8 ? "WETH" : this.tickNo % 60 === 38 ? "WBTC" : "");
        if (!stable && !crash && (scheduled || this.r() < 0.01)) {
          next = p * (0.75 + this.r() * 0.1); // a crash: −15% to −25%
          crash = true;
          this.stats.crashes++;
          this.o.logger.info({ symbol, from: p.toFixed(2), to: next.toFixed(2) }, "simulation: price crash");
        }
        if (!stable && this.r() < 0.1) next = next * 1.01 + (Number(DEFAULT_MARKET.find((s) => s.symbol === symbol)!.priceUsd) - next) * 0.05; // drift home
        this.prices.set(symbol, next);
      }
      if (!this.silenced && this.tickNo % 40 === 0) {
        this.silenced = { symbol: "WBTC", untilTick: this.tickNo + 6 };
        this.stats.heartbeatMisses++;
        // Jump the clock past WBTC's heartbeat while every other feed keeps updating.
        await jsonRpc(this.o.url, "evm_increaseTime", [3_700]);
        this.o.logger.info({ symbol: "WBTC" }, "simulation: WBTC feed misses its heartbeat");
      }
      if (this.silenced && this.tickNo >= this.silenced.untilTick) this.silenced = null;
      const hashes: `0x${string}`[] = [];
      for (const a of this.ctx.deployment.assets) {
        if (this.silenced?.symbol === a.symbol) continue;
        const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
        const answer = (BigInt(Math.round(this.prices.get(a.symbol)! * 1e6)) * 10n ** BigInt(a.feedDecimals)) / 1_000_000n;
        hashes.push(await this.send(this.ctx.admin, a.feed, abi, "updateAnswer", [answer]));
      }
      await this.waitAll(hashes);
      await this.borrowerActions(3);
    } catch (e) {
      this.o.logger.warn({ err: (e as Error).message.split("\n")[0] }, "simulation tick failed");
    } finally {
      this.ticking = false;
    }
  }

  private async borrowerActions(count: number): Promise<void> {
    const { deployment } = this.ctx;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < count && this.borrowers.length; i++) {
      const b = this.borrowers[Math.floor(this.r() * this.borrowers.length)]!;
      const d = assetOf(deployment, b.debt);
      const pick = this.r();
      const usd = 100 + this.r() * 2_000;
      const amount = usdToUnits(usd, this.prices.get(b.debt)!, d.decimals);
      this.stats.actions++;
      // Borrow a little more (drifting towards the edge) or repay some (from a top-up the admin sends).
      const p =
        pick < 0.6
          ? this.send(b.wallet, deployment.pool, marginPoolAbi, "borrow", [d.address, amount])
          : this.send(this.ctx.admin, deployment.pool, marginPoolAbi, "repay", [d.address, amount, b.wallet.account.address]);
      sends.push(
        p.catch(() => {
          this.stats.failedActions++;
        }),
      );
    }
    await Promise.all(sends);
  }

  private async send(wallet: Wallet, address: Hex20, abi: readonly unknown[], functionName: string, args: unknown[]): Promise<`0x${string}`> {
    // A fixed gas limit: an estimate taken in the same second as the last reserve update skips the interest
    // accrual that the mined transaction (a second later) performs, and would run out of gas.
    return wallet.writeContract({
      address,
      abi: abi as never,
      functionName: functionName as never,
      args: args as never,
      account: wallet.account,
      chain: wallet.chain,
      gas: 1_000_000n,
    });
  }

  private async waitAll(hashes: `0x${string}`[]): Promise<void> {
    await Promise.all(hashes.map((hash) => this.ctx.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })));
  }
}

function usdToUnits(usd: number, price: number, decimals: number): bigint {
  const units = usd / price;
  return parseUnits(units.toFixed(Math.min(decimals, 8)), decimals);
}
