import { expect } from "chai";
import { deployFixture, deposit, borrow, setPrice } from "../fixtures/protocol";

describe("MarginPool smoke", () => {
  it("deposits, borrows, and reports an HF that falls when the collateral price falls", async () => {
    const f = await deployFixture();
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    await borrow(f, f.borrower, "USDC", "20000");
    const hf = await f.pool.read.healthFactor([f.borrower.account.address]);
    // 10 WETH · 3000 · 0.825 / 20000 = 1.2375
    expect(hf).to.equal(1_237_500_000_000_000_000n);
    await setPrice(f, "WETH", "2000");
    expect((await f.pool.read.healthFactor([f.borrower.account.address])) < 10n ** 18n).to.equal(true);
  });
});
