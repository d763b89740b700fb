// POST /v1/stress (custom price shocks) and GET /v1/stress/scenarios (the fixed scenarios, evaluated).
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Address } from "../../health";
import { BadRequestError, clip } from "../errors";
import { requireAsset } from "../params";
import { stressJson } from "../scenarios";
import { errorResponses, errorSchema, stampProps, usdString } from "../schemas";
import type { JsonOf } from "../schema-types";
import type { ApiServices } from "../services";
import { zodValidator } from "../zod-validator";

export const MIN_SHOCK = -0.99;
export const MAX_SHOCK = 10;

const resultSchema = {
  type: "object",
  properties: {
    shocks: {
      type: "array",
      items: {
        type: "object",
        properties: {
          asset: { type: "string" },
          symbol: { type: ["string", "null"] },
          shock: { type: "number" },
          price: { type: "string" },
          priceUSD: { type: ["string", "null"] },
          shockedPrice: { type: "string" },
          shockedPriceUSD: { type: ["string", "null"] },
        },
      },
    },
    accountsLiquidatable: { type: "integer", description: "accounts with HF < 1 under the shock" },
    newlyLiquidatable: { type: "integer", description: "of those, accounts not liquidatable now" },
    unknownAccounts: { type: "integer", description: "accounts skipped: a price they depend on is stale or invalid" },
    debtLiquidatableUSD: usdString,
    debtLiquidatableBase: { type: "string" },
    projectedBadDebtUSD: { ...usdString, description: "Σ (debt − collateral) of liquidatable accounts under water" },
    projectedBadDebtBase: { type: "string" },
  },
} as const;

const stressResponseSchema = { type: "object", properties: { ...stampProps, ...resultSchema.properties } } as const;

const scenariosSchema = {
  type: "object",
  properties: {
    ...stampProps,
    scenarios: {
      type: "array",
      items: { type: "object", properties: { id: { type: "string" }, name: { type: "string" }, result: resultSchema } },
    },
  },
} as const;

/** POST /v1/stress */
export type StressResponse = JsonOf<typeof stressResponseSchema>;
/** GET /v1/stress/scenarios */
export type ScenariosResponse = JsonOf<typeof scenariosSchema>;

const MAX_SHOCKED_ASSETS = 64;

/** What is accepted (the JSON schema below says the same for the docs; zod does not coerce types). */
const stressBody = z
  .object({
    shocks: z
      .record(
        z.string().min(1).max(42, "asset keys are symbols or addresses (at most 42 characters)"),
        z.number().finite().min(MIN_SHOCK).max(MAX_SHOCK),
      )
      .refine((o) => Object.keys(o).length >= 1, "give at least one asset to shock")
      .refine((o) => Object.keys(o).length <= MAX_SHOCKED_ASSETS, `at most ${MAX_SHOCKED_ASSETS} assets`),
  })
  .strict();

type StressBody = z.infer<typeof stressBody>;

export function stressRoutes(app: FastifyInstance, s: ApiServices): void {
  app.post<{ Body: StressBody }>(
    "/v1/stress",
    {
      validatorCompiler: zodValidator({ body: stressBody }),
      schema: {
        tags: ["risk"],
        summary: "Stress test: shock prices, get the accounts and debt that become liquidatable and the projected bad debt",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["shocks"],
          properties: {
            shocks: {
              type: "object",
              description: `asset symbol or address → relative price change, ${MIN_SHOCK} to +${MAX_SHOCK} (e.g. {"WETH": -0.3})`,
              minProperties: 1,
              maxProperties: MAX_SHOCKED_ASSETS,
              propertyNames: { minLength: 1, maxLength: 42 },
              additionalProperties: { type: "number", minimum: MIN_SHOCK, maximum: MAX_SHOCK },
            },
          },
        },
        response: {
          200: stressResponseSchema,
          415: { description: "body is not application/json", ...errorSchema },
          413: { description: "body larger than the limit", ...errorSchema },
          ...errorResponses,
        },
      },
    },
    async (req): Promise<StressResponse> => {
      const shocks = new Map<Address, number>();
      for (const [key, value] of Object.entries(req.body.shocks)) {
        const a = requireAsset(s.ctx.deployment, key, "shocks key");
        if (shocks.has(a.address)) throw new BadRequestError(`asset ${a.symbol} is shocked twice (by symbol and by address: "${clip(key, 42)}")`);
        shocks.set(a.address, value);
      }
      return s.read((at) => ({ ...at.stamp, ...stressJson(s.ctx, s.stress(at, shocks)) }));
    },
  );

  app.get(
    "/v1/stress/scenarios",
    {
      schema: {
        tags: ["risk"],
        summary: "Fixed stress scenarios (ETH −30%, BTC −30%, all volatile −40%, stablecoin depeg −10%), evaluated at the latest block",
        querystring: { type: "object", additionalProperties: false, properties: {} },
        response: {
          200: scenariosSchema,
          ...errorResponses,
        },
      },
    },
    async (): Promise<ScenariosResponse> => {
      return s.read((at) => ({ ...at.stamp, scenarios: s.scenarios(at) }));
    },
  );
}
