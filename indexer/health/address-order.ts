// Address order without a comparator call per element: the engine's addresses are lowercase 0x-hex of one length,
// so their string order is the numeric order of their digits. The first eight digits (32 bits) sort by a linear
// radix sort; only entries sharing those digits (the same account, or a 1-in-4-billion prefix collision) are then
// ordered by a comparator.

/** The value of hex digits 2..9 of a lowercase 0x-address (the engine lowercases every address it keeps). */
export function addressPrefix(address: string): number {
  let v = 0;
  for (let i = 2; i < 10; i++) {
    const c = address.charCodeAt(i);
    v = v * 16 + (c <= 57 ? c - 48 : c - 87);
  }
  return v;
}

/** radix digits of the 32-bit prefix, least significant first: 11 + 11 + 10 bits */
const DIGITS: ReadonlyArray<readonly [shift: number, mask: number]> = [
  [0, 0x7ff],
  [11, 0x7ff],
  [22, 0x3ff],
];

/**
 * The permutation that sorts `addresses` (lowercase 0x-hex, as the engine keeps them) in string order; entries with
 * the same address are ordered by `tie` (default: by index, a stable sort). `keys`, when given, holds each entry's
 * addressPrefix (the engine keeps them per account: reading a million scattered strings costs a cache miss each).
 */
export function addressOrder(
  addresses: readonly string[],
  tie: (i: number, j: number) => number = (i, j) => i - j,
  keys: Uint32Array = Uint32Array.from(addresses, addressPrefix),
): Int32Array {
  const n = addresses.length;

  // A stable LSD radix sort of the indexes by prefix: linear, no comparator call.
  let order = new Int32Array(n);
  let spare = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const count = new Int32Array(2049);
  for (const [shift, mask] of DIGITS) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((keys[i]! >>> shift) & mask) + 1]!++;
    for (let b = 1; b < count.length; b++) count[b]! += count[b - 1]!;
    for (let i = 0; i < n; i++) {
      const x = order[i]!;
      spare[count[(keys[x]! >>> shift) & mask]!++] = x;
    }
    [order, spare] = [spare, order];
  }
  // Runs of one prefix (the same account, or a 1-in-4-billion collision) are ordered by the full comparison.
  const full = (i: number, j: number) => {
    const a = addresses[i]!;
    const b = addresses[j]!;
    return a === b ? tie(i, j) : a < b ? -1 : 1;
  };
  let run = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && keys[order[i]!] === keys[order[run]!]) continue;
    if (i - run === 2) {
      if (full(order[run]!, order[run + 1]!) > 0) {
        const x = order[run]!;
        order[run] = order[run + 1]!;
        order[run + 1] = x;
      }
    } else if (i - run > 2) order.subarray(run, i).sort(full);
    run = i;
  }
  return order;
}

/** `addresses` sorted in string order, each once (`keys`: their addressPrefix, when known). */
export function sortedUnique<T extends string>(addresses: readonly T[], keys?: Uint32Array): T[] {
  const order = addressOrder(addresses, undefined, keys);
  const out: T[] = [];
  for (let k = 0; k < order.length; k++) {
    const a = addresses[order[k]!]!;
    if (out.length === 0 || out[out.length - 1] !== a) out.push(a);
  }
  return out;
}
