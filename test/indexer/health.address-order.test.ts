// The update's address order (address-order.ts): a radix sort of 8-digit prefixes (computed, or the engine's
// kept per account), with ties (same prefix, same account) settled by the full comparison, must equal plain
// string order.
import { expect } from "chai";
import { addressOrder, addressPrefix, sortedUnique } from "../../indexer/health/address-order";
import { seededRandom } from "../../indexer/health/synthetic";

const hex = (rand: () => number, digits: number) => Array.from({ length: digits }, () => "0123456789abcdef"[Math.floor(rand() * 16)]).join("");

describe("health engine: address order", () => {
  it("equals string order, with shared prefixes, duplicates and the tie order for one address", () => {
    const rand = seededRandom(11);
    const prefixes = Array.from({ length: 40 }, () => hex(rand, 8));
    // Few prefixes, many tails: runs of one prefix are the rule here, not a 1-in-4-billion event.
    const addresses = Array.from({ length: 3_000 }, () => `0x${prefixes[Math.floor(rand() * prefixes.length)]}${hex(rand, 32)}`);
    for (let i = 0; i < 500; i++) addresses.push(addresses[Math.floor(rand() * addresses.length)]!);
    addresses.push("0x0000000000000000000000000000000000000000", "0xffffffffffffffffffffffffffffffffffffffff");
    const level = addresses.map(() => Math.floor(rand() * 4));
    const order = addressOrder(addresses, (i, j) => level[i]! - level[j]! || i - j);
    const expected = addresses
      .map((_a, i) => i)
      .sort((i, j) => (addresses[i]! < addresses[j]! ? -1 : addresses[i]! > addresses[j]! ? 1 : level[i]! - level[j]! || i - j));
    expect([...order]).to.deep.equal(expected);
    const keys = Uint32Array.from(addresses, addressPrefix);
    expect([...addressOrder(addresses, (i, j) => level[i]! - level[j]! || i - j, keys)]).to.deep.equal(expected);
    expect(sortedUnique(addresses, keys)).to.deep.equal([...new Set(addresses)].sort());
    expect(sortedUnique(addresses)).to.deep.equal([...new Set(addresses)].sort());
    expect(sortedUnique([])).to.deep.equal([]);
  });
});
