// The protocols the conformance suite runs against: every adapter in protocols/ (its dev market, simulation and own
// views), plus scripted exact moves per protocol. Every protocol-specific call of the suite is in this file;
// conformance.test.ts is neutral.
import type { PublicClient } from "viem";
import type { Deployment } from "../../common/deployment";
import type { Wallet } from "../../common/wallet";
import type { Address } from "../../indexer/state/events";
import { PROTOCOLS } from "../../protocols";
import { assetOf, borrow, deposit, repay, write, type ChainContext } from "../../protocols/marginpool/actions";
import { emittingAggregatorAbi, mockV3AggregatorAbi } from "../../protocols/marginpool/generated/abis";
import * as aave from "../../protocols/aave-v3/actions";
import type { ProtocolAdapter } from "../../protocols/types";

/** A protocol under test: its adapter, whose dev market, simulation and own views the suite drives and reads. */
export interface ConformanceTarget {
  name: string;
  adapter: ProtocolAdapter;
}

/** Every adapter in protocols/: each passes the same suite. */
export const TARGETS: readonly ConformanceTarget[] = PROTOCOLS.map((adapter) => ({ name: adapter.name, adapter }));

// ---------------------------------------------------------------- scripted moves for the keeper's behaviour checks

/**
 * A few exact moves on a target's dev market, for the behaviour checks that a random market cannot promise (interest
 * alone crossing HF 1, one feed going stale, a price set exactly at a liquidation price). Actors are numbered; the
 * assets are the dev market's symbols. Not part of ConformanceTarget: a target without one skips those checks.
 */
export interface ScriptedMarket {
  /** the actor's account address (lower-case) */
  account(actor: number): Address;
  /** the asset's address (lower-case) */
  asset(symbol: string): Address;
  deposit(actor: number, symbol: string, human: string): Promise<void>;
  borrow(actor: number, symbol: string, human: string): Promise<void>;
  /** repays the actor's whole debt in `symbol` */
  repayAll(actor: number, symbol: string): Promise<void>;
  /** sets the asset's price, 8-decimal USD (the unit of the engine's prices and liquidation prices) */
  setPrice(symbol: string, price8: bigint): Promise<void>;
}

/** Scripted markets by target name; `wallet(0)` is the deployer (it owns the feeds), actors are wallets 1 and up. */
export const SCRIPTED: Readonly<
  Record<string, (o: { publicClient: PublicClient; deployment: Deployment; wallet(i: number): Wallet }) => ScriptedMarket>
> = {
  marginpool: ({ publicClient, deployment, wallet }) => {
    const ctx: ChainContext = { publicClient, deployment, admin: wallet(0) };
    return {
      account: (i) => wallet(i).account.address.toLowerCase() as Address,
      asset: (symbol) => assetOf(deployment, symbol).address as Address,
      deposit: async (i, symbol, human) => void (await deposit(ctx, wallet(i), symbol, human)),
      borrow: async (i, symbol, human) => void (await borrow(ctx, wallet(i), symbol, human)),
      repayAll: (i, symbol) => repay(ctx, wallet(i), symbol, "all"),
      setPrice: async (symbol, price8) => {
        const a = assetOf(deployment, symbol);
        const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
        await write(ctx, ctx.admin, a.feed, abi, "updateAnswer", [price8 * 10n ** BigInt(a.feedDecimals - 8)]);
      },
    };
  },
  // Aave V3.0: supply (minted and approved first), variable borrow, repay of the whole debt (max uint), the feed's
  // answer (AaveOracle returns it as is: 8 decimals).
  "aave-v3": ({ publicClient, deployment, wallet }) => {
    const ctx: aave.ChainContext = { publicClient, deployment, admin: wallet(0) };
    return {
      account: (i) => wallet(i).account.address.toLowerCase() as Address,
      asset: (symbol) => aave.assetOf(deployment, symbol).address as Address,
      deposit: async (i, symbol, human) => void (await aave.supply(ctx, wallet(i), symbol, human)),
      borrow: async (i, symbol, human) => void (await aave.borrow(ctx, wallet(i), symbol, human)),
      repayAll: async (i, symbol) => void (await aave.repay(ctx, wallet(i), symbol, "all")),
      setPrice: (symbol, price8) => aave.setPrice(ctx, symbol, price8),
    };
  },
};
