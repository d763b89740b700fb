// GET /: the dashboard page (built once at start-up; it fetches everything else from the API).
import type { FastifyInstance } from "fastify";
import { buildDashboardPage } from "../dashboard/page";
import type { ApiServices } from "../services";

export function dashboardRoute(app: FastifyInstance, _s: ApiServices): void {
  const page = buildDashboardPage();
  app.get("/", { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .header("content-security-policy", page.csp)
      .header("x-content-type-options", "nosniff")
      .header("cache-control", "no-cache")
      .send(page.html),
  );
  // Browsers ask for it on every page load; an empty answer beats a 404 in the console.
  app.get("/favicon.ico", { schema: { hide: true } }, async (_req, reply) => reply.code(204).send());
}
