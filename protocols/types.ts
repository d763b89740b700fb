// The protocol seam: everything that differs between lending protocols, behind one typed interface. The sync engine,
// state, health engine, store, API, alerts and keeper pipeline are written once against it; each folder under
// protocols/ implements it for one protocol (protocols/marginpool/: the project's own pool). Nothing outside
// protocols/ and contracts/ names a protocol's contracts.
import type { Abi, Hex, Log } from "viem";
import type { Deployment } from "../common/deployment";
import type { Wallet } from "../common/wallet";
import type { Change } from "../indexer/state/changes";
import type { Address } from "../indexer/state/events";
import type { AssetState, ProtocolState } from "../indexer/state/state";
import type { KeeperPublicClient } from "../keeper/chain/clients";

export type { Address };

/** A contract whose logs the sync engine fetches, and the family (the adapter's word) its logs decode as. */
export interface Watched {
  address: Address;
  family: string;
}

export interface ProtocolAdapter {
  /** the deployment file's `protocol` */
  readonly name: string;
  /** how messages name the protocol's own views ("differ from <label>'s") */
  readonly label: string;

  /**
   * The adapter for one deployment, when decoding needs what only the deployment file says (e.g. the heartbeat of
   * each price source of a market whose oracle does not record one). Without it the adapter is the same for all.
   */
  bind?(d: Deployment): ProtocolAdapter;

  // ---- what to watch and how its logs read
  /** roots from the deployment and every address discovered in logs that `state` has applied */
  watch(d: Deployment, state: ProtocolState): Watched[];
  /** addresses that freshly decoded changes bring into watch: the sync engine fetches their logs in the same range */
  discover(changes: readonly Change[]): Watched[];
  /** one log of a watched contract → its changes, in order ([] for events marginwatch does not use); throws
   *  MalformedLogError (indexer/state/events.ts) for a log that does not decode */
  decode(log: Log, family: string): Change[];
  /**
   * topic0 of the events whose decoding reads `log.blockTimestamp` (e.g. an index update that does not carry its
   * time): the sync engine stamps those logs with their block's timestamp when the node did not. Omitted: none.
   */
  readonly timestampedEvents?: ReadonlySet<Hex>;

  // ---- exact math, equal to the protocol's own to the wei
  readonly math: ProtocolMath;

  // ---- the protocol's own answers, for the auditor and `marginwatch verify`
  readonly views: ProtocolViews;

  // ---- liquidation: re-check, sizing, call, outcome
  readonly liquidation: LiquidationAdapter;

  // ---- a market on the embedded chain, for `npm start`, tests and benchmarks
  readonly dev: DevMarket;
}

// ------------------------------------------------------------------------------------------------------ math

/** One asset an account holds, with everything the account-data formula needs. */
export interface PositionInput {
  scaledCollateral: bigint;
  scaledDebt: bigint;
  /** current (extrapolated) indexes, RAY */
  liquidityIndex: bigint;
  borrowIndex: bigint;
  /** 8-decimal USD, as the protocol's oracle prices the asset */
  price: bigint;
  /** 10^decimals */
  unit: bigint;
  /** the reserve's own risk parameters */
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
  /** whether the account uses this balance as collateral (its flag, or the protocol's default when never set) */
  collateralEnabled: boolean;
  /** the account's efficiency-mode category parameters when the asset is in it, else null */
  category: { ltvBps: bigint; liquidationThresholdBps: bigint } | null;
}

/** How one position's collateral enters the account's sums. */
export interface CollateralTerms {
  /** the collateral counts at all (in total collateral and the HF numerator) */
  counts: boolean;
  /** the LT it is weighted with, bps */
  liquidationThresholdBps: bigint;
}

export interface AccountData {
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  availableBorrowsBase: bigint;
  currentLiquidationThresholdBps: bigint;
  ltvBps: bigint;
  /** WAD; max uint256 without debt */
  healthFactor: bigint;
  borrowLimitBase: bigint;
  /** Σ collateral value · LT (bps-weighted), the HF numerator before scaling */
  weightedThresholdBase: bigint;
}

/** The part of AccountData the health engine's confirmations read. */
export interface AccountHealthFigures {
  healthFactor: bigint;
  totalDebtBase: bigint;
}

