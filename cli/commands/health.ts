// `marginwatch health <address>`: an account card (GET /v1/accounts/:address) as tables — totals, positions,
// liquidation price per collateral asset, what-if shocks.
import { Command } from "commander";
import type { AccountCardResponse } from "../../indexer/api/routes/accounts";
import { apiGet, apiOption, jsonOption } from "../api-client";
import { fields, orNone, percent, type RenderOptions, section, stampLine, table, useColor } from "../render/table";

/** USERS.md's bands: ≥ 3 green, 1.1–3 orange (yellow here), < 1.1 red; ∞ green, ? (unknown) uncoloured. */
export function colourHealthFactor(hf: string, o: RenderOptions = {}): string {
  if (!useColor(o) || hf === "?") return hf;
  const n = hf === "∞" ? Number.POSITIVE_INFINITY : Number(hf);
  const code = n >= 3 ? 32 : n >= 1.1 ? 33 : 31;
  return `\x1b[${code}m${hf}\x1b[39m`;
}

const symbolOr = (p: { symbol: string | null; asset: string }): string => p.symbol ?? p.asset;
const pct = (dropPct: string | null): string => (dropPct === null ? "—" : `${dropPct}%`);

export function renderHealth(a: AccountCardResponse, o: RenderOptions = {}): string {
  const out: string[] = [];
  out.push(
    section(
      `account ${a.account} · ${stampLine(a)}`,
      fields(
        [
          ["health factor", `${colourHealthFactor(a.healthFactor, o)} (${a.status})`],
          ["collateral USD", a.totalCollateralUSD],
          ["debt USD", a.totalBorrowsUSD],
          ["available to borrow USD", a.availableBorrowsUSD],
          ["net worth USD", a.netWorthUSD],
          ["borrow power used", a.borrowPowerUsedDisplay],
          ["LTV (max, weighted)", percent(a.currentLoanToValue)],
          ["liquidation threshold", percent(a.currentLiquidationThreshold)],
          ["margin levels crossed", a.marginLevels.length ? a.marginLevels.join(", ") : "none"],
          ...(a.unknownAssets.length ? ([["unknown prices", a.unknownAssets.join(", ")]] as [string, string][]) : []),
        ],
        o,
      ),
    ),
  );
  if (a.positions.length) {
    out.push(
      section(
        "positions",
        table(
          [
            { header: "asset" },
            { header: "collateral", align: "right" },
            { header: "collateral USD", align: "right" },
            { header: "debt", align: "right" },
            { header: "debt USD", align: "right" },
            { header: "price USD", align: "right" },
            { header: "price" },
          ],
          a.positions.map((p) => [symbolOr(p), p.collateralAmount, p.collateralUSD, p.debtAmount, p.debtUSD, orNone(p.priceUSD), p.priceStatus]),
          o,
        ),
      ),
    );
  }
  if (a.liquidationPrices.length) {
    out.push(
      section(
        "liquidation prices (each collateral asset alone, other prices held fixed)",
        table(
          [
            { header: "asset" },
            { header: "price USD", align: "right" },
            { header: "liquidation price USD", align: "right" },
            { header: "drop", align: "right" },
          ],
          a.liquidationPrices.map((l) => [symbolOr(l), orNone(l.currentPriceUSD), orNone(l.liquidationPriceUSD), pct(l.dropPct)]),
          o,
        ),
      ),
    );
  }
  if (a.whatIf.length) {
    out.push(
      section(
        "what if every collateral price falls at once",
        table(
          [{ header: "shock", align: "right" }, { header: "health factor", align: "right" }, { header: "status" }],
          a.whatIf.map((w) => [`${Math.round(w.shock * 100)}%`, colourHealthFactor(w.healthFactor, o), w.status]),
          o,
        ),
      ),
    );
  }
  return `${out.join("\n\n")}\n`;
}

export function healthCommand(): Command {
  return new Command("health")
    .argument("<address>", "the account (0x…)")
    .description("an account's health factor, collateral, debt, positions, liquidation prices and what-if shocks")
    .addOption(apiOption())
    .addOption(jsonOption())
    .action(async (address: string, o: { api: string; json?: boolean }) => {
      const card = await apiGet<AccountCardResponse>(o.api, `/v1/accounts/${encodeURIComponent(address)}`);
      process.stdout.write(o.json ? `${JSON.stringify(card, null, 2)}\n` : renderHealth(card));
    });
}
