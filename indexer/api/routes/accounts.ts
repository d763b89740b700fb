// GET /v1/accounts (at-risk list) and GET /v1/accounts/:address (the account card).
import type { FastifyInstance } from "fastify";
import type { AccountStatus, Address, AtRiskFilter } from "../../health";
import { accountCard, whatIf } from "../account-card";
import { queryAtRisk } from "../at-risk";
import { BadRequestError, NotFoundError } from "../errors";
import { checkPaging, parseAddress, parseWad, requireAsset } from "../params";
import {
  DEFAULT_LIMIT,
  addressSchema,
  assetRefSchema,
  decimalSchema,
  errorResponses,
  errorSchema,
  pagingProps,
  stampProps,
  usdString,
} from "../schemas";
import type { JsonOf } from "../schema-types";
import type { ApiServices } from "../services";

const STATUSES = ["healthy", "warning", "liquidatable", "unknown"] as const;

interface ListQuery {
  status?: AccountStatus;
  maxHealthFactor?: string;
  minHealthFactor?: string;
  asset?: string;
  limit: number;
  offset?: number;
  cursor?: string;
}

const rowSchema = {
  type: "object",
  properties: {
    account: { type: "string" },
    status: { type: "string", enum: STATUSES },
    healthFactor: { type: "string", description: "2 decimals rounded down; ∞ with no debt; ? when unknown" },
    healthFactorWad: { type: ["string", "null"], description: "exact WAD, as the protocol's own healthFactor view" },
    totalCollateralUSD: usdString,
    totalBorrowsUSD: usdString,
  },
} as const;

const hfProps = {
  healthFactor: { type: "string" },
  healthFactorWad: { type: ["string", "null"] },
  status: { type: "string", enum: STATUSES },
} as const;

const cardSchema = {
  type: "object",
  properties: {
    ...stampProps,
    account: { type: "string" },
    ...hfProps,
    totalCollateralUSD: usdString,
    totalBorrowsUSD: usdString,
    availableBorrowsUSD: usdString,
    netWorthUSD: usdString,
    currentLiquidationThreshold: { type: "string", description: "weighted liquidation threshold, fraction (0.8250)" },
    currentLoanToValue: { type: "string", description: "weighted max LTV, fraction" },
    borrowPowerUsed: { type: "string", description: "debt ÷ (debt + available borrows), fraction" },
    borrowPowerUsedDisplay: { type: "string" },
    base: { type: "object", additionalProperties: { type: "string" }, description: "exact chain values (USD 8 decimals, bps)" },
    marginLevels: { type: "array", items: { type: "string" } },
    unknownAssets: { type: "array", items: { type: "string" } },
    positions: {
      type: "array",
      items: {
        type: "object",
        properties: {
          asset: { type: "string" },
          symbol: { type: ["string", "null"] },
          decimals: { type: "integer" },
          collateral: { type: "string" },
          collateralAmount: { type: "string" },
          debt: { type: "string" },
          debtAmount: { type: "string" },
          collateralUSD: usdString,
          debtUSD: usdString,
          collateralBase: { type: "string" },
          debtBase: { type: "string" },
          price: { type: ["string", "null"] },
          priceUSD: { type: ["string", "null"] },
          priceStatus: { type: "string", enum: ["fresh", "stale", "invalid", "missing"] },
        },
      },
    },
    liquidationPrices: {
      type: "array",
      items: {
        type: "object",
        properties: {
          asset: { type: "string" },
          symbol: { type: ["string", "null"] },
          currentPrice: { type: "string" },
          currentPriceUSD: { type: ["string", "null"] },
          liquidationPrice: { type: ["string", "null"] },
          liquidationPriceUSD: { type: ["string", "null"] },
          dropPct: { type: ["string", "null"], description: "% fall from the current price that makes the account liquidatable" },
        },
      },
    },
    whatIf: {
      type: "array",
      description: "HF after a shock of every collateral price at once",
      items: { type: "object", properties: { shock: { type: "number" }, ...hfProps } },
    },
  },
} as const;

const listSchema = {
  type: "object",
  properties: {
    ...stampProps,
    total: { type: "integer", description: "accounts matching the filters" },
    limit: { type: "integer" },
    nextCursor: { type: ["string", "null"] },
    accounts: { type: "array", items: rowSchema },
  },
} as const;

/** GET /v1/accounts */
export type AccountListResponse = JsonOf<typeof listSchema>;
/** GET /v1/accounts/:address */
export type AccountCardResponse = JsonOf<typeof cardSchema>;

export function accountRoutes(app: FastifyInstance, s: ApiServices): void {
  app.get<{ Querystring: ListQuery }>(
    "/v1/accounts",
    {
      schema: {
        tags: ["accounts"],
        summary: "At-risk list: accounts by health factor, lowest first",
        description:
          "Served from the health engine's in-memory state. Unknown health factors (stale prices) sort last; accounts without debt (HF ∞) before them.",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            status: { type: "string", enum: STATUSES },
            maxHealthFactor: { ...decimalSchema, description: "inclusive upper HF bound (decimal string)" },
            minHealthFactor: { ...decimalSchema, description: "inclusive lower HF bound (decimal string)" },
            asset: { ...assetRefSchema, description: "only holders (collateral or debt) of this asset, by symbol or address" },
            ...pagingProps,
          },
        },
        response: { 200: listSchema, ...errorResponses },
      },
    },
    async (req): Promise<AccountListResponse> => {
      const q = req.query;
      checkPaging(q);
      const f: AtRiskFilter = {};
      if (q.status !== undefined) f.status = q.status;
      if (q.minHealthFactor !== undefined) f.minHealthFactor = parseWad(q.minHealthFactor, "minHealthFactor");
      if (q.maxHealthFactor !== undefined) f.maxHealthFactor = parseWad(q.maxHealthFactor, "maxHealthFactor");
      if (f.minHealthFactor !== undefined && f.maxHealthFactor !== undefined && f.minHealthFactor > f.maxHealthFactor) {
        throw new BadRequestError(`minHealthFactor ${q.minHealthFactor} is above maxHealthFactor ${q.maxHealthFactor}`);
      }
      const asset = q.asset === undefined ? undefined : requireAsset(s.ctx.deployment, q.asset);
      return s.read((at) => {
        if (asset) {
          const address = asset.address as Address;
          if (!s.ctx.health.state.assets.has(address)) return { ...at.stamp, total: 0, limit: q.limit, nextCursor: null, accounts: [] };
          f.asset = address;
        }
        const page = queryAtRisk(s.atRisk(at), f, { limit: q.limit ?? DEFAULT_LIMIT, offset: q.offset, cursor: q.cursor });
        return { ...at.stamp, total: page.total, limit: q.limit, nextCursor: page.nextCursor, accounts: page.rows };
      });
    },
  );

  app.get<{ Params: { address: string } }>(
    "/v1/accounts/:address",
    {
      schema: {
        tags: ["accounts"],
        summary: "Account card: health factor, totals, positions, liquidation prices, what-if shocks",
        params: { type: "object", required: ["address"], properties: { address: addressSchema } },
        response: { 200: cardSchema, 404: { description: "no such account", ...errorSchema }, ...errorResponses },
      },
    },
    async (req): Promise<AccountCardResponse> => {
      const account = parseAddress(req.params.address, "address");
      const health = s.ctx.health;
      return s.read((at) => {
        const card = health.account(account, at.timestamp);
        if (!card) throw new NotFoundError(`account ${account} has never held a position`);
        return { ...at.stamp, ...accountCard(s.ctx, card, whatIf(health, account, at.timestamp, s.warningAt)) };
      });
    },
  );
}