export interface ProtocolMath {
  /** a reserve's indexes extrapolated to `now` (a block timestamp) */
  indexesAt(reserve: AssetState, now: bigint): { liquidityIndex: bigint; borrowIndex: bigint };
  /** the account's data from its held positions (any order) */
  accountData(positions: readonly PositionInput[]): AccountData;
  /**
   * The same HF and total debt as `accountData`, to the wei, computing nothing else (no LTV average, no borrow
   * limit): the health engine's exact confirmation, run for every account a price move carries across a threshold.
   */
  health(positions: readonly PositionInput[]): AccountHealthFigures;
  /**
   * Absolute path (without extension) of a module exporting this same `health` function, importing no more than
   * common/math: the health engine's worker thread loads it to share exact confirmations (absent: they stay on the
   * engine's thread).
   */
  readonly healthModule?: string;
  /** one position's collateral value (base currency), rounded as the protocol does */
  collateralValue(p: PositionInput): bigint;
  /** one position's debt value, rounded as the protocol does */
  debtValue(p: PositionInput): bigint;
  /** underlying collateral of a scaled balance at an index, as the protocol's balance views round it */
  collateralAmount(scaled: bigint, liquidityIndex: bigint): bigint;
  /** underlying debt of a scaled balance at an index, as the protocol's balance views round it */
  debtAmount(scaled: bigint, borrowIndex: bigint): bigint;
  /** whether and at which LT a position's collateral counts (collateral flag, zero LT, efficiency mode) */
  collateralTerms(p: Pick<PositionInput, "ltvBps" | "liquidationThresholdBps" | "collateralEnabled" | "category">): CollateralTerms;
  /** the collateral flag of a position whose account never set one */
  readonly collateralDefault: boolean;
  /**
   * How far (relative) the HF `accountData` reports can sit from the float model Σ value·LT / Σ debt, beyond the
   * per-position rounding of each value (one wei of amount, one unit of value), when the lowest liquidation
   * threshold any counted collateral can carry is `lowestLtBps`. 0 when the protocol weights each value by its own
   * LT exactly; a protocol that averages the LT in whole bps first is off by up to one bps of that average. The
   * health engine widens its float bounds by this, so it must never be an underestimate.
   */
  hfModelError(lowestLtBps: bigint): number;
}

// ------------------------------------------------------------------------------------------------------ views

/** What the views need from a viem client: one JSON-RPC request function (a batching transport packs them). */
export interface RpcRequester {
  request(args: { method: "eth_call"; params: [{ to: Address; data: Hex }, Hex | { blockHash: Hex }] }): Promise<unknown>;
}

/**
 * The block to read at. `blockHash` (EIP-1898) pins the exact block: a reorg cannot swap the state under the read;
 * an orphaned hash fails the call instead. `blockNumber` reads whatever block holds that height now.
 */
export type BlockSelector = { blockHash: Hex } | { blockNumber: bigint };

/** The protocol's account-data view: the figures marginwatch computes, without its own intermediate sums. */
export type PoolAccountData = Omit<AccountData, "borrowLimitBase" | "weightedThresholdBase">;

export type PoolAnswer<T> =
  | { kind: "value"; value: T }
  /** the protocol refused to price a held asset: `error` names it, e.g. StalePrice(0x…, 1700000000, 3600) */
  | { kind: "price-revert"; error: string }
  /** any other revert, or an answer that does not decode: not a figure to compare */
  | { kind: "revert"; error: string }
  /** transport or node failure (unreachable, timeout, unknown block): says nothing about the account */
  | { kind: "rpc-error"; error: string };

export interface PoolViews {
  account: Address;
  healthFactor: PoolAnswer<bigint>;
  accountData: PoolAnswer<PoolAccountData>;
}

export interface ProtocolViews {
  /**
   * Whether the protocol refuses to price an account when a feed is stale (marginwatch's heartbeat check, the
   * oracle tracker's "stale"). Default true. False (Aave V3's AaveOracle, which never checks an answer's age): the
   * protocol answers with the last (stale) price where marginwatch says "unknown"; the auditor then compares the
   * collateral and debt figures (both priced with that same last answer) and skips the health factor.
   */
  readonly refusesStalePrices?: boolean;
  /** the protocol's own HF and account data of every account at one block */
  read(client: RpcRequester, d: Deployment, accounts: readonly Address[], at: BlockSelector): Promise<PoolViews[]>;
  /** the protocol oracle's price of every asset at one block (8-decimal USD), or its refusal */
  prices(client: RpcRequester, d: Deployment, assets: readonly Address[], at: BlockSelector): Promise<PoolAnswer<bigint>[]>;
}

// ------------------------------------------------------------------------------------------------------ liquidation

/** One asset an account holds (collateral, debt or both), with the values the protocol would use at a block. */
export interface HeldAsset {
  asset: Address;
  decimals: number;
  unit: bigint;
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
  liquidationBonusBps: bigint;
  /** 8-decimal USD, the protocol oracle's price */
  price: bigint;
  liquidityIndex: bigint;
  borrowIndex: bigint;
  scaledCollateral: bigint;
  scaledDebt: bigint;
  /** current collateral, rounded as the protocol's liquidation computes it */
  collateral: bigint;
  /** current debt */
  debt: bigint;
  /** the reserve's cash: seizing more would revert */
  cash: bigint;
}

export interface AccountSnapshot {
  blockNumber: bigint;
  account: Address;
  /** WAD, the protocol's own health factor at blockNumber */
  healthFactor: bigint;
  assets: HeldAsset[];
  /** the keeper's balance of every asset the account owes */
  keeperBalances: Map<Address, bigint>;
}

