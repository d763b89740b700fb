// `marginwatch oracles`: every price feed's price, round and age against its heartbeat (GET /v1/oracles).
import { Command } from "commander";
import type { OraclesResponse } from "../../indexer/api/routes/oracles";
import { apiGet, apiOption, jsonOption } from "../api-client";
import { orNone, type RenderOptions, stampLine, table, unixTime, useColor } from "../render/table";

const statusText = (status: string, o: RenderOptions): string =>
  !useColor(o) ? status : status === "fresh" ? `\x1b[32m${status}\x1b[39m` : `\x1b[31m${status}\x1b[39m`;

export function renderOracles(r: OraclesResponse, o: RenderOptions = {}): string {
  const rows = r.feeds.map((f) => [
    f.symbol ?? f.asset,
    orNone(f.priceUSD),
    f.roundId,
    unixTime(f.updatedAt),
    f.age,
    f.heartbeat,
    f.ageRatio,
    statusText(f.status, o),
    orNone(f.reason),
  ]);
  return `oracles · ${stampLine(r)} · sequencer ${r.sequencer.status}\n${table(
    [
      { header: "asset" },
      { header: "price USD", align: "right" },
      { header: "round", align: "right" },
      { header: "updated" },
      { header: "age s", align: "right" },
      { header: "heartbeat s", align: "right" },
      { header: "age ÷ heartbeat", align: "right" },
      { header: "status" },
      { header: "reason" },
    ],
    rows,
    o,
  )}\n`;
}

export function oraclesCommand(): Command {
  return new Command("oracles")
    .description("every price feed: price, round, age against heartbeat, fresh / stale / invalid; L2 sequencer status")
    .addOption(apiOption())
    .addOption(jsonOption())
    .action(async (o: { api: string; json?: boolean }) => {
      const r = await apiGet<OraclesResponse>(o.api, "/v1/oracles");
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : renderOracles(r));
    });
}
