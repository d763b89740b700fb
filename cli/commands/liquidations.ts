// `marginwatch liquidations`: liquidations seen on chain, newest first (GET /v1/liquidations).
import { Command, InvalidArgumentError } from "commander";
import type { LiquidationsResponse } from "../../indexer/api/schemas";
import { apiGet, apiOption, jsonOption } from "../api-client";
import { type RenderOptions, short, stampLine, table, unixTime } from "../render/table";

const amountOf = (amount: string, symbol: string | null, asset: string): string => `${amount} ${symbol ?? short(asset)}`;

export function renderLiquidations(r: LiquidationsResponse, o: RenderOptions = {}): string {
  const head = `liquidations, newest first · ${stampLine(r)}`;
  if (r.liquidations.length === 0) return `${head}\nnone\n`;
  const rows = r.liquidations.map((l) => [
    l.blockNumber,
    unixTime(l.timestamp),
    l.borrower,
    short(l.liquidator),
    amountOf(l.collateralSeizedAmount, l.collateralSymbol, l.collateralAsset),
    amountOf(l.debtRepaidAmount, l.debtSymbol, l.debtAsset),
    short(l.transactionHash),
  ]);
  const more = r.nextCursor ? `\nmore: --cursor ${r.nextCursor}` : "";
  return `${head}\n${table(
    [
      { header: "block", align: "right" },
      { header: "time" },
      { header: "borrower" },
      { header: "liquidator" },
      { header: "collateral seized", align: "right" },
      { header: "debt repaid", align: "right" },
      { header: "transaction" },
    ],
    rows,
    o,
  )}${more}\n`;
}

const limitArg = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 500) throw new InvalidArgumentError("expected a whole number from 1 to 500");
  return Number(v);
};

export function liquidationsCommand(): Command {
  return new Command("liquidations")
    .description("liquidations seen on chain, newest first")
    .addOption(apiOption())
    .option("--account <address>", "only liquidations of this borrower")
    .option("--limit <n>", "rows (1..500)", limitArg, 20)
    .option("--cursor <cursor>", "the next page (printed under a full page)")
    .addOption(jsonOption())
    .action(async (o: { api: string; account?: string; limit: number; cursor?: string; json?: boolean }) => {
      const r = await apiGet<LiquidationsResponse>(o.api, "/v1/liquidations", { account: o.account, limit: o.limit, cursor: o.cursor });
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : renderLiquidations(r));
    });
}
