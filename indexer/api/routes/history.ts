// GET /v1/liquidations (liquidation history from the store) and GET /v1/keeper/outcomes (what the keeper did).
import type { FastifyInstance } from "fastify";
import { KEEPER_OUTCOMES } from "../../../keeper/outcome-types";
import type { KeeperOutcomeKind } from "../../store/types";
import { decimalsOf, symbolOf } from "../context";
import { amount } from "../format";
import { checkPaging, decodeOffsetCursor, encodeOffsetCursor, parseAddress } from "../params";
import { addressSchema, errorResponses, type LiquidationRow, liquidationRowSchema, pagingProps, stampProps } from "../schemas";
import type { ApiServices } from "../services";

interface PageQuery {
  account?: string;
  limit: number;
  offset?: number;
  cursor?: string;
}

function startOf(q: PageQuery): number {
  checkPaging(q);
  return q.cursor !== undefined ? decodeOffsetCursor(q.cursor) : (q.offset ?? 0);
}

const pageResponse = (itemsKey: string, item: object) => ({
  200: {
    type: "object",
    properties: { ...stampProps, nextCursor: { type: ["string", "null"] }, [itemsKey]: { type: "array", items: item } },
  },
  ...errorResponses,
});

export function historyRoutes(app: FastifyInstance, s: ApiServices): void {
  app.get<{ Querystring: PageQuery }>(
    "/v1/liquidations",
    {
      schema: {
        tags: ["history"],
        summary: "Liquidations seen on chain, newest first",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { account: { ...addressSchema, description: "only liquidations of this borrower" }, ...pagingProps },
        },
        response: pageResponse("liquidations", liquidationRowSchema),
      },
    },
    async (req) => {
      const q = req.query;
      const offset = startOf(q);
      const account = q.account === undefined ? undefined : parseAddress(q.account, "account");
      const at = await s.block();
      const rows = await s.ctx.store.listLiquidations({ limit: q.limit + 1, offset, account });
      return {
        ...at.stamp,
        nextCursor: rows.length > q.limit ? encodeOffsetCursor(offset + q.limit) : null,
        liquidations: rows.slice(0, q.limit).map(
          (l): LiquidationRow => ({
            blockNumber: l.blockNumber.toString(),
            logIndex: l.logIndex,
            transactionHash: l.transactionHash,
            timestamp: l.timestamp === null ? null : l.timestamp.toString(),
            borrower: l.borrower,
            liquidator: l.liquidator,
            collateralAsset: l.collateralAsset,
            collateralSymbol: symbolOf(s.ctx, l.collateralAsset),
            collateralSeized: l.collateralSeized.toString(),
            collateralSeizedAmount: amount(l.collateralSeized, decimalsOf(s.ctx, l.collateralAsset)),
            debtAsset: l.debtAsset,
            debtSymbol: symbolOf(s.ctx, l.debtAsset),
            debtRepaid: l.debtRepaid.toString(),
            debtRepaidAmount: amount(l.debtRepaid, decimalsOf(s.ctx, l.debtAsset)),
          }),
        ),
      };
    },
  );

  app.get<{ Querystring: PageQuery & { outcome?: KeeperOutcomeKind } }>(
    "/v1/keeper/outcomes",
    {
      schema: {
        tags: ["history"],
        summary: "Keeper job outcomes, newest first",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            account: { ...addressSchema, description: "only jobs for this borrower" },
            outcome: { type: "string", enum: KEEPER_OUTCOMES },
            ...pagingProps,
          },
        },
        response: pageResponse("outcomes", {
          type: "object",
          properties: {
            jobId: { type: "string" },
            account: { type: "string" },
            outcome: { type: "string", enum: KEEPER_OUTCOMES },
            collateralAsset: { type: ["string", "null"] },
            debtAsset: { type: ["string", "null"] },
            repayAmount: { type: ["string", "null"] },
            expectedProfitBase: { type: ["string", "null"] },
            transactionHash: { type: ["string", "null"] },
            blockNumber: { type: ["string", "null"] },
            gasUsed: { type: ["string", "null"] },
            reason: { type: ["string", "null"] },
            createdAt: { type: "string", format: "date-time" },
          },
        }),
      },
    },
    async (req) => {
      const q = req.query;
      const offset = startOf(q);
      const account = q.account === undefined ? undefined : parseAddress(q.account, "account");
      const at = await s.block();
      const rows = await s.ctx.store.listKeeperOutcomes({ limit: q.limit + 1, offset, account, outcome: q.outcome });
      const str = (v: bigint | null) => (v === null ? null : v.toString());
      return {
        ...at.stamp,
        nextCursor: rows.length > q.limit ? encodeOffsetCursor(offset + q.limit) : null,
        outcomes: rows.slice(0, q.limit).map((o) => ({
          jobId: o.jobId,
          account: o.account,
          outcome: o.outcome,
          collateralAsset: o.collateralAsset,
          debtAsset: o.debtAsset,
          repayAmount: str(o.repayAmount),
          expectedProfitBase: str(o.expectedProfitBase),
          transactionHash: o.transactionHash,
          blockNumber: str(o.blockNumber),
          gasUsed: str(o.gasUsed),
          reason: o.reason,
          createdAt: o.createdAt.toISOString(),
        })),
      };
    },
  );
}
