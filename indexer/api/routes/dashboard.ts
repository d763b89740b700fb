// GET /: the dashboard page (built once at start-up; it fetches everything else from the API), and the chart
// library it loads, uPlot, served from node_modules by this server (no CDN: the page works offline).
import fs from "node:fs";
import type { FastifyInstance } from "fastify";
import { buildDashboardPage } from "../dashboard/page";
import type { ApiServices } from "../services";

/** The files the page links to, by URL: read once from the installed package. */
const VENDOR: Record<string, { file: string; type: string }> = {
  "/dashboard/uplot.min.js": { file: require.resolve("uplot/dist/uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "/dashboard/uplot.min.css": { file: require.resolve("uplot/dist/uPlot.min.css"), type: "text/css; charset=utf-8" },
};

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
  for (const [url, v] of Object.entries(VENDOR)) {
    const body = fs.readFileSync(v.file);
    app.get(url, { schema: { hide: true } }, async (_req, reply) =>
      reply.type(v.type).header("x-content-type-options", "nosniff").header("cache-control", "public, max-age=3600").send(body),
    );
  }
  // Browsers ask for it on every page load; an empty answer beats a 404 in the console.
  app.get("/favicon.ico", { schema: { hide: true } }, async (_req, reply) => reply.code(204).send());
}
