// The dashboard in headless Chromium (playwright-core + Debian's /usr/bin/chromium): served by a real listening
// server, populated from the API with real chain data, refreshed when a new block arrives; the uPlot charts (risk
// over time, oracle prices, liquidations, the borrower's HF history) drawn from the API's histories. Saves a
// screenshot under test-results/.
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { Registry } from "prom-client";
import type { FastifyInstance } from "fastify";
import { buildApi, listen } from "../../indexer/api";
import { silentLogger } from "../fixtures/indexer";
import { borrow, deposit, setPrice } from "../../protocols/marginpool/actions";
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
    // A liquidation on chain for the liquidations chart, of a small borrower of its own (WBTC at −10% takes only it
    // under 1); WBTC back at 60000 afterwards.
    const dl = w.addBorrower("dl", 15);
    await deposit(w.chain, dl.wallet, "WBTC", "0.01");
    await borrow(w.chain, dl.wallet, "USDC", "430"); // 600·0.78 / 430 ≈ 1.09
    await setPrice(w.chain, "WBTC", "54000");
    await w.synced();
    await w.liquidate(dl.address, "WBTC", "USDC", "100");
    await setPrice(w.chain, "WBTC", "60000");
    await w.mine();
    await w.snapshotted();
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

  it("serves the page with a strict CSP, and the chart library from this server", async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/html/);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp)
      .to.match(/default-src 'none'/)
      .and.match(/script-src 'self' 'sha256-/)
      .and.match(/connect-src 'self'/);
    expect(csp)
      .to.match(/script-src 'self' 'sha256-/)
      .and.match(/style-src 'self' 'sha256-/);
    const html = await res.text();
    // Nothing fetched from elsewhere: the only linked files are the chart library's, served by this API.
    expect(html).to.not.match(/<script[^>]+src="(?!\/dashboard\/)|<link[^>]+href="(?!\/dashboard\/)|https?:\/\/(?!www\.w3\.org)/);
    expect(html.match(/(?:src|href)="\/dashboard\/[^"]+"/g)).to.deep.equal(['href="/dashboard/uplot.min.css"', 'src="/dashboard/uplot.min.js"']);
    const js = await fetch(`${url}/dashboard/uplot.min.js`);
    expect(js.status).to.equal(200);
    expect(js.headers.get("content-type")).to.match(/^text\/javascript/);
    expect(await js.text()).to.match(/uPlot/);
    const css = await fetch(`${url}/dashboard/uplot.min.css`);
    expect(css.status).to.equal(200);
    expect(css.headers.get("content-type")).to.match(/^text\/css/);
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

    // Liquidation curve (uPlot): one line per asset over the 0–50% drops; oracles: four feeds with age bars.
    await page.waitForSelector("#liquidation-curve canvas", { timeout: 10_000 });
    expect(await page.getAttribute("#liquidation-curve", "data-assets")).to.equal("DAI,USDC,WBTC,WETH");
    expect(await page.getAttribute("#liquidation-curve", "data-points")).to.equal("11");
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

  it("charts risk over time, oracle prices and liquidations with uPlot from the API's histories", async () => {
    /** A chart's host: its canvas is drawn, and it shows as many x points as the API gave. */
    const drawn = async (id: string, points: number) => {
      await page.waitForFunction(
        ([sel, n]) => {
          const host = document.getElementById(sel as string);
          return !!host && Number(host.getAttribute("data-points")) === n && host.querySelector("canvas") !== null;
        },
        [id, points] as const,
        { timeout: 15_000 },
      );
      const canvas = await page.$eval(`#${id} canvas`, (c) => {
        const cv = c as HTMLCanvasElement;
        // Painted pixels, not a blank canvas: some alpha somewhere.
        const px = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
        let painted = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) painted++;
        return { width: cv.width, height: cv.height, painted };
      });
      expect(canvas.width, id).to.be.greaterThan(100);
      expect(canvas.painted, `${id} painted pixels`).to.be.greaterThan(500);
    };

    const hist = (await get(w.app, "/v1/risk/history?limit=500")).body;
    expect(hist.snapshots.length).to.be.greaterThan(1);
    // The page asked for its history at its first poll: at least the snapshots there were then.
    await page.waitForFunction(() => Number(document.getElementById("chart-hf-buckets")?.getAttribute("data-points")) > 1, undefined, {
      timeout: 15_000,
    });
    const shown = Number(await page.getAttribute("#chart-hf-buckets", "data-points"));
    expect(shown).to.be.within(2, hist.snapshots.length);
    await drawn("chart-hf-buckets", shown);
    await drawn("chart-risk-usd", shown);
    expect((await page.getAttribute("#chart-hf-buckets", "data-series"))!.split("|")).to.deep.equal(
      hist.snapshots[0].distribution.map((b: { label: string }) => `HF ${b.label}`),
    );
    expect(await page.getAttribute("#chart-risk-usd", "data-series")).to.match(/^debt at risk \(HF < 1\.1\)\|.*within −20%\|bad debt/);
    expect(await page.textContent("#risk-history-note")).to.match(/\d+ snapshots, blocks \d+–\d+/);

    for (const symbol of ["DAI", "USDC", "WBTC", "WETH"]) {
      const rounds = (await get(w.app, `/v1/oracles/${symbol}/rounds?limit=500`)).body.rounds.filter((r: { priceUSD: string | null }) => r.priceUSD);
      expect(rounds.length, symbol).to.be.greaterThan(0);
      await drawn(`chart-oracle-${symbol}`, rounds.length);
    }
    expect(Number(await page.getAttribute("#chart-oracle-WBTC", "data-points"))).to.be.at.least(3); // 60000, 54000, 60000

    const liqs = (await get(w.app, "/v1/liquidations?limit=500")).body.liquidations;
    expect(liqs.length).to.be.greaterThan(0);
    await drawn("chart-liquidations", new Set(liqs.map((l: { blockNumber: string }) => l.blockNumber)).size);
    expect(pageErrors, pageErrors.join("\n")).to.deep.equal([]);
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
    // The borrower's HF history: the rows the API holds for the account, drawn.
    const account = (await page.getAttribute("#at-risk tbody tr[data-account]", "data-account"))!;
    const history = (await get(w.app, `/v1/accounts/${account}/history?limit=500`)).body.history;
    expect(history.length).to.be.greaterThan(0);
    await page.waitForFunction(
      ([a, n]) => {
        const host = document.getElementById("account-hf-chart");
        return !!host && host.getAttribute("data-account") === a && Number(host.getAttribute("data-points")) === n && !!host.querySelector("canvas");
      },
      [account, history.length] as const,
      { timeout: 10_000 },
    );
    expect(await page.getAttribute("#account-hf-chart", "data-series")).to.equal("health factor|liquidation (HF 1)");

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).to.be.greaterThan(20_000);
    console.log(`      screenshot: ${SCREENSHOT}`);
    expect(pageErrors, pageErrors.join("\n")).to.deep.equal([]);
  });
});
