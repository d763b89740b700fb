// Operator routes: /healthz (liveness, checks nothing external), /readyz (indexer readiness and the auditor's
// verdict), /metrics (Prometheus text), /v1/status (indexer progress, keeper queue and audit, for the dashboard).
import type { FastifyInstance } from "fastify";
import { errorBody } from "../errors";
import { auditStatusSchema, errorSchema } from "../schemas";
import type { ApiServices } from "../services";

/** A keeper queue that does not answer within this is reported as unavailable rather than holding the request. */
const QUEUE_TIMEOUT_MS = 1_000;

const noQuery = { type: "object", additionalProperties: false, properties: {} } as const;

export function opsRoutes(app: FastifyInstance, s: ApiServices): void {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["ops"],
        summary: "Liveness: the process serves HTTP (checks nothing external)",
        querystring: noQuery,
        response: { 200: { type: "object", properties: { status: { type: "string", enum: ["ok"] } } } },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["ops"],
        summary: "Readiness: the indexer follows the head, RPC answers, data is fresh, the auditor has no open mismatch",
        querystring: noQuery,
        response: {
          200: { type: "object", properties: { status: { type: "string", enum: ["ready"] }, blockNumber: { type: "string" } } },
          503: { description: "not ready, with the reason", ...errorSchema },
        },
      },
    },
    async (_req, reply) => {
      const r = s.ctx.indexer.isReady();
      if (!r.ready) return reply.code(503).send(errorBody("not_ready", r.reason ?? "not ready"));
      const view = s.ctx.indexer.snapshots.current;
      if (!view) return reply.code(503).send(errorBody("not_ready", "no block published yet"));
      // A figure that differs from the pool's own view is served wrong: not ready until it checks equal again.
      const audit = s.ctx.auditor?.readiness();
      if (audit && !audit.ready) return reply.code(503).send(errorBody("not_ready", audit.reason ?? "audit mismatch"));
      return { status: "ready", blockNumber: view.block.number.toString() };
    },
  );

  app.get(
    "/metrics",
    {
      schema: { tags: ["ops"], summary: "Prometheus metrics (text exposition format)", querystring: noQuery },
    },
    async (_req, reply) => {
      const text = await s.ctx.registry.metrics();
      return reply.type(s.ctx.registry.contentType).send(text);
    },
  );

  app.get(
    "/v1/status",
    {
      schema: {
        tags: ["ops"],
        summary: "Indexer progress, readiness, keeper queue counts and the auditor's results",
        querystring: noQuery,
        response: {
          200: {
            type: "object",
            properties: {
              phase: { type: "string" },
              ready: { type: "boolean" },
              reason: { type: ["string", "null"] },
              head: { type: ["string", "null"] },
              blockNumber: { type: "string" },
              blockTimestamp: { type: ["string", "null"] },
              finalizedBlock: { type: "string" },
              headLag: { type: ["string", "null"] },
              reorgs: { type: "integer" },
              keeperQueue: { type: ["object", "null"], additionalProperties: { type: "integer" } },
              keeperQueueError: { type: ["string", "null"] },
              audit: auditStatusSchema,
            },
          },
        },
      },
    },
    async () => {
      const st = s.ctx.indexer.status;
      const ir = s.ctx.indexer.isReady();
      const audit = s.ctx.auditor?.readiness();
      const r = ir.ready && audit && !audit.ready ? audit : ir;
      const view = s.ctx.indexer.snapshots.current;
      let keeperQueue: Record<string, number> | null = null;
      let keeperQueueError: string | null = null;
      if (s.ctx.keeperQueue) {
        try {
          keeperQueue = await withTimeout(s.ctx.keeperQueue.counts(), QUEUE_TIMEOUT_MS);
        } catch (e) {
          keeperQueueError = e instanceof Error ? e.message : String(e);
        }
      }
      return {
        phase: st.phase,
        ready: r.ready,
        reason: r.reason,
        head: st.head === null ? null : st.head.toString(),
        blockNumber: (view?.block.number ?? st.cursor).toString(),
        blockTimestamp: view ? view.block.timestamp.toString() : null,
        finalizedBlock: (view?.finalizedBlock ?? st.finalizedBlock).toString(),
        headLag: st.head === null || !view ? null : (st.head > view.block.number ? st.head - view.block.number : 0n).toString(),
        reorgs: st.reorgs,
        keeperQueue,
        keeperQueueError,
        audit: s.ctx.auditor?.status() ?? null,
      };
    },
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`keeper queue did not answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
