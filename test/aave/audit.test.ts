// The verdict for a protocol that prices with a stale answer (Aave V3: views.refusesStalePrices false): where
// marginwatch says "unknown", the pool's collateral and debt at that same answer must equal marginwatch's, to the wei.
import { expect } from "chai";
import { compareAccount, type AuditFigures } from "../../indexer/audit";
import { aaveV3 } from "../../protocols/aave-v3";
import type { PoolAccountData, PoolViews } from "../../protocols/types";

const WAD = 10n ** 18n;
const MAX = 2n ** 256n - 1n;
const data = (o: Partial<PoolAccountData> = {}): PoolAccountData => ({
  totalCollateralBase: 1_000_000n,
  totalDebtBase: 900_000n,
  availableBorrowsBase: 0n,
  currentLiquidationThresholdBps: 8250n,
  ltvBps: 8000n,
  healthFactor: (WAD * 91n) / 100n,
  ...o,
});
const views = (d: PoolAccountData): PoolViews => ({
  account: "0x0000000000000000000000000000000000000001",
  healthFactor: { kind: "value", value: d.healthFactor },
  accountData: { kind: "value", value: d },
});
const unknown = (o: Partial<AuditFigures> = {}): AuditFigures => ({
  healthFactor: null,
  totalCollateralBase: 1_000_000n,
  totalDebtBase: 900_000n,
  status: "unknown",
  unknownAssets: ["0x00000000000000000000000000000000000000aa"],
  ...o,
});

describe("aave-v3: the audit verdict where AaveOracle prices a stale answer", () => {
  it("the adapter says so", () => expect(aaveV3.views.refusesStalePrices).to.equal(false));

  it("'unknown' with the pool's sums at the stale answer is a match; one wei off in a sum is a mismatch", () => {
    expect(compareAccount(unknown(), views(data()), false)).to.deep.equal({ result: "match", unpriced: true });
    const off = compareAccount(unknown({ totalDebtBase: 900_001n }), views(data()), false);
    expect(off.result).to.equal("mismatch");
    expect(off.result === "mismatch" && off.diffs.map((x) => x.field)).to.deep.equal(["totalDebtBase"]);
    expect(compareAccount(unknown({ status: "healthy" }), views(data()), false).result).to.equal("mismatch");
    // The same figures against a protocol that refuses stale prices: it answered, so marginwatch's "unknown" is wrong.
    expect(compareAccount(unknown(), views(data()), true).result).to.equal("mismatch");
  });

  it("no debt and a stale collateral price: the max HF is stated and must be the pool's", () => {
    const noDebt = data({ totalDebtBase: 0n, healthFactor: MAX });
    const f = unknown({ healthFactor: MAX, totalDebtBase: 0n, status: "healthy" });
    expect(compareAccount(f, views(noDebt), false)).to.deep.equal({ result: "match", unpriced: true });
    expect(compareAccount({ ...f, healthFactor: WAD }, views(noDebt), false).result).to.equal("mismatch");
  });
});
