// GET /v1/oracles (per-feed freshness against its heartbeat, sequencer status) and GET /v1/oracles/:asset/rounds.
import type { FastifyInstance } from "fastify";
import type { Address } from "../../health";
import type { FeedReading } from "../../oracle/tracker";
import { symbolOf } from "../context";
import { errorResponses, errorSchema, pagingProps, stampProps, assetRefSchema } from "../schemas";
import { fraction, priceFromBase } from "../format";
import { assetOr404, checkPaging, decodeOffsetCursor, encodeOffsetCursor } from "../params";
import type { JsonOf } from "../schema-types";
import type { ApiServices } from "../services";

const feedSchema = {
  type: "object",
  properties: {
    asset: { type: "string" },
    symbol: { type: ["string", "null"] },
    feed: { type: "string" },
    price: { type: ["string", "null"], description: "8-decimal USD, as the protocol oracle's price" },
    priceUSD: { type: ["string", "null"] },
    answer: { type: "string" },
    roundId: { type: "string" },
    updatedAt: { type: "string", description: "unix seconds" },
    age: { type: "string", description: "seconds since updatedAt at the block read" },
    heartbeat: { type: "string" },
    ageRatio: { type: "string", description: "age ÷ heartbeat; > 1 is stale" },
    status: { type: "string", enum: ["fresh", "stale", "invalid"] },
    reason: { type: ["string", "null"] },
    readAtBlock: { type: ["string", "null"] },
  },
} as const;

const oraclesSchema = {
  type: "object",
  properties: {
    ...stampProps,
    sequencer: { type: "object", properties: { status: { type: "string", enum: ["none", "up", "down", "grace"] } } },
    feeds: { type: "array", items: feedSchema },
  },
} as const;

const roundsSchema = {
  type: "object",
  properties: {
    ...stampProps,
    asset: { type: "string" },
    symbol: { type: "string" },
    nextCursor: { type: ["string", "null"] },
    rounds: {
      type: "array",
      items: {
        type: "object",
        properties: {
          feed: { type: "string" },
          roundId: { type: "string" },
          answer: { type: "string" },
          price: { type: ["string", "null"] },
          priceUSD: { type: ["string", "null"] },
          updatedAt: { type: "string" },
          blockNumber: { type: "string" },
        },
      },
    },
  },
} as const;

/** GET /v1/oracles */
export type OraclesResponse = JsonOf<typeof oraclesSchema>;
/** GET /v1/oracles/:asset/rounds */
export type OracleRoundsResponse = JsonOf<typeof roundsSchema>;

function feedJson(s: ApiServices, r: FeedReading): JsonOf<typeof feedSchema> {
  return {
    asset: r.asset,
    symbol: symbolOf(s.ctx, r.asset),
    feed: r.feed,
    price: r.price === null ? null : r.price.toString(),
    priceUSD: priceFromBase(r.price),
    answer: r.answer.toString(),
    roundId: r.roundId.toString(),
    updatedAt: r.updatedAt.toString(),
    age: r.age.toString(),
    heartbeat: r.heartbeat.toString(),
    ageRatio: r.heartbeat > 0n ? fraction(Number(r.age) / Number(r.heartbeat)) : "0",
    status: r.status,
    reason: r.reason,
    readAtBlock: r.blockNumber.toString(),
  };
}

export function oracleRoutes(app: FastifyInstance, s: ApiServices): void {
  app.get(
    "/v1/oracles",
    {
      schema: {
        tags: ["oracles"],
        summary: "Every price feed: price, round, age against heartbeat, fresh / stale / invalid; L2 sequencer status",
        querystring: { type: "object", additionalProperties: false, properties: {} },
        response: {
          200: oraclesSchema,
          ...errorResponses,
        },
      },
    },
    async (): Promise<OraclesResponse> => {
      // Every configured feed is read at every published block: the readings are those of the stamped block.
      return s.read((at) => {
        const feeds = [...at.view.readings.values()].sort((a, b) => (a.asset < b.asset ? -1 : 1)).map((r) => feedJson(s, r));
        return { ...at.stamp, sequencer: { status: at.view.sequencer }, feeds };
      });
    },
  );

  app.get<{ Params: { asset: string }; Querystring: { limit: number; offset?: number; cursor?: string } }>(
    "/v1/oracles/:asset/rounds",
    {
      schema: {
        tags: ["oracles"],
        summary: "Price rounds of one feed as marginwatch saw them, newest first",
        params: { type: "object", required: ["asset"], properties: { asset: assetRefSchema } },
        querystring: { type: "object", additionalProperties: false, properties: { ...pagingProps } },
        response: {
          200: roundsSchema,
          404: { description: "asset not listed", ...errorSchema },
          ...errorResponses,
        },
      },
    },
    async (req): Promise<OracleRoundsResponse> => {
      const a = assetOr404(s.ctx.deployment, req.params.asset);
      const q = req.query;
      checkPaging(q);
      const offset = q.cursor !== undefined ? decodeOffsetCursor(q.cursor) : (q.offset ?? 0);
      const at = await s.block();
      const rows = await s.ctx.store.listOracleRounds(a.address as Address, { limit: q.limit + 1, offset });
      const more = rows.length > q.limit;
      return {
        ...at.stamp,
        asset: a.address,
        symbol: a.symbol,
        nextCursor: more ? encodeOffsetCursor(offset + q.limit) : null,
        rounds: rows.slice(0, q.limit).map((r) => ({
          feed: r.feed,
          roundId: r.roundId.toString(),
          answer: r.answer.toString(),
          price: r.price === null ? null : r.price.toString(),
          priceUSD: priceFromBase(r.price),
          updatedAt: r.updatedAt.toString(),
          blockNumber: r.blockNumber.toString(),
        })),
      };
    },
  );
}