export interface LiquidationPlan {
  collateralAsset: Address;
  debtAsset: Address;
  /** debt the protocol will take at the snapshot block */
  repayAmount: bigint;
  /** collateral the keeper receives at the snapshot block */
  seizeAmount: bigint;
  /** USD (8 decimals): value(seized, rounded down) − value(repaid, rounded up) */
  bonusValueBase: bigint;
  /** the protocol's close-factor cap for this pair */
  maxRepay: bigint;
  /** what bounded the repay */
  limitedBy: "close-factor" | "collateral" | "balance";
  /** the repay argument sent: max uint ("all allowed") when the balance covers it with headroom, else the exact repay */
  repayArgument: bigint;
  /** the most of the debt asset the call can pull from the keeper (interest accrues until inclusion) */
  maxSpend: bigint;
}

/** Balance of `asset` the keeper may commit now (its balance minus what in-flight liquidations already use). */
export type AvailableBalance = (asset: Address, balance: bigint) => bigint;

/** A contract call, as viem's simulateContract / estimateContractGas / encodeFunctionData take it. */
export interface ContractCall {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

/** A market the keeper liquidates on, bound to one deployment and client. */
export interface LiquidationVenue {
  /** listed assets, in the protocol's order */
  readonly assets: readonly Address[];
  /** the contract liquidations go to: it pulls the repaid debt, so the keeper approves it */
  readonly spender: Address;
  /** the protocol's own health factor at a block; price refusals propagate as viem errors */
  healthFactor(account: Address, blockNumber: bigint): Promise<bigint>;
  /** everything sizing needs, read at one pinned block */
  snapshot(account: Address, keeper: Address, blockNumber: bigint): Promise<AccountSnapshot>;
  /** the best executable pair as the protocol would size it; null when nothing is executable */
  plan(s: AccountSnapshot, available: AvailableBalance): LiquidationPlan | null;
  /** the liquidation call for a plan (simulated, estimated and sent as is) */
  call(account: Address, plan: LiquidationPlan): ContractCall;
  /**
   * (repaid, seized) from the call's simulated return value; null when the call returns nothing (e.g. Aave V3's
   * liquidationCall): the keeper then prices the plan's amounts and records the mined ones (`outcome`)
   */
  simulated(result: unknown): { repaid: bigint; seized: bigint } | null;
  /** the liquidation's amounts from a mined receipt's logs; null when it emitted none */
  outcome(logs: readonly Log[]): { debtRepaid: bigint; collateralSeized: bigint } | null;
  /** liquidations of `account` in [fromBlock, toBlock] (someone else first?) */
  liquidationsOf(account: Address, fromBlock: bigint, toBlock: bigint): Promise<Array<{ liquidator: Address; transactionHash: Hex }>>;
  /** the Chainlink-style feed the protocol prices `asset` with (the keeper prices gas in USD with it) */
  feedOf(asset: Address): Promise<Address>;
}

/** How the keeper wants its liquidations made, where the protocol offers a choice. */
export interface VenueOptions {
  /** take the seized collateral as the protocol's interest-bearing token (e.g. an aToken) instead of the underlying;
   *  default false; ignored by protocols without one */
  receiveInterestBearing?: boolean;
}

export interface LiquidationAdapter {
  connect(client: KeeperPublicClient, d: Pick<Deployment, "pool">, options?: VenueOptions): Promise<LiquidationVenue>;
  /** the protocol's custom errors, to decode revert data */
  readonly errorsAbi: Abi;
  /**
   * revert names meaning "the protocol refused to price an asset" (stale, invalid, no feed, sequencer): custom error
   * names, or the reason string of an Error(string) revert for protocols that revert with codes (Aave V3.0: "59")
   */
  readonly priceErrors: ReadonlySet<string>;
  /** revert names (as in priceErrors) meaning "nothing left to liquidate": someone else was first */
  readonly lostRaceErrors: ReadonlySet<string>;
}

// ------------------------------------------------------------------------------------------------------ dev market

export interface DevDeployOptions {
  publicClient: import("viem").PublicClient;
  walletClient: Wallet;
  /** deploy an L2 sequencer-uptime feed (answer 0 = up) and enable the check with this grace period */
  sequencerGracePeriod?: number;
}

export interface SimulationOptions {
  url: string;
  publicClient: import("viem").PublicClient;
  deployment: Deployment;
  /** the deployer's key (an embedded chain's Hardhat account #0): owns the feeds and mints tokens */
  adminKey: Hex;
  /** addresses (e.g. the keeper) funded with every asset so they can repay debt in liquidations */
  fundAddresses: Address[];
  borrowers: number;
  seed: number;
  tickMs: number;
  logger: import("pino").Logger;
}

/** A running market: borrowers across the HF spectrum, prices on a random walk, crashes, missed heartbeats. */
export interface MarketSimulation {
  /** funds the keeper and creates the borrowers */
  seed(): Promise<void>;
  /** one step: prices move, borrowers act */
  tick(): Promise<void>;
  /** ticks every tickMs until stop() */
  start(): void;
  stop(): void;
  readonly stats: { ticks: number; crashes: number; heartbeatMisses: number; actions: number; failedActions: number };
}

export interface DevMarket {
  deploy(o: DevDeployOptions): Promise<Deployment>;
  simulation(o: SimulationOptions): MarketSimulation;
}
