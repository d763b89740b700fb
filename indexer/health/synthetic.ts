// Deterministic synthetic populations (N accounts, 3–5 positions over 4–8 assets) for property tests and
// benchmarks: a ProtocolState filled directly, with prices, so the engine can be driven without a chain.
import { seededRandom } from "../../common/random";
import { RAY } from "../../common/math";
import { ProtocolState, type AssetState, type Position } from "../state/state";
import type { Address, PriceInfo } from "./types";

export interface SyntheticOptions {
  accounts: number;
  /** 4–8, default 6 */
  assets?: number;
  seed?: number;
  /** block timestamp the indexes were last updated around; default 1_700_000_000 */
  now?: bigint;
}

export interface SyntheticPopulation {
  state: ProtocolState;
  /** 8-decimal USD prices, all fresh */
  prices: Map<Address, bigint>;
  assets: Address[];
  accounts: Address[];
  now: bigint;
}

interface Template {
  price: number;
  decimals: number;
  ltv: number;
  lt: number;
  bonus: number;
}

const TEMPLATES: Template[] = [
  { price: 3000, decimals: 18, ltv: 8000, lt: 8250, bonus: 500 }, // WETH
  { price: 60000, decimals: 8, ltv: 7300, lt: 7800, bonus: 650 }, // WBTC
  { price: 1, decimals: 6, ltv: 7700, lt: 8000, bonus: 450 }, // USDC
  { price: 1, decimals: 18, ltv: 7500, lt: 8000, bonus: 500 }, // DAI
  { price: 15, decimals: 18, ltv: 6500, lt: 7000, bonus: 750 }, // LINK
  { price: 2900, decimals: 18, ltv: 7500, lt: 8000, bonus: 600 }, // stETH
  { price: 8, decimals: 18, ltv: 6000, lt: 6500, bonus: 1000 }, // UNI
  { price: 100, decimals: 18, ltv: 6600, lt: 7300, bonus: 750 }, // AAVE
];

export { seededRandom };

const hex40 = (rand: () => number): Address =>
  `0x${Array.from({ length: 5 }, () =>
    Math.floor(rand() * 2 ** 32)
      .toString(16)
      .padStart(8, "0"),
  ).join("")}` as Address;

/** Float USD → token wei at an 8-decimal price, exact enough for a synthetic amount. */
function toWei(usd: number, price: number, decimals: number): bigint {
  const digits = Math.min(decimals, 12);
  const whole = BigInt(Math.round((usd / price) * 10 ** digits));
  return whole * 10n ** BigInt(decimals - digits);
}

/** A target HF drawn from a mixture: a few under water, many near the margin levels, a long healthy tail. */
function drawHf(rand: () => number): number {
  const u = rand();
  if (u < 0.01) return 0.5 + rand() * 0.35; // debt above the collateral's value: bad debt if liquidated
  if (u < 0.04) return 0.85 + rand() * 0.15;
  if (u < 0.3) return 1 + rand() * 0.3;
  if (u < 0.7) return 1.3 + rand() * 0.7;
  return 2 + rand() * 3;
}

export function buildSyntheticPopulation(opts: SyntheticOptions): SyntheticPopulation {
  const rand = seededRandom(opts.seed ?? 1);
  const nAssets = Math.max(4, Math.min(8, opts.assets ?? 6));
  const now = opts.now ?? 1_700_000_000n;
  const state = new ProtocolState();
  const prices = new Map<Address, bigint>();
  const assets: Address[] = [];
  const templates = TEMPLATES.slice(0, nAssets);
  templates.forEach((t, k) => {
    const address = `0x${"a55e7".padEnd(38, "0")}${k.toString(16).padStart(2, "0")}` as Address;
    const borrowRate = BigInt(Math.floor((0.02 + rand() * 0.25) * 1e9)) * 10n ** 18n;
    const a: AssetState = {
      address,
      index: k,
      decimals: t.decimals,
      rateModel: `0x${"0".repeat(40)}` as Address,
      ltvBps: BigInt(t.ltv),
      liquidationThresholdBps: BigInt(t.lt),
      liquidationBonusBps: BigInt(t.bonus),
      reserveFactorBps: 1000n,
      category: 0,
      liquidityIndex: RAY + BigInt(Math.floor(rand() * 1e9)) * 10n ** 17n,
      borrowIndex: RAY + BigInt(Math.floor(rand() * 1.5e9)) * 10n ** 17n,
      liquidityRate: (borrowRate * 6n) / 10n,
      borrowRate,
      lastUpdateTimestamp: now - BigInt(Math.floor(rand() * 3600)),
      totalScaledCollateral: 0n,
      totalScaledDebt: 0n,
      deficit: 0n,
    };
    state.assets.set(address, a);
    prices.set(address, BigInt(Math.round(t.price * 1e8)));
    assets.push(address);
  });

  const accounts: Address[] = [];
  for (let i = 0; i < opts.accounts; i++) {
    const account = hex40(rand);
    accounts.push(account);
    const order = assets
      .map((a) => [a, rand()] as const)
      .sort((x, y) => x[1] - y[1])
      .map(([a]) => a);
    const nPos = Math.min(nAssets, 3 + Math.floor(rand() * 3));
    const held = order.slice(0, nPos);
    const noDebt = rand() < 0.1;
    const nDebt = noDebt ? 0 : rand() < 0.7 ? 1 : 2;
    const debtAssets = held.slice(nPos - nDebt);
    const collateralAssets = held.slice(0, nPos - nDebt);
    // Now and then the same asset on both sides, which the liquidation-price solver must handle.
    if (nDebt > 0 && rand() < 0.05) collateralAssets.push(debtAssets[0]!);
    const dust = rand() < 0.02;
    const totalUsd = dust ? 0.01 + rand() : 10 ** (1 + rand() * 5);
    const positions = new Map<Address, Position>();
    let weighted = 0;
    const weights = collateralAssets.map(() => 0.2 + rand());
    const wSum = weights.reduce((a, b) => a + b, 0);
    collateralAssets.forEach((asset, j) => {
      const a = state.assets.get(asset)!;
      const t = templates[a.index]!;
      const usd = (totalUsd * weights[j]!) / wSum;
      const scaled = (toWei(usd, t.price, t.decimals) * RAY) / a.liquidityIndex;
      if (scaled === 0n) return;
      weighted += (usd * t.lt) / 1e4;
      positions.set(asset, { scaledCollateral: scaled, scaledDebt: 0n });
      a.totalScaledCollateral += scaled;
    });
    if (nDebt > 0 && weighted > 0) {
      const debtUsd = weighted / drawHf(rand);
      const split = debtAssets.map(() => 0.3 + rand());
      const sSum = split.reduce((a, b) => a + b, 0);
      debtAssets.forEach((asset, j) => {
        const a = state.assets.get(asset)!;
        const t = templates[a.index]!;
        const scaled = (toWei((debtUsd * split[j]!) / sSum, t.price, t.decimals) * RAY) / a.borrowIndex + 1n;
        const p = positions.get(asset) ?? { scaledCollateral: 0n, scaledDebt: 0n };
        p.scaledDebt = scaled;
        positions.set(asset, p);
        a.totalScaledDebt += scaled;
      });
    }
    if (positions.size > 0) state.accounts.set(account, positions);
  }
  return { state, prices, assets, accounts, now };
}

/** Hands every price of the population to an engine-like sink, all fresh. */
export function feedPrices(pop: SyntheticPopulation, sink: { setPrice(asset: Address, info: PriceInfo): void }): void {
  for (const [asset, price] of pop.prices) sink.setPrice(asset, { price, status: "fresh" });
}
