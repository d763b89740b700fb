// GET /v1/risk/history: the stored risk snapshots (one every 50 blocks, cli/app.ts) as a time series: per block,
// totals, HF buckets, debt at risk, liquidatable within −20%, bad debt and per-asset figures.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Address } from "../../health";
import { StoreDecodeError } from "../../store/errors";
import type { RiskSnapshot } from "../../store/types";
import type { ApiContext } from "../context";
import { usdFromNumber } from "../format";
import { assetRiskJson, badDebtJson, bucketJson } from "../risk-json";
import { historyPage, historyQuery, historyQuerySchema, type HistoryQuery } from "../history-params";
import { encodeOffsetCursor } from "../params";
import { errorResponses, stampProps, usdString } from "../schemas";
import type { ApiServices } from "../services";
import { zodValidator } from "../zod-validator";

/** HF below this is "at risk": the red band (USERS.md: < 1.1), i.e. the snapshot's buckets < 1, 1–1.05, 1.05–1.1. */
export const AT_RISK_HF = 1.1;

// What a snapshot holds: HealthEngine.aggregates() stored as JSON (bigints as decimal strings, floats as numbers).
const bigintText = z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform((v) => BigInt(v));
const storedSnapshot = z.object({
  accounts: z.object({ total: z.number(), withDebt: z.number(), liquidatable: z.number(), unknown: z.number() }),
  totalCollateralUSD: z.number(),
  totalDebtUSD: z.number(),
  distribution: z.array(
    z.object({ label: z.string(), min: z.number().nullable(), max: z.number().nullable(), accounts: z.number(), debtUSD: z.number() }),
  ),
  byAsset: z.array(
    z.object({
      asset: z.string(),
      collateral: bigintText,
      debt: bigintText,
      collateralUSD: z.number(),
      debtUSD: z.number(),
      deficit: bigintText,
      deficitUSD: z.number(),
    }),
  ),
  badDebt: z.object({ accounts: z.number(), amountUSD: z.number(), protocolDeficitUSD: z.number() }),
  liquidationCurves: z.array(z.object({ asset: z.string(), currentUSD: z.number(), within20PctUSD: z.number() })),
  liquidatableWithin20PctUSD: z.number(),
});

const bucketSchema = {
  type: "object",
  properties: {
    label: { type: "string" },
    min: { type: ["number", "null"] },
    max: { type: ["number", "null"] },
    accounts: { type: "integer" },
    debtUSD: usdString,
  },
} as const;

const assetPointSchema = {
  type: "object",
  properties: {
    asset: { type: "string" },
    symbol: { type: ["string", "null"] },
    collateral: { type: "string", description: "token base units" },
    collateralAmount: { type: "string" },
    collateralUSD: usdString,
    debt: { type: "string", description: "token base units" },
    debtAmount: { type: "string" },
    debtUSD: usdString,
    deficit: { type: "string", description: "bad debt written off by the protocol, token base units" },
    deficitUSD: usdString,
    liquidatableNowUSD: { ...usdString, description: "this asset's collateral held by accounts liquidatable at the snapshot" },
    liquidatableWithin20PctUSD: { ...usdString, description: "this asset's collateral liquidatable within a −20% fall of its price" },
  },
} as const;

export const riskHistoryPointSchema = {
  type: "object",
  properties: {
    blockNumber: { type: "string", description: "block the snapshot was taken at" },
    timestamp: { type: "string", description: "that block's timestamp (unix seconds)" },
    time: { type: "string", format: "date-time" },
    accounts: {
      type: "object",
      properties: { total: { type: "integer" }, withDebt: { type: "integer" }, liquidatable: { type: "integer" }, unknown: { type: "integer" } },
    },
    totalCollateralUSD: usdString,
    totalDebtUSD: usdString,
    distribution: { type: "array", items: bucketSchema, description: "accounts and debt per HF bucket" },
    debtAtRiskUSD: { ...usdString, description: `debt of accounts with HF < ${AT_RISK_HF} (the snapshot's buckets below ${AT_RISK_HF})` },
    liquidatableDebtUSD: { ...usdString, description: "debt of accounts liquidatable at the snapshot (bucket < 1)" },
    liquidatableWithin20PctUSD: { ...usdString, description: "collateral liquidatable within a −20% fall of any one asset" },
    badDebt: {
      type: "object",
      properties: {
        accountsUnderWater: { type: "integer" },
        underWaterUSD: { ...usdString, description: "debt above collateral value, summed over accounts under water" },
        protocolDeficitUSD: { ...usdString, description: "debt the protocol has written off" },
      },
    },
    byAsset: { type: "array", items: assetPointSchema },
  },
} as const;

