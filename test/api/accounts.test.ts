// GET /v1/accounts/:address (account card) and GET /v1/accounts (at-risk list) against a real chain + indexer.
import { expect } from "chai";
import { getAddress } from "viem";
import { MAX_UINT256 } from "../../common/math";
import { apiWorld, borrow, type ApiWorld } from "./world";
import { displayOf, expectClientError, get, type Res } from "./helpers";

describe("API accounts", function () {
  this.timeout(120_000);
  let w: ApiWorld;

  before(async () => {
    w = await apiWorld();
    await w.synced();
  });

  describe("GET /v1/accounts/:address", () => {
    it("returns the exact health factor of pool.healthFactor at the stamped block, for every account", async () => {
      for (const who of [...w.borrowers, w.supplier]) {
        const r = await get(w.app, `/v1/accounts/${who.address}`);
        expect(r.status, r.text).to.equal(200);
        const block = BigInt(r.body.blockNumber);
        expect(block).to.equal(w.indexer.status.cursor);
        const onChain = await w.chainHf(who.address, block);
        expect(r.body.healthFactorWad, who.name).to.equal(onChain.toString());
        expect(r.body.healthFactor, who.name).to.equal(onChain === MAX_UINT256 ? "∞" : displayOf(onChain));
        const { timestamp } = await w.node.publicClient.getBlock({ blockNumber: block });
        expect(r.body.blockTimestamp).to.equal(timestamp.toString());
      }
    });

    it("has formatUserSummary's fields, positions with symbols, liquidation prices and what-if shocks", async () => {
      const r = await get(w.app, `/v1/accounts/${w.b.b1.address}`);
      const c = r.body;
      for (const k of [
        "totalCollateralUSD",
        "totalBorrowsUSD",
        "availableBorrowsUSD",
        "currentLiquidationThreshold",
        "currentLoanToValue",
        "borrowPowerUsed",
        "netWorthUSD",
      ]) {
        expect(c[k], k).to.be.a("string");
      }
      expect(Number(c.totalCollateralUSD)).to.be.within(30000, 30001);
      expect(Number(c.totalBorrowsUSD)).to.be.within(20000, 20001);
      expect(c.currentLiquidationThreshold).to.equal("0.8250");
      expect(c.currentLoanToValue).to.equal("0.8000");
      expect(Number(c.netWorthUSD)).to.be.closeTo(30000 - Number(c.totalBorrowsUSD), 0.011);
      // borrow power used = debt ÷ (debt + available) = 20000 / 24000
      expect(Number(c.borrowPowerUsed)).to.be.closeTo(20000 / 24000, 1e-3);
      expect(c.status).to.equal("healthy");

      const weth = c.positions.find((p: { symbol: string }) => p.symbol === "WETH");
      const usdc = c.positions.find((p: { symbol: string }) => p.symbol === "USDC");
      // 10 WETH deposited, plus supply interest (b4 borrows WETH).
      expect(Number(weth.collateralAmount)).to.be.within(10, 10.0001);
      expect(BigInt(weth.collateral) >= 10n * 10n ** 18n).to.equal(true);
      expect(Number(weth.collateralUSD)).to.be.within(30000, 30001);
      expect(weth.priceUSD).to.equal("3000");
      expect(weth.priceStatus).to.equal("fresh");
      // The own pool has no collateral flags and no categories: every deposit is collateral.
      expect(weth.usedAsCollateral).to.equal(true);
      expect(c.category).to.equal(null);
      expect(Number(usdc.debtAmount)).to.be.within(20000, 20001);

      // Liquidation price of WETH: 10·P·0.825 = 20000 → P ≈ 2424.24, a fall of ≈ 19.19%.
      expect(c.liquidationPrices).to.have.length(1);
      const lp = c.liquidationPrices[0];
      expect(lp.symbol).to.equal("WETH");
      expect(Number(lp.liquidationPriceUSD)).to.be.closeTo(20000 / 8.25, 0.5);
      expect(Number(lp.dropPct)).to.be.closeTo(19.19, 0.05);

      // What-if: −5% → 1.175 (warning), −10% → 1.11 (warning), −20% → 0.99 (liquidatable).
      expect(c.whatIf.map((x: { shock: number }) => x.shock)).to.deep.equal([-0.05, -0.1, -0.2]);
      expect(c.whatIf.map((x: { status: string }) => x.status)).to.deep.equal(["warning", "warning", "liquidatable"]);
      // 0.99 exactly at the borrow's own block, a hair below once a second of interest has accrued: shown rounded down.
      const shocked = BigInt(c.whatIf[2].healthFactorWad);
      expect(shocked <= 990_000_000_000_000_000n && shocked > 980_000_000_000_000_000n, String(shocked)).to.equal(true);
      expect(c.whatIf[2].healthFactor).to.equal(shocked === 990_000_000_000_000_000n ? "0.99" : "0.98");
      const hfs = c.whatIf.map((x: { healthFactorWad: string }) => BigInt(x.healthFactorWad));
      expect(hfs[0] > hfs[1] && hfs[1] > hfs[2] && BigInt(c.healthFactorWad) > hfs[0]).to.equal(true);
    });

    it("shows ∞ and no liquidation price for an account without debt", async () => {
      const r = await get(w.app, `/v1/accounts/${w.supplier.address}`);
      expect(r.body.healthFactor).to.equal("∞");
      expect(r.body.healthFactorWad).to.equal(MAX_UINT256.toString());
      expect(r.body.status).to.equal("healthy");
      expect(r.body.liquidationPrices.every((l: { liquidationPrice: string | null }) => l.liquidationPrice === null)).to.equal(true);
      expect(r.body.whatIf.every((x: { healthFactor: string }) => x.healthFactor === "∞")).to.equal(true);
    });

    it("accepts a checksummed address and rejects a wrong checksum, malformed addresses (400) and unknown accounts (404)", async () => {
      const ok = await get(w.app, `/v1/accounts/${getAddress(w.b.b2.address)}`);
      expect(ok.status).to.equal(200);
      expect(ok.body.account).to.equal(w.b.b2.address);

      const good = getAddress(w.b.b2.address);
      const flipped =
        good.slice(0, 2) + [...good.slice(2)].map((ch) => (/[a-f]/.test(ch) ? ch.toUpperCase() : /[A-F]/.test(ch) ? ch.toLowerCase() : ch)).join("");
      expectClientError(await get(w.app, `/v1/accounts/${flipped}`), 400, /checksum/);
      for (const bad of ["0x123", "hello", `0x${"g".repeat(40)}`, `${w.b.b1.address}00`, "0x", "%20", `0X${"a".repeat(40)}`]) {
        expectClientError(await get(w.app, `/v1/accounts/${bad}`), 400, /address/);
      }
      const nobody = await get(w.app, `/v1/accounts/0x${"12".repeat(20)}`);
      expectClientError(nobody, 404, /never held a position/);
      expect(nobody.body.error).to.equal("not_found");
    });
  });

  describe("GET /v1/accounts (at-risk list)", () => {
    type Row = { account: string; status: string; healthFactor: string; healthFactorWad: string | null };
    const all = async (query = ""): Promise<{ total: number; rows: Row[]; blockNumber: string }> => {
      const r = await get(w.app, `/v1/accounts?limit=500${query}`);
      expect(r.status, r.text).to.equal(200);
      return { total: r.body.total, rows: r.body.accounts, blockNumber: r.body.blockNumber };
    };

    it("lists every account by HF ascending (∞ after finite), each HF exact, with the total", async () => {
      const { total, rows, blockNumber } = await all();
      expect(total).to.equal(w.indexer.state.accounts.size);
      expect(rows).to.have.length(total);
      expect(total).to.be.at.least(w.borrowers.length + 1);
      const wads = rows.map((r) => BigInt(r.healthFactorWad!));
      for (let i = 1; i < wads.length; i++) expect(wads[i - 1]! <= wads[i]!, `order at ${i}`).to.equal(true);
      expect(rows[rows.length - 1]!.healthFactor).to.equal("∞");
      let lowest = { account: "", hf: MAX_UINT256 };
      for (const b of w.borrowers) {
        const hf = await w.chainHf(b.address, BigInt(blockNumber));
        if (hf < lowest.hf) lowest = { account: b.address, hf };
      }
      expect(rows[0]!.account).to.equal(lowest.account);
      for (const r of rows.slice(0, 5)) {
        expect(r.healthFactorWad).to.equal((await w.chainHf(r.account as `0x${string}`, BigInt(blockNumber))).toString());
      }
    });

    it("filters by HF bounds (inclusive), status and asset (symbol or address)", async () => {
      const full = (await all()).rows;
      const hfOf = (a: string) => BigInt(full.find((r) => r.account === a)!.healthFactorWad!);

      const under12 = await all("&maxHealthFactor=1.2");
      expect(under12.rows.map((r) => r.account))
        .to.include(w.b.b3.address)
        .and.not.include(w.b.b1.address);
      expect(under12.rows.every((r) => BigInt(r.healthFactorWad!) <= 12n * 10n ** 17n)).to.equal(true);
      expect(under12.total).to.equal(full.filter((r) => BigInt(r.healthFactorWad!) <= 12n * 10n ** 17n).length);

      const over15 = await all("&minHealthFactor=1.5");
      expect(over15.rows.map((r) => r.account))
        .to.include(w.b.b2.address)
        .and.include(w.supplier.address)
        .and.not.include(w.b.b3.address);
      expect(over15.rows.every((r) => BigInt(r.healthFactorWad!) >= 15n * 10n ** 17n)).to.equal(true);

      // Inclusive bounds, exactly at an account's HF.
      const exact = hfOf(w.b.b2.address);
      const asDecimal = `${exact / 10n ** 18n}.${(exact % 10n ** 18n).toString().padStart(18, "0")}`;
      expect((await all(`&minHealthFactor=${asDecimal}&maxHealthFactor=${asDecimal}`)).rows.map((r) => r.account)).to.deep.equal([w.b.b2.address]);

      const warning = await all("&status=warning");
      expect(warning.rows.map((r) => r.account)).to.include(w.b.b3.address);
      expect(warning.rows.every((r) => r.status === "warning" && BigInt(r.healthFactorWad!) < 12n * 10n ** 17n)).to.equal(true);
      expect((await all("&status=liquidatable")).total).to.equal(w.health.liquidatable().length);

      const wbtc = await all("&asset=WBTC");
      expect(wbtc.rows.map((r) => r.account))
        .to.include(w.b.b2.address)
        .and.not.include(w.b.b1.address);
      const byAddress = await all(`&asset=${w.d.assets.find((a) => a.symbol === "WBTC")!.address}`);
      expect(byAddress.rows).to.deep.equal(wbtc.rows);
      for (const r of wbtc.rows) {
        const card = await get(w.app, `/v1/accounts/${r.account}`);
        expect(card.body.positions.map((p: { symbol: string }) => p.symbol)).to.include("WBTC");
      }
    });

    it("pages with cursors and offsets over the same order", async () => {
      const full = (await all()).rows.map((r) => r.account);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Res = await get(w.app, `/v1/accounts?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
        expect(r.status, r.text).to.equal(200);
        expect(r.body.total).to.equal(full.length);
        seen.push(...r.body.accounts.map((x: Row) => x.account));
        cursor = r.body.nextCursor;
        pages++;
      } while (cursor && pages < 50);
      expect(seen).to.deep.equal(full);
      const second = await get(w.app, "/v1/accounts?limit=3&offset=3");
      expect(second.body.accounts.map((x: Row) => x.account)).to.deep.equal(full.slice(3, 6));
      expect((await get(w.app, "/v1/accounts")).body.limit).to.equal(50);
    });

    it("re-ranks an account when its position changes on chain", async () => {
      const order = async () => (await all()).rows.map((r) => r.account);
      const before = await order();
      expect(before.indexOf(w.b.b4.address)).to.be.greaterThan(before.indexOf(w.b.b1.address)); // 2.67 after 1.24
      await borrow(w.chain, w.b.b4.wallet, "WETH", "1.3"); // 8000 / 6900 ≈ 1.16: now ahead of b1
      await w.synced();
      const { rows, blockNumber } = await all();
      const after = rows.map((r) => r.account);
      expect(after.indexOf(w.b.b4.address)).to.be.lessThan(after.indexOf(w.b.b1.address));
      const wads = rows.map((r) => BigInt(r.healthFactorWad!));
      for (let i = 1; i < wads.length; i++) expect(wads[i - 1]! <= wads[i]!, `order at ${i}`).to.equal(true);
      const b4 = rows.find((r) => r.account === w.b.b4.address)!;
      expect(b4.healthFactorWad).to.equal((await w.chainHf(w.b.b4.address, BigInt(blockNumber))).toString());
      expect(b4.status).to.equal("warning");
    });

    it("rejects bad filters and paging with a 400 that names the problem", async () => {
      const cases: Array<[string, RegExp]> = [
        ["limit=0", /limit/],
        ["limit=501", /limit/],
        ["limit=-1", /limit/],
        ["limit=abc", /limit/],
        ["limit=NaN", /limit/],
        ["limit=99999999999999999999", /limit/],
        ["limit=1.5", /limit/],
        ["offset=-3", /offset/],
        ["offset=2000000", /offset/],
        ["maxHealthFactor=abc", /maxHealthFactor/],
        ["maxHealthFactor=-1", /maxHealthFactor/],
        ["minHealthFactor=NaN", /minHealthFactor/],
        ["maxHealthFactor=1e5", /maxHealthFactor/],
        ["maxHealthFactor=1.0000000000000000001", /maxHealthFactor/],
        ["minHealthFactor=2&maxHealthFactor=1", /above maxHealthFactor/],
        ["status=doomed", /status/],
        ["asset=DOGE", /not a listed asset/],
        ["foo=1", /additional properties|foo/],
        ["cursor=!!!", /cursor/],
        ["cursor=bm9wZQ", /cursor/],
        ["cursor=abc&offset=1", /cursor or offset|either/],
      ];
      for (const [q, pattern] of cases) expectClientError(await get(w.app, `/v1/accounts?${q}`), 400, pattern);
    });
  });
});
