// ProtocolState's efficiency-mode categories, accounts' category choices and per-position collateral flags: applied,
// journaled (a rollback restores them exactly), in the running digest, and through a checkpoint's rows.
import { expect } from "chai";
import type { Change } from "../../indexer/state/changes";
import type { Address, EventMeta } from "../../indexer/state/events";
import { ProtocolState, StateInvariantError } from "../../indexer/state/state";

const addr = (n: number): Address => `0x${n.toString(16).padStart(40, "0")}`;
const USDC = addr(0xa1);
const DAI = addr(0xa2);
const WETH = addr(0xa3);
const ALICE = addr(0xb1);
const BOB = addr(0xb2);

let logIndex = 0;
const meta = (blockNumber: bigint): EventMeta => ({
  blockNumber,
  blockHash: `0x${blockNumber.toString(16).padStart(64, "0")}`,
  logIndex: logIndex++,
  transactionHash: `0x${"ab".repeat(32)}`,
  address: addr(0xc0),
});

const listed = (asset: Address, b: bigint): Change => ({ kind: "reserve-listed", asset, decimals: 6, rateModel: addr(0x99), meta: meta(b) });
const stables = (b: bigint, lt = 9_750n): Change => ({
  kind: "category-set",
  category: 1,
  ltvBps: 9_700n,
  liquidationThresholdBps: lt,
  liquidationBonusBps: 100n,
  priceSource: addr(0),
  label: "Stablecoins",
  meta: meta(b),
});

/** A market at block 1 (final): three reserves, USDC and DAI in category 1, Alice in it with USDC supplied. */
function market(): ProtocolState {
  const s = new ProtocolState();
  for (const c of [
    listed(USDC, 1n),
    listed(DAI, 1n),
    listed(WETH, 1n),
    stables(1n),
    { kind: "reserve-category", asset: USDC, category: 1, meta: meta(1n) },
    { kind: "reserve-category", asset: DAI, category: 1, meta: meta(1n) },
    { kind: "collateral", account: ALICE, asset: USDC, scaledDelta: 1_000n, meta: meta(1n) },
    { kind: "collateral-flag", account: ALICE, asset: USDC, enabled: true, meta: meta(1n) },
    { kind: "account-category", account: ALICE, category: 1, meta: meta(1n) },
  ] satisfies Change[])
    s.apply(c);
  s.finalize(1n);
  return s;
}

describe("protocol state: categories, category choices and collateral flags", () => {
  it("applies them and says which accounts each one moves", () => {
    const s = market();
    expect(s.categoryOf(ALICE, USDC)?.liquidationThresholdBps).to.equal(9_750n);
    expect(s.categoryOf(ALICE, WETH), "WETH is in no category").to.equal(null);
    expect(s.categoryOf(BOB, USDC), "Bob chose no category").to.equal(null);
    expect(s.position(ALICE, USDC)?.collateralFlag).to.equal(true);
    // A category's new LT moves every account in it; a reserve's new LT moves its in-category holders.
    expect(s.apply(stables(2n, 9_800n)).accounts).to.deep.equal([ALICE]);
    expect(s.apply({ kind: "reserve-params", asset: USDC, liquidationThresholdBps: 8_000n, meta: meta(2n) }).accounts).to.deep.equal([ALICE]);
    expect(s.assets.get(USDC)!.ltvBps, "a field left out keeps its value").to.equal(0n);
    expect(s.apply({ kind: "reserve-category", asset: USDC, category: 0, meta: meta(2n) }).accounts).to.deep.equal([ALICE]);
    expect(s.categoryOf(ALICE, USDC)).to.equal(null);
    const flag = s.apply({ kind: "collateral-flag", account: BOB, asset: DAI, enabled: false, meta: meta(2n) });
    expect(flag.accounts).to.deep.equal([BOB]);
    expect(s.position(BOB, DAI)).to.deep.equal({ scaledCollateral: 0n, scaledDebt: 0n, collateralFlag: false });
    expect(() => s.apply({ kind: "collateral-flag", account: BOB, asset: addr(0xdead), enabled: true, meta: meta(2n) })).to.throw(
      StateInvariantError,
    );
    expect(() => s.apply({ ...stables(2n), category: 0 } as Change)).to.throw(StateInvariantError, /category 0/);
  });

  it("a rollback restores categories, choices and flags exactly, digest included", () => {
    const s = market();
    const before = s.digest();
    const touched = [
      stables(2n, 9_800n),
      { kind: "reserve-category", asset: WETH, category: 1, meta: meta(2n) },
      { kind: "account-category", account: ALICE, category: 0, meta: meta(3n) },
      { kind: "account-category", account: BOB, category: 1, meta: meta(3n) },
      { kind: "collateral-flag", account: ALICE, asset: USDC, enabled: false, meta: meta(3n) },
      {
        kind: "category-set",
        category: 2,
        ltvBps: 1n,
        liquidationThresholdBps: 2n,
        liquidationBonusBps: 3n,
        priceSource: addr(7),
        label: "x",
        meta: meta(3n),
      },
    ] satisfies Change[];
    for (const c of touched) s.apply(c);
    expect(s.digest()).to.not.equal(before);
    expect(s.digest(), "the running digest follows every change").to.equal(s.recomputeDigest());
    const undone = s.rollbackTo(1n);
    expect(s.digest()).to.equal(before);
    expect(s.recomputeDigest()).to.equal(before);
    expect(s.categories.get(1)?.liquidationThresholdBps).to.equal(9_750n);
    expect(s.categories.has(2)).to.equal(false);
    expect(s.assets.get(WETH)!.category).to.equal(0);
    expect([...s.accountCategories]).to.deep.equal([[ALICE, 1]]);
    expect(s.position(ALICE, USDC)?.collateralFlag).to.equal(true);
    expect(undone.accounts).to.include.members([ALICE, BOB]);
    expect(undone.modes).to.have.members([ALICE, BOB]);
    expect(undone.categories).to.have.members([1, 2]);
  });

  it("restores from a checkpoint's rows with the same digest; a flag with no balance is kept", () => {
    const s = market();
    s.apply({ kind: "collateral-flag", account: BOB, asset: DAI, enabled: false, meta: meta(2n) });
    const positions = [...s.accounts].flatMap(([account, m]) => [...m].map(([asset, p]) => ({ account, asset, ...p })));
    const restored = ProtocolState.restore({
      assets: [...s.assets.values()],
      feeds: [],
      positions,
      sequencer: null,
      categories: [...s.categories.values()],
      accountCategories: [...s.accountCategories].map(([account, category]) => ({ account, category })),
      finalizedBlock: s.finalizedBlock,
      journal: s.dumpJournal(),
    });
    expect(restored.digest()).to.equal(s.digest());
    expect(restored.position(BOB, DAI)?.collateralFlag).to.equal(false);
    expect(restored.categoryOf(ALICE, USDC)?.label).to.equal("Stablecoins");
    // The journal came along: the flag set at block 2 rolls back on the restored state too.
    restored.rollbackTo(1n);
    expect(restored.position(BOB, DAI)).to.equal(undefined);
  });
});
