// The dashboard in headless Chromium (playwright-core + Debian's /usr/bin/chromium): served by a real listening
// server, populated from the API with real chain data, refreshed when a new block arrives. Saves a screenshot.
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { Registry } from "prom-client";
import type { FastifyInstance } from "fastify";
import { buildApi, listen } from "../../indexer/api";
import { silentLogger } from "../fixtures/indexer";
import { apiWorld, type ApiWorld } from "./world";
import { get, post } from "./helpers";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = path.resolve(__dirname, "../../test-results/dashboard.png");

describe("dashboard (headless Chromium)", function () {
  this.timeout(120_000);
  let w: ApiWorld;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let url: string;
  const pageErrors: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      (skipped: ${CHROMIUM} is not installed; apt-get install chromium to run the dashboard test)`);
      this.skip();
    }
    w = await apiWorld();
    await w.synced();
    app = await buildApi({ ...w.ctx, registry: new Registry() }, { logger: silentLogger });
    url = await listen(app, { host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(`console: ${m.text()}`);
    });
    page.on("requestfailed", (r) => pageErrors.push(`request failed: ${r.url()}`));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it("serves one self-contained page with a strict CSP", async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/html/);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp)
      .to.match(/default-src 'none'/)
      .and.match(/script-src 'sha256-/)
      .and.match(/connect-src 'self'/);
    const html = await res.text();
    expect(html).to.not.match(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/); // nothing fetched from elsewhere
  });

  it("shows the HF distribution, liquidation curve, at-risk table and oracles with real data, and updates on a new block", async () => {
    await page.goto(`${url}/`);
    // HF distribution: seven bars whose counts are the API's.
    await page.waitForFunction(
      () => {
        const bars = document.querySelectorAll("#hf-distribution rect[data-accounts]");
        return bars.length === 7 && Array.from(bars).some((b) => Number(b.getAttribute("data-accounts")) > 0);
      },
      undefined,
      { timeout: 15_000 },
    );
    const risk = (await get(w.app, "/v1/risk")).body;
    const bars = await page.$$eval("#hf-distribution rect[data-accounts]", (els) =>
      els.map((e) => [e.getAttribute("data-label"), Number(e.getAttribute("data-accounts"))]),
    );
    const apiBars = risk.distribution.map((b: { label: string; accounts: number }) => [b.label, b.accounts]);
    expect(bars).to.deep.equal(apiBars);

    // At-risk table: the API's order, HF colour bands as Aave (≥ 3 green, 1.1–3 orange, < 1.1 red).
    await page.waitForFunction(() => document.querySelectorAll("#at-risk tbody tr[data-account]").length >= 5, undefined, { timeout: 15_000 });
    const rows = await page.$$eval("#at-risk tbody tr[data-account]", (trs) =>
      trs.map((tr) => ({ account: tr.getAttribute("data-account"), hf: tr.getAttribute("data-hf"), cls: tr.querySelector("td.hf")!.className })),
    );
    const api = (await get(w.app, "/v1/accounts?limit=15")).body.accounts;
    expect(rows.map((r) => r.account)).to.deep.equal(api.map((a: { account: string }) => a.account));
    for (const r of rows) {
      const hf = r.hf === "∞" ? Infinity : Number(r.hf);
      const band = r.hf === "?" ? "hf-unknown" : hf >= 3 ? "hf-green" : hf >= 1.1 ? "hf-orange" : "hf-red";
      expect(r.cls, `${r.account} HF ${r.hf}`).to.contain(band);
    }
    expect(rows.some((r) => r.cls.includes("hf-orange"))).to.equal(true);

    // Liquidation curve: one line per asset; oracles: four feeds with age bars.
    expect(await page.$$eval("#liquidation-curve path[data-asset]", (ps) => ps.map((p) => p.getAttribute("data-asset")).sort())).to.deep.equal([
      "DAI",
      "USDC",
      "WBTC",
      "WETH",
    ]);
    await page.waitForFunction(() => document.querySelectorAll("#oracles .feed").length === 4, undefined, { timeout: 10_000 });
    expect(await page.$$eval("#oracles .feed", (fs) => fs.map((f) => f.getAttribute("data-status")))).to.deep.equal([
      "fresh",
      "fresh",
      "fresh",
      "fresh",
    ]);
    expect(await page.textContent("#kpi-accounts")).to.equal(`${risk.accounts.total} (${risk.accounts.withDebt})`);
    expect(await page.$$eval("#liquidations tbody tr", (t) => t.length)).to.be.at.least(1);
    expect(await page.$$eval("#keeper-outcomes tbody tr", (t) => t.length)).to.be.at.least(1);

    // "Last updated block N": a new block must show up within a couple of polls.
    const before = Number(await page.getAttribute("#last-updated", "data-block"));
    expect(before).to.equal(Number(w.indexer.status.cursor));
    const mined = await w.mine();
    await page.waitForFunction((n) => Number(document.getElementById("last-updated")!.getAttribute("data-block")) >= n, Number(mined), {
      timeout: 10_000,
    });
    const afterBlock = Number(await page.getAttribute("#last-updated", "data-block"));
    expect(afterBlock).to.be.greaterThan(before);
    expect(await page.textContent("#last-updated")).to.match(new RegExp(`block ${afterBlock} at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC`));
  });

  it("runs a stress test from the form, opens an account card, and saves a screenshot", async () => {
    await page.waitForSelector("#stress-inputs input[data-asset='WETH']");
    await page.fill("#stress-inputs input[data-asset='WETH']", "-40");
    await page.click("#stress-form button[type=submit]");
    await page.waitForFunction(() => /accounts liquidatable/.test(document.getElementById("stress-result")!.textContent ?? ""), undefined, {
      timeout: 10_000,
    });
    const text = (await page.textContent("#stress-result"))!;
    const n = Number(/: (\d+) accounts liquidatable/.exec(text)![1]);
    const api = (await post(w.app, "/v1/stress", { shocks: { WETH: -0.4 } })).body;
    expect(n).to.equal(api.accountsLiquidatable);
    expect(n).to.be.at.least(2);
    await page.waitForFunction(() => document.querySelectorAll("#scenarios tbody tr").length === 4, undefined, { timeout: 15_000 });

    await page.click("#at-risk tbody tr[data-account]");
    await page.waitForSelector("#account-card:not([hidden]) table", { timeout: 10_000 });
    expect(await page.textContent("#account-card h3")).to.match(/HF/);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).to.be.greaterThan(20_000);
    expect(pageErrors, pageErrors.join("\n")).to.deep.equal([]);
  });
});
