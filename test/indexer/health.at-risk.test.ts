// Property test of the engine's at-risk view (HealthEngine.atRiskView, what GET /v1/accounts pages over): on a
// synthetic population after price moves, interest and a stale feed, every filter (status, inclusive HF bounds set
// to accounts' exact HFs, asset holders) matches exactly the accounts brute-force exact math says, and the float
// order agrees with the exact HF order.
import { marginpool } from "../../protocols/marginpool";
import { expect } from "chai";
import { MAX_UINT256, WAD } from "../../common/math";
import { queryAtRisk } from "../../indexer/api/at-risk";
import type { AtRiskFilter } from "../../indexer/health/at-risk";
import { HealthEngine } from "../../indexer/health/engine";
import { ExactContext } from "../../indexer/health/exact";
import { buildSyntheticPopulation, feedPrices, seededRandom } from "../../indexer/health/synthetic";
import type { AccountStatus, Address } from "../../indexer/health/types";

describe("health engine: at-risk view vs brute-force exact math", function () {
  this.timeout(60_000);

  it("filters, statuses and order equal exact math (a 1 bps band: straddlers everywhere)", () => {
    const pop = buildSyntheticPopulation({ accounts: 6_000, seed: 11 });
    const engine = new HealthEngine(pop.state, marginpool.math, { nearBandBps: 1 });
    feedPrices(pop, engine);
    const rand = seededRandom(5);
    let now = pop.now;
    let block = 1n;
    engine.evaluate(now, block);
    for (let step = 0; step < 6; step++) {
      const asset = pop.assets[Math.floor(rand() * pop.assets.length)]!;
      const price = (engine.price(asset)!.price * BigInt(Math.round((0.97 + rand() * 0.06) * 1e6))) / 1_000_000n;
      engine.setPrice(asset, { price, status: "fresh" });
      now += step === 3 ? 86_400n * 30n : 12n; // one month of interest in the middle
      engine.evaluate(now, ++block);
    }
    const stale = pop.assets[pop.assets.length - 1]!;
    engine.setPrice(stale, { price: engine.price(stale)!.price, status: "stale" });
    engine.evaluate(now, ++block);

    const warningAt = engine.warningAt()!;
    const ctx = new ExactContext(pop.state, (a) => engine.price(a), now, marginpool.math);
    const exact = new Map<Address, { hf: bigint | null; status: AccountStatus; holds: Set<Address> }>();
    for (const [account, held] of pop.state.accounts) {
      const r = ctx.account(account);
      const hf = r.hasDebt && r.unknownAssets.length > 0 ? null : r.data.healthFactor;
      const status: AccountStatus = hf === null ? "unknown" : hf < WAD ? "liquidatable" : hf < warningAt ? "warning" : "healthy";
      const holds = new Set([...held].filter(([, p]) => p.scaledCollateral !== 0n || p.scaledDebt !== 0n).map(([a]) => a));
      exact.set(account, { hf, status, holds });
    }
    const statuses = new Set([...exact.values()].map((e) => e.status));
    expect([...statuses].sort()).to.deep.equal(["healthy", "liquidatable", "unknown", "warning"]);

    const view = engine.atRiskView(now);
    expect(view.size).to.equal(pop.state.accounts.size);
    // Bounds at accounts' own exact HFs (inclusive: the float interval straddles them) and at the levels.
    const known = [...exact.values()].map((e) => e.hf).filter((h): h is bigint => h !== null && h !== MAX_UINT256);
    const pick = () => known[Math.floor(rand() * known.length)]!;
    const filters: AtRiskFilter[] = [
      {},
      { status: "liquidatable" },
      { status: "warning" },
      { status: "healthy" },
      { status: "unknown" },
      { maxHealthFactor: WAD - 1n },
      { minHealthFactor: WAD, maxHealthFactor: warningAt },
      { minHealthFactor: warningAt },
      { asset: pop.assets[0]!, status: "warning" },
    ];
    for (let i = 0; i < 6; i++) {
      const [a, b] = [pick(), pick()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      filters.push({ minHealthFactor: a, maxHealthFactor: b }, { maxHealthFactor: a }, { minHealthFactor: b, asset: pop.assets[1]! });
    }
    for (const f of filters) {
      const want = [...exact]
        .filter(([, e]) => {
          if (f.asset !== undefined && !e.holds.has(f.asset)) return false;
          if (f.status !== undefined && e.status !== f.status) return false;
          if (f.minHealthFactor !== undefined || f.maxHealthFactor !== undefined) {
            if (e.hf === null) return false;
            if (f.minHealthFactor !== undefined && e.hf < f.minHealthFactor) return false;
            if (f.maxHealthFactor !== undefined && e.hf > f.maxHealthFactor) return false;
          }
          return true;
        })
        .map(([a]) => a)
        .sort();
      const got: Address[] = [];
      for (let i = 0; i < view.size; i++) if (view.matches(i, f)) got.push(view.address(i));
      expect(
        got.sort(),
        JSON.stringify(f, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
      ).to.deep.equal(want);
    }

    // The whole list, paged by cursor: every account once, each row's HF and status exact, HF non-decreasing.
    const rows = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = queryAtRisk(view, {}, { limit: 500, cursor });
      expect(page.total).to.equal(pop.state.accounts.size);
      rows.push(...page.rows);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(rows.map((r) => r.account).sort()).to.deep.equal([...exact.keys()].sort());
    const idOf = new Map<string, number>();
    for (let i = 0; i < view.size; i++) idOf.set(view.address(i), i);
    let prev: number | undefined;
    let inversions = 0;
    for (const r of rows) {
      const e = exact.get(r.account)!;
      expect(r.status).to.equal(e.status);
      expect(r.healthFactorWad).to.equal(e.hf === null ? null : e.hf.toString());
      const id = idOf.get(r.account)!;
      if (prev !== undefined) {
        // Strictly ascending (rank, float HF, address): what keyset cursors rely on.
        expect(view.compare(prev, id)).to.equal(-1);
        const p = exact.get(view.address(prev))!.hf;
        if (p !== null && e.hf !== null && e.hf < p) inversions++;
      }
      prev = id;
    }
    // The float key orders by exact HF but for accounts within rounding slack of each other (cents of debt in an
    // asset whose wei is worth more than a base unit).
    expect(inversions).to.be.lessThan(rows.length / 100);
  });
});