function pointOf(ctx: ApiContext, s: RiskSnapshot) {
  const parsed = storedSnapshot.safeParse(typeof s.payload === "string" ? JSON.parse(s.payload) : s.payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StoreDecodeError(`risk snapshot at block ${s.blockNumber}: ${issue.path.join(".")}: ${issue.message}`);
  }
  const p = parsed.data;
  const sumDebt = (below: number) => p.distribution.filter((b) => b.max !== null && b.max <= below).reduce((a, b) => a + b.debtUSD, 0);
  const curves = new Map(p.liquidationCurves.map((c) => [c.asset.toLowerCase(), c]));
  return {
    blockNumber: s.blockNumber.toString(),
    timestamp: s.timestamp.toString(),
    time: new Date(Number(s.timestamp) * 1000).toISOString(),
    accounts: p.accounts,
    totalCollateralUSD: usdFromNumber(p.totalCollateralUSD),
    totalDebtUSD: usdFromNumber(p.totalDebtUSD),
    distribution: p.distribution.map(bucketJson),
    debtAtRiskUSD: usdFromNumber(sumDebt(AT_RISK_HF)),
    liquidatableDebtUSD: usdFromNumber(sumDebt(1)),
    liquidatableWithin20PctUSD: usdFromNumber(p.liquidatableWithin20PctUSD),
    badDebt: badDebtJson(p.badDebt),
    byAsset: p.byAsset.map((a) => {
      const asset = a.asset.toLowerCase() as Address;
      const c = curves.get(asset);
      return {
        ...assetRiskJson(ctx, { ...a, asset }),
        liquidatableNowUSD: usdFromNumber(c?.currentUSD ?? 0),
        liquidatableWithin20PctUSD: usdFromNumber(c?.within20PctUSD ?? 0),
      };
    }),
  };
}

export function riskHistoryRoutes(app: FastifyInstance, s: ApiServices): void {
  app.get<{ Querystring: HistoryQuery }>(
    "/v1/risk/history",
    {
      validatorCompiler: zodValidator({ querystring: historyQuery }),
      schema: {
        tags: ["risk"],
        summary: "Risk over time: the stored risk snapshots (one every 50 blocks), newest first unless order=asc",
        description:
          "Each point is the risk overview at its block, as stored then: accounts, totals, HF buckets, debt at risk (HF < 1.1), liquidatable debt, collateral liquidatable within −20%, bad debt, per-asset totals. `from` / `to` bound the blocks (inclusive); page with `nextCursor`. The stamp is the latest published block.",
        querystring: historyQuerySchema,
        response: {
          200: {
            type: "object",
            properties: {
              ...stampProps,
              order: { type: "string", enum: ["desc", "asc"] },
              nextCursor: { type: ["string", "null"] },
              snapshots: { type: "array", items: riskHistoryPointSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const page = historyPage(q);
      const at = await s.block();
      const rows = await s.ctx.store.listRiskSnapshotRange(page.store);
      return {
        ...at.stamp,
        order: q.order,
        nextCursor: rows.length > q.limit ? encodeOffsetCursor(page.offset + q.limit) : null,
        snapshots: rows.slice(0, q.limit).map((r) => pointOf(s.ctx, r)),
      };
    },
  );
}
