// GET /v1/risk: the protocol risk overview (JSON, or CSV of the HF buckets and liquidation curves).
import type { FastifyInstance } from "fastify";
import { riskCsv, riskJson } from "../risk-json";
import { errorResponses, stampProps, usdString } from "../schemas";
import type { JsonOf } from "../schema-types";
import type { ApiServices } from "../services";

const stepSchema = {
  type: "object",
  properties: {
    dropPct: { type: "number" },
    accounts: { type: "integer" },
    collateralUSD: usdString,
    cumulativeAccounts: { type: "integer" },
    cumulativeCollateralUSD: usdString,
  },
} as const;

const riskSchema = {
  description: "JSON overview (or text/csv with format=csv)",
  type: "object",
  properties: {
    ...stampProps,
    accounts: {
      type: "object",
      properties: {
        total: { type: "integer" },
        withDebt: { type: "integer" },
        liquidatable: { type: "integer" },
        unknown: { type: "integer" },
      },
    },
    totalCollateralUSD: usdString,
    totalDebtUSD: usdString,
    distribution: {
      type: "array",
      items: {
        type: "object",
        properties: {
          label: { type: "string" },
          min: { type: ["number", "null"] },
          max: { type: ["number", "null"] },
          accounts: { type: "integer" },
          debtUSD: usdString,
        },
      },
    },
    byAsset: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: true,
        properties: {
          asset: { type: "string" },
          symbol: { type: ["string", "null"] },
          collateral: { type: "string" },
          collateralAmount: { type: "string" },
          collateralUSD: usdString,
          debt: { type: "string" },
          debtAmount: { type: "string" },
          debtUSD: usdString,
          deficit: { type: "string" },
          deficitUSD: usdString,
        },
      },
    },
    badDebt: {
      type: "object",
      properties: { accountsUnderWater: { type: "integer" }, underWaterUSD: usdString, protocolDeficitUSD: usdString },
    },
    concentration: { type: "object", properties: { top10Share: { type: "string" }, top1PctShare: { type: "string" } } },
    liquidationCurves: {
      type: "array",
      items: {
        type: "object",
        properties: {
          asset: { type: "string" },
          symbol: { type: ["string", "null"] },
          currentUSD: usdString,
          within20PctUSD: usdString,
          steps: { type: "array", items: stepSchema },
        },
      },
    },
    liquidatableWithin20PctUSD: { ...usdString, description: "collateral liquidatable within a −20% fall of any one asset" },
  },
} as const;

/** GET /v1/risk (JSON) */
export type RiskResponse = JsonOf<typeof riskSchema>;

export function riskRoutes(app: FastifyInstance, s: ApiServices): void {
  app.get<{ Querystring: { format?: "json" | "csv" } }>(
    "/v1/risk",
    {
      schema: {
        tags: ["risk"],
        summary: "Risk overview: totals, HF distribution, collateral and debt by asset, bad debt, concentration, liquidation curves",
        description:
          "USD figures are float sums at the block's timestamp (display precision); the liquidatable count is the engine's exact set. `format=csv` exports the HF buckets and the liquidation curves.",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { format: { type: "string", enum: ["json", "csv"], default: "json" } },
        },
        response: {
          200: riskSchema,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const csv = req.query.format === "csv";
      const out = await s.read((at) => {
        const risk = s.aggregates(at);
        const json: RiskResponse = { ...at.stamp, ...riskJson(s.ctx, risk) };
        return csv ? { at, text: riskCsv(s.ctx, risk, at.stamp) } : { at, json };
      });
      if ("text" in out) {
        return reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="marginwatch-risk-${out.at.blockNumber}.csv"`)
          .send(out.text);
      }
      return out.json;
    },
  );
}
