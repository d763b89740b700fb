// Every API reader of the CLI (health, risk, stress, oracles, liquidations), run as a user runs it, against a real
// API over a real chain, store and indexer: each table holds the API's own values, aligned, and --json is the API's
// JSON unchanged. Nothing is mined during the checks, so the CLI and the test read the same published block.
import { expect } from "chai";
import type { AccountCardResponse } from "../../indexer/api/routes/accounts";
import type { OraclesResponse } from "../../indexer/api/routes/oracles";
import type { RiskResponse } from "../../indexer/api/routes/risk";
import type { ScenariosResponse, StressResponse } from "../../indexer/api/routes/stress";
import { type LiquidationsResponse, liquidationRowSchema } from "../../indexer/api/schemas";
import { type CliWorld, startCliWorld } from "./world";
import { cli, fieldsOf, rowOf, table, tables } from "./tables";

const NUMBER = /^-?\d+(\.\d+)?$/;

describe("CLI against a running API", function () {
  this.timeout(300_000);
  let w: CliWorld;
  const get = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const r = await fetch(new URL(path, w.url), init);
    expect(r.status, path).to.equal(200);
    return (await r.json()) as T;
  };
  const run = async (...args: string[]): Promise<string> => {
    const r = await cli([...args, "--api", w.url]);
    expect(r.code, `marginwatch ${args.join(" ")}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async () => {
    w = await startCliWorld();
  });
  after(async () => {
    await w?.stop();
  });

  describe("health <address>", () => {
    it("prints the account's HF, totals, positions, a numeric liquidation price per collateral asset and the what-ifs", async () => {
      const out = await run("health", w.b.b1);
      const card = await get<AccountCardResponse>(`/v1/accounts/${w.b.b1}`);
      const summary = fieldsOf(table(out, `account ${w.b.b1} · block ${card.blockNumber}`));
      expect(summary["health factor"]).to.equal(`${card.healthFactor} (${card.status})`);
      expect(card.healthFactor).to.match(/^1\.2\d$/);
      expect(summary).to.include({
        "collateral USD": card.totalCollateralUSD,
        "debt USD": card.totalBorrowsUSD,
        "available to borrow USD": card.availableBorrowsUSD,
        "net worth USD": card.netWorthUSD,
        "borrow power used": card.borrowPowerUsedDisplay,
        "liquidation threshold": "82.50%",
      });
      // The labels and values are separate cells (never "availableBorrowsUSD818.84").
      expect(Object.keys(summary)).to.include("available to borrow USD");

      const positions = table(out, "positions");
      expect(positions.header).to.deep.equal(["asset", "collateral", "collateral USD", "debt", "debt USD", "price USD", "price"]);
      for (const p of card.positions) {
        expect(rowOf(positions, p.symbol!)).to.deep.equal({
          asset: p.symbol,
          collateral: p.collateralAmount,
          "collateral USD": p.collateralUSD,
          debt: p.debtAmount,
          "debt USD": p.debtUSD,
          "price USD": p.priceUSD,
          price: p.priceStatus,
        });
      }

      const liq = table(out, "liquidation prices");
      const weth = card.liquidationPrices.find((l) => l.symbol === "WETH")!;
      expect(weth.liquidationPriceUSD).to.match(NUMBER);
      const row = rowOf(liq, "WETH");
      expect(row).to.deep.equal({
        asset: "WETH",
        "price USD": weth.currentPriceUSD,
        "liquidation price USD": weth.liquidationPriceUSD,
        drop: `${weth.dropPct}%`,
      });
      expect(row["liquidation price USD"]).to.match(NUMBER);
      expect(Number(row["liquidation price USD"])).to.be.lessThan(Number(row["price USD"]));

      const whatIf = table(out, "what if");
      expect(whatIf.rows).to.deep.equal(card.whatIf.map((x) => [`${Math.round(x.shock * 100)}%`, x.healthFactor, x.status]));
    });

    it("prints a liquidation price for every account with debt, and ∞ for one without", async () => {
      for (const account of [w.b.b2, w.b.b3, w.b.b4]) {
        const out = await run("health", account);
        const card = await get<AccountCardResponse>(`/v1/accounts/${account}`);
        expect(fieldsOf(table(out, "account "))["health factor"]).to.equal(`${card.healthFactor} (${card.status})`);
        const liq = table(out, "liquidation prices");
        expect(liq.rows.length, out).to.be.greaterThan(0);
        for (const r of liq.rows) expect(r[2], out).to.match(NUMBER);
      }
      const out = await run("health", w.supplier);
      expect(fieldsOf(table(out, "account "))["health factor"]).to.equal("∞ (healthy)");
    });

    it("--json prints the API's card unchanged; an unknown account is a clear error", async () => {
      const out = await run("health", w.b.b1, "--json");
      expect(JSON.parse(out)).to.deep.equal(await get(`/v1/accounts/${w.b.b1}`));
      const missing = await cli(["health", "0x00000000000000000000000000000000000000aa", "--api", w.url]);
      expect(missing.code).to.equal(2);
      expect(missing.stderr).to.match(/404.*never held a position/);
      const down = await cli(["health", w.b.b1, "--api", "http://127.0.0.1:8749"]);
      expect(down.code).to.equal(2);
      expect(down.stderr).to.match(/cannot reach the marginwatch API at http:\/\/127\.0\.0\.1:8749/);
    });
  });

  describe("risk", () => {
    it("prints the overview, the HF distribution, per-asset totals and the liquidation curves", async () => {
      const out = await run("risk");
      const r = await get<RiskResponse>("/v1/risk");
      expect(fieldsOf(table(out, `risk overview · block ${r.blockNumber}`))).to.include({
        accounts: String(r.accounts.total),
        "with debt": String(r.accounts.withDebt),
        liquidatable: String(r.accounts.liquidatable),
        "collateral USD": r.totalCollateralUSD,
        "debt USD": r.totalDebtUSD,
        "liquidatable within −20% USD": r.liquidatableWithin20PctUSD,
        "protocol deficit USD": r.badDebt.protocolDeficitUSD,
      });
      expect(r.accounts.withDebt).to.equal(4);
      expect(table(out, "health factor distribution").rows).to.deep.equal(r.distribution.map((b) => [b.label, String(b.accounts), b.debtUSD]));
      const byAsset = table(out, "by asset");
      for (const a of r.byAsset) expect(rowOf(byAsset, a.symbol!)).to.include({ "collateral USD": a.collateralUSD, "debt USD": a.debtUSD });
      const curves = table(out, "collateral liquidatable");
      expect(curves.header).to.deep.equal(["drop", ...r.liquidationCurves.map((c) => c.symbol)]);
      const weth = r.liquidationCurves.findIndex((c) => c.symbol === "WETH");
      expect(rowOf(curves, "−20%")[curves.header![weth + 1]!]).to.equal(r.liquidationCurves[weth]!.within20PctUSD);
    });

    it("--json prints the API's overview unchanged", async () => {
      expect(JSON.parse(await run("risk", "--json"))).to.deep.equal(await get("/v1/risk"));
    });
  });

  describe("stress", () => {
    const body = { shocks: { WETH: -0.3, WBTC: -0.2 } };
    const post = () =>
      get<StressResponse>("/v1/stress", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    it("--shock prints the shocked prices and the liquidatable accounts, debt and projected bad debt", async () => {
      const out = await run("stress", "--shock", "WETH=-0.3", "--shock", "WBTC=-0.2");
      const r = await post();
      const shocks = table(out, `stress test · block ${r.blockNumber}`);
      const weth = r.shocks.find((s) => s.symbol === "WETH")!;
      expect(rowOf(shocks, "WETH")).to.deep.equal({ asset: "WETH", shock: "-30%", "price USD": weth.priceUSD, "shocked USD": weth.shockedPriceUSD });
      expect(rowOf(shocks, "WBTC").shock).to.equal("-20%");
      expect(fieldsOf(table(out, "result"))).to.deep.equal({
        "accounts liquidatable": String(r.accountsLiquidatable),
        "newly liquidatable": String(r.newlyLiquidatable),
        "skipped (stale or invalid price)": String(r.unknownAccounts),
        "debt liquidatable USD": r.debtLiquidatableUSD,
        "projected bad debt USD": r.projectedBadDebtUSD,
      });
      expect(r.accountsLiquidatable).to.be.greaterThan(0);
      expect(JSON.parse(await run("stress", "--shock", "WETH=-0.3", "--shock", "WBTC=-0.2", "--json"))).to.deep.equal(await post());
    });

    it("without --shock prints the fixed scenarios", async () => {
      const out = await run("stress");
      const r = await get<ScenariosResponse>("/v1/stress/scenarios");
      const t = table(out, `stress scenarios · block ${r.blockNumber}`);
      expect(t.rows).to.deep.equal(
        r.scenarios.map((s) => [
          s.name,
          String(s.result.accountsLiquidatable),
          String(s.result.newlyLiquidatable),
          String(s.result.unknownAccounts),
          s.result.debtLiquidatableUSD,
          s.result.projectedBadDebtUSD,
        ]),
      );
      expect(JSON.parse(await run("stress", "--json"))).to.deep.equal(r);
      const bad = await cli(["stress", "--shock", "WETH=lots", "--api", w.url]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/--shock WETH=lots: expected ASSET=fraction/);
    });
  });

  describe("oracles", () => {
    it("prints every feed's price, round, age against heartbeat and status", async () => {
      const out = await run("oracles");
      const r = await get<OraclesResponse>("/v1/oracles");
      const t = table(out, `oracles · block ${r.blockNumber}`);
      expect(t.rows.length).to.equal(4);
      for (const f of r.feeds) {
        expect(rowOf(t, f.symbol!)).to.include({
          "price USD": f.priceUSD,
          round: f.roundId,
          "age s": f.age,
          "heartbeat s": f.heartbeat,
          "age ÷ heartbeat": f.ageRatio,
          status: f.status,
        });
      }
      expect(out).to.include(`sequencer ${r.sequencer.status}`);
      expect(JSON.parse(await run("oracles", "--json"))).to.deep.equal(r);
    });
  });

  describe("liquidations", () => {
    it("prints the liquidation on record: borrower, amounts with symbols, block", async () => {
      const out = await run("liquidations");
      const r = await get<LiquidationsResponse>("/v1/liquidations?limit=20");
      expect(r.liquidations).to.have.length(1);
      const l = r.liquidations[0]!;
      const t = table(out, "liquidations, newest first");
      expect(t.rows).to.have.length(1);
      expect(rowOf(t, l.blockNumber)).to.include({
        borrower: w.b.b3,
        "collateral seized": `${l.collateralSeizedAmount} WETH`,
        "debt repaid": "5000 USDC",
      });
      expect(JSON.parse(await run("liquidations", "--json"))).to.deep.equal(r);
      const none = await run("liquidations", "--account", w.b.b1);
      expect(none).to.match(/\nnone\n$/);
      expect(tables(none).size).to.equal(0);
    });

    it("the CLI's row type is the row schema the API serves (GET /openapi.json)", async () => {
      // routes/history.ts declares its schema inline; this keeps schemas.ts's copy, which types the CLI, equal to it.
      const doc = await get<{ paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }> }>(
        "/openapi.json",
      );
      const schema = doc.paths["/v1/liquidations"]!.get.responses["200"]!.content["application/json"]!.schema as {
        properties: { liquidations: { items: { properties: unknown } } };
      };
      expect(schema.properties.liquidations.items.properties).to.deep.equal(liquidationRowSchema.properties);
    });
  });
});
