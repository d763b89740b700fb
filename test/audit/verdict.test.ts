// The pure parts of the auditor: the verdict on one account (every combination of marginwatch's figures and the
// pool's answers), revert classification as geth and Hardhat report it, the selection's coverage property, and
// the AUDIT_SAMPLE_PER_BLOCK setting.
import { expect } from "chai";
import { encodeErrorResult } from "viem";
import { ConfigError, loadConfig } from "../../common/config";
import { errorsAbi } from "../../protocols/marginpool/generated/abis";
import { MAX_UINT256, WAD } from "../../common/math";
import { classifyFailure } from "../../protocols/marginpool/views";
import { compareAccount, type AuditFigures, type PoolAccountData, type PoolAnswer, type PoolViews } from "../../indexer/audit";
import { AccountSelection, type SelectionSource } from "../../indexer/audit/selection";
import { seededRandom } from "../../common/random";

const A = "0x00000000000000000000000000000000000000aa" as const;
const WETH = "0x00000000000000000000000000000000000000e1" as const;
const stale = encodeErrorResult({ abi: errorsAbi, errorName: "StalePrice", args: [WETH, 1_700_000_000n, 3600n] });
const value = <T>(v: T): PoolAnswer<T> => ({ kind: "value", value: v });
const refused: PoolAnswer<never> = { kind: "price-revert", error: "StalePrice(…)" };

function data(o: Partial<PoolAccountData> = {}): PoolAccountData {
  return {
    totalCollateralBase: 3_000_000_000_000n,
    totalDebtBase: 2_000_000_000_000n,
    availableBorrowsBase: 0n,
    currentLiquidationThresholdBps: 8250n,
    ltvBps: 8000n,
    healthFactor: 1_237_500_000_000_000_000n,
    ...o,
  };
}
function mw(o: Partial<AuditFigures> = {}): AuditFigures {
  return {
    healthFactor: 1_237_500_000_000_000_000n,
    totalCollateralBase: 3_000_000_000_000n,
    totalDebtBase: 2_000_000_000_000n,
    status: "healthy",
    unknownAssets: [],
    ...o,
  };
}
const views = (hf: PoolAnswer<bigint>, d: PoolAnswer<PoolAccountData>): PoolViews => ({ account: A, healthFactor: hf, accountData: d });

describe("audit verdict", () => {
  it("equal figures match; one wei off in any figure is a mismatch naming the field and both values", () => {
    const d = data();
    expect(compareAccount(mw(), views(value(d.healthFactor), value(d)))).to.deep.equal({ result: "match", unpriced: false });
    expect(compareAccount(mw({ totalDebtBase: d.totalDebtBase + 1n }), views(value(d.healthFactor), value(d)))).to.deep.equal({
      result: "mismatch",
      diffs: [{ field: "totalDebtBase", marginwatch: "2000000000001", pool: "2000000000000" }],
    });
    expect(compareAccount(mw({ totalCollateralBase: d.totalCollateralBase - 1n }), views(value(d.healthFactor), value(d))).result).to.equal(
      "mismatch",
    );
    const hfOff = compareAccount(mw({ healthFactor: d.healthFactor - 1n }), views(value(d.healthFactor), value(d)));
    expect(hfOff.result === "mismatch" && hfOff.diffs.map((x) => x.field)).to.deep.equal(["healthFactor", "accountData.healthFactor"]);
  });

  it("the status must follow from the chain's HF: liquidatable exactly below 1", () => {
    const d = data({ healthFactor: WAD - 1n });
    expect(compareAccount(mw({ healthFactor: WAD - 1n, status: "liquidatable" }), views(value(WAD - 1n), value(d))).result).to.equal("match");
    expect(compareAccount(mw({ healthFactor: WAD - 1n, status: "warning" }), views(value(WAD - 1n), value(d)))).to.deep.equal({
      result: "mismatch",
      diffs: [{ field: "status", marginwatch: "warning", pool: "liquidatable" }],
    });
    const one = data({ healthFactor: WAD });
    expect(compareAccount(mw({ healthFactor: WAD, status: "warning" }), views(value(WAD), value(one))).result).to.equal("match");
    expect(compareAccount(mw({ healthFactor: WAD, status: "liquidatable" }), views(value(WAD), value(one))).result).to.equal("mismatch");
  });

  it("a stale price: 'unknown' matches the pool's refusal, a number where the pool refuses (or the reverse) is a mismatch", () => {
    const unknown = mw({ healthFactor: null, status: "unknown", unknownAssets: [WETH] });
    expect(compareAccount(unknown, views(refused, refused))).to.deep.equal({ result: "match", unpriced: true });
    const priced = compareAccount(unknown, views(value(WAD * 2n), value(data({ healthFactor: WAD * 2n }))));
    expect(priced.result === "mismatch" && priced.diffs.map((x) => x.field)).to.deep.equal(["pricing", "healthFactor", "status"]);
    const claimed = compareAccount(mw(), views(refused, refused));
    expect(claimed.result === "mismatch" && claimed.diffs.map((x) => x.field)).to.deep.equal(["pricing", "healthFactor", "status"]);
  });

  it("no debt and a stale collateral price: healthFactor() is max (no pricing), getAccountData refuses — a match", () => {
    const f = mw({ healthFactor: MAX_UINT256, totalDebtBase: 0n, status: "healthy", unknownAssets: [WETH] });
    expect(compareAccount(f, views(value(MAX_UINT256), refused))).to.deep.equal({ result: "match", unpriced: true });
    expect(compareAccount(f, views(value(MAX_UINT256), value(data({ totalDebtBase: 0n, healthFactor: MAX_UINT256 })))).result).to.equal("mismatch");
  });

  it("an RPC failure or an unexpected revert is an error, never a mismatch", () => {
    const d = data();
    expect(compareAccount(mw({ totalDebtBase: 1n }), views({ kind: "rpc-error", error: "HTTP request failed" }, value(d))).result).to.equal("error");
    expect(compareAccount(mw({ totalDebtBase: 1n }), views(value(d.healthFactor), { kind: "revert", error: "Panic(17)" })).result).to.equal("error");
  });

  it("classifies a revert from its ABI data, wherever the node put it; no data is an RPC failure", () => {
    // geth: { code: 3, data: "0x…" } on the error; Hardhat: { data: { message, data: "0x…" } }, under viem's wrappers.
    const geth = Object.assign(new Error("execution reverted"), { cause: { code: 3, data: stale } });
    const hardhat = Object.assign(new Error("An internal error was received."), {
      cause: Object.assign(new Error("RPC Request failed."), { data: { message: "VM Exception", data: stale } }),
    });
    for (const e of [geth, hardhat]) {
      const a = classifyFailure(e);
      expect(a.kind).to.equal("price-revert");
      expect(a.kind !== "value" && a.error).to.match(/^StalePrice\(0x0{38}e1, 1700000000, 3600\)$/i);
    }
    const other = encodeErrorResult({ abi: errorsAbi, errorName: "AssetNotListed", args: [WETH] });
    expect(classifyFailure({ data: other }).kind).to.equal("revert");
    expect(classifyFailure(new Error("fetch failed")).kind).to.equal("rpc-error");
  });
});

