// The on-chain borrower population shared by the latency and naive-keeper runs: a fixed band of 50 accounts just
// above HF 1 (the ones price drops liquidate, round by round) and a healthy bulk spread over two collaterals and
// two debts, so one WETH move touches ~70% of all accounts.
import { seededRandom as rng } from "../common/random";
import type { BorrowerSpec } from "./chain";

/** Edge accounts: WETH collateral, USDC debt, HF evenly spread over [EDGE_LOW, EDGE_LOW + EDGE_SPAN). */
export const EDGE_ACCOUNTS = 50;
export const EDGE_LOW = 1.035;
export const EDGE_SPAN = 0.05;
export const BASE_WETH = 3000;

export function borrowerSpec(count: number, seed = 7): BorrowerSpec {
  const r = rng(seed);
  const draws = Array.from({ length: count }, () => [r(), r(), r(), r()] as const);
  const edge = (i: number) => i < Math.min(EDGE_ACCOUNTS, count);
  return {
    count,
    hf: (i) => (edge(i) ? EDGE_LOW + (EDGE_SPAN * i) / EDGE_ACCOUNTS : 1.25 + 1.75 * draws[i]![0] ** 2),
    collateral: (i) => (edge(i) || draws[i]![1] < 0.7 ? "WETH" : "WBTC"),
    debt: (i) => (edge(i) || draws[i]![2] < 0.6 ? "USDC" : "DAI"),
    // $1k–$100k, log-uniform; edge accounts $20k so a liquidation pays far more than its gas
    sizeUsd: (i) => (edge(i) ? 20_000 : Math.round(10 ** (3 + 2 * draws[i]![3]))),
  };
}

/** WETH price at which edge accounts with HF < EDGE_LOW + (round + 1) · step become liquidatable. */
export function dropPrice(round: number, step = 0.01): number {
  return Math.floor((BASE_WETH / (EDGE_LOW + (round + 1) * step)) * 100) / 100;
}
