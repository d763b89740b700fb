// `marginwatch stress`: price shocks → liquidatable accounts and debt, projected bad debt (POST /v1/stress); with
// no --shock, the fixed scenarios (GET /v1/stress/scenarios).
import { Command } from "commander";
import { ConfigError } from "../../common/config";
import type { ScenariosResponse, StressResponse } from "../../indexer/api/routes/stress";
import { apiGet, apiOption, apiPost, jsonOption } from "../api-client";
import { fields, orNone, type RenderOptions, section, stampLine, table } from "../render/table";

/** "WETH=-0.3" → ["WETH", -0.3] */
export function parseShocks(specs: readonly string[]): Record<string, number> {
  const shocks: Record<string, number> = {};
  for (const s of specs) {
    const m = /^([^=]+)=(-?\d+(\.\d+)?)$/.exec(s);
    if (!m) throw new ConfigError(`--shock ${s}: expected ASSET=fraction, e.g. WETH=-0.3`);
    shocks[m[1]!] = Number(m[2]);
  }
  return shocks;
}

const signedPct = (shock: number): string => `${shock > 0 ? "+" : ""}${(shock * 100).toFixed(2).replace(/\.?0+$/, "")}%`;

export function renderStress(r: StressResponse, o: RenderOptions = {}): string {
  const out: string[] = [];
  out.push(
    section(
      `stress test · ${stampLine(r)}`,
      table(
        [
          { header: "asset" },
          { header: "shock", align: "right" },
          { header: "price USD", align: "right" },
          { header: "shocked USD", align: "right" },
        ],
        r.shocks.map((s) => [s.symbol ?? s.asset, signedPct(s.shock), orNone(s.priceUSD), orNone(s.shockedPriceUSD)]),
        o,
      ),
    ),
  );
  out.push(
    section(
      "result",
      fields(
        [
          ["accounts liquidatable", String(r.accountsLiquidatable)],
          ["newly liquidatable", String(r.newlyLiquidatable)],
          ["skipped (stale or invalid price)", String(r.unknownAccounts)],
          ["debt liquidatable USD", r.debtLiquidatableUSD],
          ["projected bad debt USD", r.projectedBadDebtUSD],
        ],
        o,
      ),
    ),
  );
  return `${out.join("\n\n")}\n`;
}

export function renderScenarios(r: ScenariosResponse, o: RenderOptions = {}): string {
  return `stress scenarios · ${stampLine(r)}\n${table(
    [
      { header: "scenario" },
      { header: "accounts liquidatable", align: "right" },
      { header: "newly", align: "right" },
      { header: "skipped", align: "right" },
      { header: "debt liquidatable USD", align: "right" },
      { header: "projected bad debt USD", align: "right" },
    ],
    r.scenarios.map((s) => [
      s.name,
      String(s.result.accountsLiquidatable),
      String(s.result.newlyLiquidatable),
      String(s.result.unknownAccounts),
      s.result.debtLiquidatableUSD,
      s.result.projectedBadDebtUSD,
    ]),
    o,
  )}\n`;
}

export function stressCommand(): Command {
  return new Command("stress")
    .description("price shocks → liquidatable accounts and debt, projected bad debt (e.g. --shock WETH=-0.3); no --shock: the fixed scenarios")
    .addOption(apiOption())
    .option("--shock <asset=fraction...>", "a shock per asset, e.g. WETH=-0.3 WBTC=-0.2")
    .addOption(jsonOption())
    .action(async (o: { api: string; shock?: string[]; json?: boolean }) => {
      if (!o.shock?.length) {
        const r = await apiGet<ScenariosResponse>(o.api, "/v1/stress/scenarios");
        process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : renderScenarios(r));
        return;
      }
      const r = await apiPost<StressResponse>(o.api, "/v1/stress", { shocks: parseShocks(o.shock) });
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : renderStress(r));
    });
}
