// Fixed stress scenarios (USERS.md: "ETH −30%", "BTC −30%", "all volatile −40%", "stablecoin depeg −10%"),
// resolved against the deployment's symbols, and the JSON shape of any stress result.
import type { Address, StressResult } from "../health";
import type { ApiContext } from "./context";
import { symbolOf } from "./context";
import { priceFromBase, usdFromBase } from "./format";

const STABLE = /^(USDC|USDT|DAI|FRAX|LUSD|GHO|PYUSD|TUSD|USDS|USDE|SUSD|CRVUSD)$/i;

export interface ScenarioSpec {
  id: string;
  name: string;
  /** which deployment assets the scenario shocks, by symbol */
  select: (symbol: string) => boolean;
  shock: number;
}

export const SCENARIOS: readonly ScenarioSpec[] = [
  { id: "eth-30", name: "ETH −30%", select: (s) => /ETH/i.test(s) && !STABLE.test(s), shock: -0.3 },
  { id: "btc-30", name: "BTC −30%", select: (s) => /BTC/i.test(s) && !STABLE.test(s), shock: -0.3 },
  { id: "volatile-40", name: "All volatile assets −40%", select: (s) => !STABLE.test(s), shock: -0.4 },
  { id: "stable-depeg-10", name: "Stablecoin depeg −10%", select: (s) => STABLE.test(s), shock: -0.1 },
];

export interface ScenarioResult {
  id: string;
  name: string;
  result: ReturnType<typeof stressJson>;
}

export function stressJson(ctx: ApiContext, r: StressResult) {
  return {
    shocks: r.shocks.map((s) => ({
      asset: s.asset,
      symbol: symbolOf(ctx, s.asset),
      shock: s.shock,
      price: s.price.toString(),
      priceUSD: priceFromBase(s.price),
      shockedPrice: s.shockedPrice.toString(),
      shockedPriceUSD: priceFromBase(s.shockedPrice),
    })),
    accountsLiquidatable: r.accountsLiquidatable,
    newlyLiquidatable: r.newlyLiquidatable,
    unknownAccounts: r.unknown,
    debtLiquidatableUSD: usdFromBase(r.debtLiquidatableBase),
    debtLiquidatableBase: r.debtLiquidatableBase.toString(),
    projectedBadDebtUSD: usdFromBase(r.projectedBadDebtBase),
    projectedBadDebtBase: r.projectedBadDebtBase.toString(),
  };
}

/** Runs every fixed scenario whose assets exist in this deployment. */
export function evaluateScenarios(ctx: ApiContext, now: bigint): ScenarioResult[] {
  const out: ScenarioResult[] = [];
  for (const sc of SCENARIOS) {
    const shocks = new Map<Address, number>();
    for (const a of ctx.deployment.assets) if (sc.select(a.symbol)) shocks.set(a.address, sc.shock);
    if (shocks.size === 0) continue;
    out.push({ id: sc.id, name: sc.name, result: stressJson(ctx, ctx.health.stress(shocks, now)) });
  }
  return out;
}