describe("audit selection", () => {
  const addr = (i: number) => `0x${i.toString(16).padStart(40, "0")}` as `0x${string}`;

  it("covers every account once per lap with the rotation share, while the priority share goes to the risky ones", () => {
    const accounts = new Map<`0x${string}`, null>(Array.from({ length: 103 }, (_, i) => [addr(i + 1), null]));
    const liq = [addr(5), addr(77)];
    const src: SelectionSource = { accounts, liquidatable: () => liq, unknown: () => [addr(9)], marginLevels: () => ["warning"] };
    const sel = new AccountSelection();
    const seen = new Map<string, number>();
    let blocks = 0;
    const r = seededRandom(7);
    while (sel.laps < 3) {
      const touched = r() < 0.3 ? [addr(1 + Math.floor(r() * 103))] : [];
      const pick = sel.pick(src, 4, 2, { recheck: [], touched });
      blocks++;
      expect(pick.length).to.equal(4);
      expect(new Set(pick).size, "no account twice in a sample").to.equal(4);
      for (const a of pick) seen.set(a, (seen.get(a) ?? 0) + 1);
      expect(blocks).to.be.below(1000);
    }
    expect(seen.size, "every account checked").to.equal(103);
    // Two rotation slots per block: a lap of 103 accounts takes ≈ 52 blocks.
    expect(blocks).to.be.within(150, 160);
    // The at-risk accounts were checked far more often than the rest.
    expect(seen.get(addr(5))!).to.be.greaterThan(20);
    expect(seen.get(addr(50))!).to.be.at.most(4 + 3);
  });

  it("re-checks open mismatches first, and returns every account when there are fewer than the sample size", () => {
    const accounts = new Map<`0x${string}`, null>([
      [addr(1), null],
      [addr(2), null],
    ]);
    const src: SelectionSource = { accounts, liquidatable: () => [], unknown: () => [], marginLevels: () => [] };
    const sel = new AccountSelection();
    expect(sel.pick(src, 4, 2, { recheck: [addr(2)], touched: [] })[0]).to.equal(addr(2));
    expect(sel.pick(src, 4, 2, { recheck: [], touched: [] }).sort()).to.deep.equal([addr(1), addr(2)]);
  });
});

describe("AUDIT_SAMPLE_PER_BLOCK", () => {
  it("defaults to 4, 0 turns the auditor off, a negative number is refused with the variable named", () => {
    expect(loadConfig({}).AUDIT_SAMPLE_PER_BLOCK).to.equal(4);
    expect(loadConfig({ AUDIT_SAMPLE_PER_BLOCK: "0" }).AUDIT_SAMPLE_PER_BLOCK).to.equal(0);
    expect(() => loadConfig({ AUDIT_SAMPLE_PER_BLOCK: "-1" })).to.throw(ConfigError, /AUDIT_SAMPLE_PER_BLOCK/);
  });
});
