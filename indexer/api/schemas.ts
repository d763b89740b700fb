// JSON schemas shared by the routes: fastify validates input with them and @fastify/swagger turns them into the
// OpenAPI document. Bounds live here so the docs state exactly what the server enforces.
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
  description: "non-negative decimal string, e.g. \"1.05\"",
} as const;

export const pagingProps = {
  limit: { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `page size, 1..${MAX_LIMIT}` },
  offset: { type: "integer", minimum: 0, maximum: MAX_OFFSET, description: "rows to skip (or use cursor)" },
  cursor: { type: "string", minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_-]+$", description: "nextCursor of the previous page" },
} as const;

/** The stamp every chain-data response carries. */
export const stampProps = {
  blockNumber: { type: "string", description: "block the data describes" },
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
