// Query parameters of the block-ordered histories (/v1/risk/history, /v1/accounts/:address/history), checked with
// zod: block bounds, order, paging. Strings in, no coercion: "", "1e3", "-1" and repeated parameters are refused
// with a message naming the parameter. The JSON schema beside it documents the same for the OpenAPI document.
import { z } from "zod";
import { decodeOffsetCursor } from "./params";
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET } from "./schemas";

const digits = (what: string, max: number) => z.string().regex(new RegExp(`^\\d{1,${max}}$`), `${what} must be a non-negative integer`);

const block = (name: string) => digits(`${name} (a block number)`, 15).transform((s) => BigInt(s));

export const historyQuery = z
  .object({
    from: block("from").optional(),
    to: block("to").optional(),
    order: z.enum(["desc", "asc"], { message: 'order must be "desc" (newest first) or "asc" (oldest first)' }).default("desc"),
    limit: digits("limit", 4)
      .transform(Number)
      .pipe(z.number().min(1, "limit must be at least 1").max(MAX_LIMIT, `limit must be at most ${MAX_LIMIT}`))
      .default(String(DEFAULT_LIMIT)),
    offset: digits("offset", 6)
      .transform(Number)
      .pipe(z.number().max(MAX_OFFSET, `offset must be at most ${MAX_OFFSET}`))
      .optional(),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, "cursor must be the nextCursor of a previous page")
      .optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: "from must not be above to", path: ["from"] })
  .refine((q) => q.cursor === undefined || q.offset === undefined, { message: "use either cursor or offset, not both", path: ["cursor"] });

export type HistoryQuery = z.infer<typeof historyQuery>;

/** The JSON schema of the same parameters, for the OpenAPI document (zod decides what is accepted). */
export const historyQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    from: { type: "string", pattern: "^\\d{1,15}$", description: "lowest block included" },
    to: { type: "string", pattern: "^\\d{1,15}$", description: "highest block included" },
    order: { type: "string", enum: ["desc", "asc"], default: "desc", description: "desc: newest block first; asc: oldest first" },
    limit: { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `page size, 1..${MAX_LIMIT}` },
    offset: { type: "integer", minimum: 0, maximum: MAX_OFFSET, description: "rows to skip (or use cursor)" },
    cursor: { type: "string", minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_-]+$", description: "nextCursor of the previous page" },
  },
} as const;

/** The store page a query asks for (one row more than the limit, to know whether there is a next page). */
export function historyPage(q: HistoryQuery) {
  const offset = q.cursor !== undefined ? decodeOffsetCursor(q.cursor) : (q.offset ?? 0);
  return { offset, store: { limit: q.limit + 1, offset, fromBlock: q.from, toBlock: q.to, order: q.order } };
}
