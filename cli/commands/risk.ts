// `marginwatch risk`: the protocol risk overview (GET /v1/risk) as tables — totals, HF distribution, collateral and
// debt per asset, the liquidation curve per asset.
import { Command } from "commander";
import type { RiskResponse } from "../../indexer/api/routes/risk";
import { apiGet, apiOption, jsonOption } from "../api-client";
import { fields, percent, type RenderOptions, section, stampLine, table } from "../render/table";

export function renderRisk(r: RiskResponse, o: RenderOptions = {}): string {
  const out: string[] = [];
  out.push(
    section(
      `risk overview · ${stampLine(r)}`,
      fields(
        [
          ["accounts", String(r.accounts.total)],
          ["with debt", String(r.accounts.withDebt)],
          ["liquidatable", String(r.accounts.liquidatable)],
          ["unknown (stale price)", String(r.accounts.unknown)],
          ["collateral USD", r.totalCollateralUSD],
          ["debt USD", r.totalDebtUSD],
          ["liquidatable within −20% USD", r.liquidatableWithin20PctUSD],
          ["accounts under water", String(r.badDebt.accountsUnderWater)],
          ["under water USD", r.badDebt.underWaterUSD],
          ["protocol deficit USD", r.badDebt.protocolDeficitUSD],
          ["debt share, top 10 accounts", percent(r.concentration.top10Share)],
          ["debt share, top 1% accounts", percent(r.concentration.top1PctShare)],
        ],
        o,
      ),
    ),
  );
  out.push(
    section(
      "health factor distribution",
      table(
        [{ header: "HF" }, { header: "accounts", align: "right" }, { header: "debt USD", align: "right" }],
        r.distribution.map((b) => [b.label, String(b.accounts), b.debtUSD]),
        o,
      ),
    ),
  );
  out.push(
    section(
      "by asset",
      table(
        [
          { header: "asset" },
          { header: "collateral", align: "right" },
          { header: "collateral USD", align: "right" },
          { header: "debt", align: "right" },
          { header: "debt USD", align: "right" },
        ],
        r.byAsset.map((a) => [a.symbol ?? a.asset, a.collateralAmount, a.collateralUSD, a.debtAmount, a.debtUSD]),
        o,
      ),
    ),
  );
  const curves = r.liquidationCurves;
  if (curves.length) {
    const drops = curves[0]!.steps.map((s) => s.dropPct);
    const byDrop = (c: (typeof curves)[number], drop: number) => c.steps.find((s) => s.dropPct === drop)?.cumulativeCollateralUSD ?? "—";
    out.push(
      section(
        "collateral liquidatable (USD, cumulative) if one asset's price falls by",
        table(
          [{ header: "drop", align: "right" }, ...curves.map((c) => ({ header: c.symbol ?? c.asset, align: "right" as const }))],
          [["now", ...curves.map((c) => c.currentUSD)], ...drops.map((d) => [`−${d}%`, ...curves.map((c) => byDrop(c, d))])],
          o,
        ),
      ),
    );
  }
  return `${out.join("\n\n")}\n`;
}

export function riskCommand(): Command {
  return new Command("risk")
    .description("aggregate risk: totals, HF distribution, per asset, bad debt, concentration, liquidation curves")
    .addOption(apiOption())
    .addOption(jsonOption())
    .action(async (o: { api: string; json?: boolean }) => {
      const r = await apiGet<RiskResponse>(o.api, "/v1/risk");
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : renderRisk(r));
    });
}
