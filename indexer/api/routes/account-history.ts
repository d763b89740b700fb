// GET /v1/accounts/:address/history: one account's health factor over time, from the rows the indexer writes in
// every batch that touches the account (position changes, status changes, margin-level crossings).
import type { FastifyInstance } from "fastify";
import { formatHealthFactor } from "../../health";
import { NotFoundError } from "../errors";
import { usdFromBase } from "../format";
import { historyPage, historyQuery, historyQuerySchema, type HistoryQuery } from "../history-params";
import { encodeOffsetCursor, parseAddress } from "../params";
import { addressSchema, errorResponses, errorSchema, stampProps, usdString } from "../schemas";
import type { ApiServices } from "../services";
import { zodValidator } from "../zod-validator";

export const healthPointSchema = {
  type: "object",
  properties: {
    blockNumber: { type: "string", description: "block of the batch that wrote the row" },
    status: { type: "string", enum: ["healthy", "warning", "liquidatable", "unknown"] },
    healthFactor: { type: "string", description: "2 decimals rounded down; ∞ with no debt; ? when unknown" },
    healthFactorWad: { type: ["string", "null"], description: "exact WAD (2^256−1 with no debt); null when unknown" },
    totalCollateralUSD: usdString,
    totalBorrowsUSD: usdString,
    totalCollateralBase: { type: "string", description: "USD, 8 decimals" },
    totalDebtBase: { type: "string", description: "USD, 8 decimals" },
  },
} as const;

export function accountHistoryRoutes(app: FastifyInstance, s: ApiServices): void {
  app.get<{ Params: { address: string }; Querystring: HistoryQuery }>(
    "/v1/accounts/:address/history",
    {
      validatorCompiler: zodValidator({ querystring: historyQuery }),
      schema: {
        tags: ["accounts"],
        summary: "One account's health factor over time, newest first unless order=asc",
        description:
          "A row per block in which the indexer re-evaluated the account because its position, its status or a margin level crossing changed; between rows the HF moved only with prices and interest. `from` / `to` bound the blocks (inclusive). The stamp is the latest published block.",
        params: { type: "object", required: ["address"], properties: { address: addressSchema } },
        querystring: historyQuerySchema,
        response: {
          200: {
            type: "object",
            properties: {
              ...stampProps,
              account: { type: "string" },
              order: { type: "string", enum: ["desc", "asc"] },
              nextCursor: { type: ["string", "null"] },
              history: { type: "array", items: healthPointSchema },
            },
          },
          404: { description: "the account has no health row", ...errorSchema },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const account = parseAddress(req.params.address, "address");
      const q = req.query;
      const page = historyPage(q);
      const at = await s.block();
      const rows = await s.ctx.store.listAccountHealthHistory(account, page.store);
      if (rows.length === 0 && page.offset === 0 && (await s.ctx.store.getAccountHealth(account)) === null) {
        throw new NotFoundError(`account ${account} has no health history: it has never held a position`);
      }
      return {
        ...at.stamp,
        account,
        order: q.order,
        nextCursor: rows.length > q.limit ? encodeOffsetCursor(page.offset + q.limit) : null,
        history: rows.slice(0, q.limit).map((h) => ({
          blockNumber: h.blockNumber.toString(),
          status: h.status,
          healthFactor: formatHealthFactor(h.healthFactor),
          healthFactorWad: h.healthFactor === null ? null : h.healthFactor.toString(),
          totalCollateralUSD: usdFromBase(h.totalCollateralBase),
          totalBorrowsUSD: usdFromBase(h.totalDebtBase),
          totalCollateralBase: h.totalCollateralBase.toString(),
          totalDebtBase: h.totalDebtBase.toString(),
        })),
      };
    },
  );
}
