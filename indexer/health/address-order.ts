// Address order without a comparator call per element: the engine's addresses are lowercase 0x-hex of one length,
// so their string order is the numeric order of their digits. The first eight digits, packed with the entry's
// index into one float, sort natively (Float64Array.sort); only entries sharing those digits (the same account,
// or a 1-in-4-billion prefix collision) are then ordered by a comparator.

/** entries at most (index bits of the packed key: prefix · 2^21 + index stays under 2^53) */
const INDEX_SPAN = 2 ** 21;
const INDEX_SCALE = 2 ** -21;

/** The value of hex digits 2..9 of a lowercase 0x-address (the engine lowercases every address it keeps). */
function prefixOf(address: string): number {
  let v = 0;
  for (let i = 2; i < 10; i++) {
    const c = address.charCodeAt(i);
    v = v * 16 + (c <= 57 ? c - 48 : c - 87);
  }
  return v;
}

/**
 * The permutation that sorts `addresses` (lowercase 0x-hex, as the engine keeps them) in string order; entries with
 * the same address are ordered by `tie` (default: by index, a stable sort).
 */
export function addressOrder(addresses: readonly string[], tie: (i: number, j: number) => number = (i, j) => i - j): Int32Array {
  const n = addresses.length;
  const order = new Int32Array(n);
  const full = (i: number, j: number) => {
    const a = addresses[i]!;
    const b = addresses[j]!;
    return a < b ? -1 : a > b ? 1 : tie(i, j);
  };
  if (n >= INDEX_SPAN) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort(full);
  }
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = prefixOf(addresses[i]!) * INDEX_SPAN + i;
  packed.sort();
  // Unpack (exact: a power-of-two scale), and order each run of one prefix by the full comparison (a few entries).
  const fix = (from: number, to: number) => {
    if (to - from === 2) {
      if (full(order[from]!, order[from + 1]!) > 0) {
        const x = order[from]!;
        order[from] = order[from + 1]!;
        order[from + 1] = x;
      }
    } else order.subarray(from, to).sort(full);
  };
  let run = 0;
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const x = packed[i]!;
    const p = Math.floor(x * INDEX_SCALE);
    order[i] = x - p * INDEX_SPAN;
    if (p !== prev) {
      if (i - run > 1) fix(run, i);
      run = i;
      prev = p;
    }
  }
  if (n - run > 1) fix(run, n);
  return order;
}

/** `addresses` sorted in string order, each once. */
export function sortedUnique<T extends string>(addresses: readonly T[]): T[] {
  const order = addressOrder(addresses);
  const out: T[] = [];
  for (let k = 0; k < order.length; k++) {
    const a = addresses[order[k]!]!;
    if (out.length === 0 || out[out.length - 1] !== a) out.push(a);
  }
  return out;
}
