// The HTTP API and dashboard: buildApi wires fastify (validation, errors, OpenAPI, metrics) to the indexer,
// health engine and store; listen binds it. Data flows one way: the API only reads.
import swagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import type { ApiContext, ApiOptions } from "./context";
import { errorBody, installErrorHandlers } from "./errors";
import { bigintReplacer } from "./format";
import { registerApiMetrics } from "./metrics";
import { accountHistoryRoutes } from "./routes/account-history";
import { accountRoutes } from "./routes/accounts";
import { dashboardRoute } from "./routes/dashboard";
import { historyRoutes } from "./routes/history";
import { opsRoutes } from "./routes/ops";
import { oracleRoutes } from "./routes/oracles";
import { riskRoutes } from "./routes/risk";
import { riskHistoryRoutes } from "./routes/risk-history";
import { stressRoutes } from "./routes/stress";
import { ApiServices } from "./services";

export type { ApiContext, ApiOptions, BlockStamp, KeeperQueueCounts } from "./context";
export { ApiError, BadRequestError, NotFoundError, NotReadyError, type ErrorBody } from "./errors";
export { METRIC_NAMES } from "./metrics";

export const DEFAULT_BODY_LIMIT = 64 * 1024;

const json = (data: unknown): string => JSON.stringify(data, bigintReplacer);

export async function buildApi(ctx: ApiContext, opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger at run time; its generic parameters only differ in the types.
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    // Per-request lines at info would drown the indexer's logs; onResponse logs failures and debug detail.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    routerOptions: { maxParamLength: 200 },
    // Unknown query parameters are errors where the schema says so (additionalProperties: false), not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: false } },
    // Malformed URLs (bad percent-encoding) get the same JSON error as everything else.
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as FastifyReply).code(400).send(errorBody("bad_request", err.message));
    },
  });
  installErrorHandlers(app);
  // JSON only: a text/plain body is a 415, not a string that fails validation later.
  app.removeContentTypeParser("text/plain");
  // Response schemas document the API (OpenAPI); serialisation stays JSON.stringify, with bigints as strings.
  app.setSerializerCompiler(() => json);
  app.setReplySerializer(json);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "marginwatch API",
        version: "1",
        description:
          "Health factors, at-risk accounts, risk aggregates, stress tests, oracle freshness and liquidation history of the margin pool. Every chain-data response carries blockNumber / blockTimestamp. Integers are decimal strings; USD and HF for display are decimal strings.",
      },
      tags: [{ name: "accounts" }, { name: "risk" }, { name: "oracles" }, { name: "history" }, { name: "ops" }],
    },
  });

  const services = new ApiServices(ctx, opts.healthOptions);
  app.addHook("onResponse", async (req, reply) => {
    if (reply.statusCode >= 500) req.log.warn({ url: req.url.slice(0, 200), status: reply.statusCode }, "API request failed");
    else req.log.debug({ url: req.url.slice(0, 200), status: reply.statusCode, ms: reply.elapsedTime }, "API request");
  });
  registerApiMetrics(app, ctx);

  accountRoutes(app, services);
  accountHistoryRoutes(app, services);
  riskRoutes(app, services);
  riskHistoryRoutes(app, services);
  stressRoutes(app, services);
  oracleRoutes(app, services);
  historyRoutes(app, services);
  opsRoutes(app, services);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  if (opts.dashboard !== false) dashboardRoute(app, services);

  await app.ready();
  return app;
}

export interface ListenOptions {
  /** default 127.0.0.1: exposing the API beyond the machine is a deliberate choice */
  host?: string;
  /** 0 picks a free port */
  port: number;
}

/** Binds the server; returns its base URL (with the real port when 0 was asked). */
export async function listen(app: FastifyInstance, opts: ListenOptions): Promise<string> {
  const host = opts.host ?? "127.0.0.1";
  await app.listen({ host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
