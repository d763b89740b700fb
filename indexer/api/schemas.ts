// JSON schemas shared by the routes: fastify validates input with them and @fastify/swagger turns them into the
// OpenAPI document. Bounds live here so the docs state exactly what the server enforces.
import type { JsonOf } from "./schema-types";

export const MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 50;
/** paging deeper than this is not a use case; it bounds the work a request can ask for */
export const MAX_OFFSET = 100_000;

export const addressPattern = "^0x[0-9a-fA-F]{40}$";

export const addressSchema = {
  type: "string",
  pattern: addressPattern,
  description: "0x-prefixed 20-byte hex address (mixed case must be a valid EIP-55 checksum)",
} as const;

export const assetRefSchema = {
  type: "string",
  minLength: 1,
  maxLength: 42,
  description: "asset symbol (e.g. WETH) or token address",
} as const;

export const decimalSchema = {
  type: "string",
  pattern: "^\\d{1,30}(\\.\\d{1,18})?$",
  description: 'non-negative decimal string, e.g. "1.05"',
} as const;

export const pagingProps = {
  limit: { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `page size, 1..${MAX_LIMIT}` },
  offset: { type: "integer", minimum: 0, maximum: MAX_OFFSET, description: "rows to skip (or use cursor)" },
  cursor: { type: "string", minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_-]+$", description: "nextCursor of the previous page" },
} as const;

/** The stamp every chain-data response carries. */
export const stampProps = {
  blockNumber: { type: "string", description: "block the data describes" },
  blockHash: { type: "string", description: "that block's hash" },
  blockTimestamp: { type: "string", description: "that block's timestamp (unix seconds)" },
  lastUpdated: { type: "string", format: "date-time" },
} as const;

export const errorSchema = {
  type: "object",
  required: ["error", "message"],
  properties: { error: { type: "string" }, message: { type: "string" } },
} as const;

/** Standard error responses to merge into a route's `response`. */
export const errorResponses = {
  400: { description: "invalid input", ...errorSchema },
  503: { description: "no block indexed yet", ...errorSchema },
} as const;

export const bigintString = { type: "string", pattern: "^-?\\d+$", description: "integer as a decimal string" } as const;
export const nullableBigint = { type: ["string", "null"], description: "integer as a decimal string, or null" } as const;
export const usdString = { type: "string", description: "USD, decimal string (2 decimals, rounded down)" } as const;

const auditMismatchSchema = {
  type: "object",
  required: ["account", "blockNumber", "blockHash", "diffs", "at"],
  properties: {
    account: { type: "string" },
    blockNumber: { type: "string", description: "block at which both figures were taken" },
    blockHash: { type: "string", description: "that block's hash (the pool was read at exactly this block, EIP-1898)" },
    diffs: {
      type: "array",
      items: {
        type: "object",
        required: ["field", "marginwatch", "pool"],
        properties: {
          field: { type: "string", enum: ["healthFactor", "accountData.healthFactor", "totalCollateralBase", "totalDebtBase", "status", "pricing"] },
          marginwatch: { type: "string", description: "marginwatch's value (integers in full: HF in WAD, USD with 8 decimals)" },
          pool: { type: "string", description: "the protocol's own value, or the revert it answered" },
        },
      },
    },
    at: { type: "string", format: "date-time", description: "when the auditor found it" },
  },
} as const;

/** /v1/status `audit`: the background auditor's counts, coverage and last mismatches; null when it is off. */
export const auditStatusSchema = {
  type: ["object", "null"],
  description:
    "accounts sampled on every published block and checked against the protocol's own healthFactor / account data views at that block, to the wei; null when the auditor is off (AUDIT_SAMPLE_PER_BLOCK=0)",
  properties: {
    enabled: { type: "boolean" },
    samplePerBlock: { type: "integer", description: "accounts checked per sampled block" },
    maxCallsPerBlock: { type: "integer", description: "RPC calls a sample may make" },
    checks: {
      type: "object",
      properties: {
        match: { type: "integer" },
        mismatch: { type: "integer" },
        error: { type: "integer", description: "the pool's answer could not be read (never counted as a mismatch)" },
      },
    },
    unpricedMatches: {
      type: "integer",
      description: "matches where the pool refused a stale / invalid price and marginwatch reported the account unknown",
    },
    samples: { type: "integer", description: "blocks sampled (one batched round trip each)" },
    skipped: {
      type: "object",
      properties: {
        busy: { type: "integer", description: "previous sample still in flight" },
        reorged: { type: "integer", description: "block orphaned before the read" },
      },
    },
    coverage: {
      type: "object",
      properties: { accounts: { type: "integer" }, laps: { type: "integer", description: "full passes of the rotation over every account" } },
    },
    lastSample: {
      type: ["object", "null"],
      properties: {
        blockNumber: { type: "string" },
        blockHash: { type: "string" },
        accounts: { type: "integer" },
        at: { type: "string", format: "date-time" },
      },
    },
    lastError: {
      type: ["object", "null"],
      properties: { message: { type: "string" }, blockNumber: { type: "string" }, at: { type: "string", format: "date-time" } },
    },
    openMismatches: {
      type: "array",
      items: auditMismatchSchema,
      description: "accounts whose latest check mismatched: /readyz is 503 while any is open",
    },
    lastMismatches: { type: "array", items: auditMismatchSchema, description: "newest first (at most 20)" },
  },
} as const;

/** The stamp as a type: every chain-data response extends it. */
export type Stamp = JsonOf<{ type: "object"; properties: typeof stampProps }>;

/** One row of GET /v1/liquidations: the route's response schema and the CLI's type. */
export const liquidationRowSchema = {
  type: "object",
  properties: {
    blockNumber: { type: "string" },
    logIndex: { type: "integer" },
    transactionHash: { type: "string" },
    timestamp: { type: ["string", "null"] },
    borrower: { type: "string" },
    liquidator: { type: "string" },
    collateralAsset: { type: "string" },
    collateralSymbol: { type: ["string", "null"] },
    collateralSeized: { type: "string" },
    collateralSeizedAmount: { type: "string" },
    debtAsset: { type: "string" },
    debtSymbol: { type: ["string", "null"] },
    debtRepaid: { type: "string" },
    debtRepaidAmount: { type: "string" },
  },
} as const;

export type LiquidationRow = JsonOf<typeof liquidationRowSchema>;
export type LiquidationsResponse = Stamp & { nextCursor: string | null; liquidations: LiquidationRow[] };
