// Aave V3.0.x logs → protocol-neutral changes (indexer/state/changes.ts), from the addresses provider down: the
// provider names the Pool, PoolConfigurator and AaveOracle; the configurator's ReserveInitialized names each
// reserve's aToken and debt tokens; their own logs carry the scaled balances (the Pool's carry unscaled amounts).
// The rules are those of ../shared/AAVE-V3.md, checked against the chain to the wei by test/aave/index.test.ts.
import { decodeEventLog, hexToString, type Hex, type Log, toEventSelector } from "viem";
import type { Deployment } from "../../common/deployment";
import { UserInputError } from "../../common/errors";
import type { Change } from "../../indexer/state/changes";
import { type Address, isUnknownEvent, lowerArgs, MalformedLogError, metaOf } from "../../indexer/state/events";
import { type ProtocolState, StateInvariantError } from "../../indexer/state/state";
import type { Watched } from "../types";
import {
  aTokenAbi,
  aaveOracleAbi,
  poolAbi,
  poolAddressesProviderAbi,
  poolConfiguratorAbi,
  stableDebtTokenAbi,
  variableDebtTokenAbi,
} from "./generated/abis";
import { rayDiv } from "./math";

/**
 * Contract families: the provider, the Pool, the configurator, the oracle, and each reserve's tokens as
 * "atoken:<underlying>", "vdebt:<underlying>", "sdebt:<underlying>" (a token's logs do not name their reserve).
 */
export type Family = "provider" | "pool" | "configurator" | "oracle" | `${TokenKind}:${string}`;
type TokenKind = "atoken" | "vdebt" | "sdebt";

const ABIS = {
  provider: poolAddressesProviderAbi,
  pool: poolAbi,
  configurator: poolConfiguratorAbi,
  oracle: aaveOracleAbi,
  atoken: aTokenAbi,
  vdebt: variableDebtTokenAbi,
  sdebt: stableDebtTokenAbi,
} as const;

const ZERO = "0x0000000000000000000000000000000000000000" as Address;
const BPS = 10_000n;
/** AaveOracle's BASE_CURRENCY_UNIT for USD markets: prices are 8-decimal, as marginwatch's are */
const USD_UNIT = 10n ** 8n;

/** topic0 of ReserveDataUpdated: its decoding needs the block's timestamp (the reserve's lastUpdateTimestamp). */
export const RESERVE_DATA_UPDATED = toEventSelector("ReserveDataUpdated(address,uint256,uint256,uint256,uint256,uint256)") as Hex;

/** A stable-rate debt moved: V3.0's stable debt is not modelled (its balance compounds per user). A loud stop. */
export class UnsupportedStableDebtError extends StateInvariantError {}

/** The restored state lists a reserve whose token contracts neither the deployment file nor this process knows. */
export class UnwatchedReserveError extends UserInputError {}

/** The deployment file gives no heartbeat for a price source AaveOracle names. */
export class MissingHeartbeatError extends UserInputError {}

const lower = (a: string) => a.toLowerCase() as Address;
const idOf = (id: Hex) => hexToString(id, { size: 32 }).replace(/\0+$/, "");

/**
 * The decoding of one deployment's logs: what the deployment file says (heartbeats, known token proxies), the
 * addresses found in logs so far in this process (the watch set), and the warnings logs give (once each).
 */
export class AaveDecoder {
  /** warnings given so far (each once), newest last */
  readonly warnings: string[] = [];
  /** the reserve tokens the deployment file names */
  private readonly tokens = new Map<Address, Family>();
  /** reserves the state had listed at the last watch(): an aToken's Initialized for one of them is a re-initialisation */
  private listed = new Set<Address>();

  constructor(
    readonly d: Deployment,
    private readonly onWarning: (message: string) => void = defaultWarning,
  ) {
    for (const a of d.assets) {
      if (a.aToken) this.tokens.set(a.aToken, `atoken:${a.address}`);
      if (a.variableDebtToken) this.tokens.set(a.variableDebtToken, `vdebt:${a.address}`);
      if (a.stableDebtToken) this.tokens.set(a.stableDebtToken, `sdebt:${a.address}`);
    }
  }

  /**
   * The roots the deployment names (addresses provider, Pool, configurator, oracle), every reserve token it names,
   * and every contract the indexed logs found (state keeps them). A reserve the state lists (restored from a checkpoint)
   * whose tokens are in neither is an error: its balance logs would be silently missed.
   */
  watch(d: Deployment, state: ProtocolState): Watched[] {
    const out = new Map<Address, Family>();
    if (d.addressesProvider) out.set(d.addressesProvider, "provider");
    out.set(d.pool, "pool");
    if (d.poolConfigurator) out.set(d.poolConfigurator, "configurator");
    out.set(d.oracle, "oracle");
    // Contracts the logs named (state keeps them: a restart watches them too), then the file's tokens.
    for (const [a, f] of state.contracts) if (!out.has(a)) out.set(a, f as Family);
    for (const [a, f] of this.tokens) out.set(a, f);
    const covered = new Set([...out.values()]);
    for (const asset of state.assets.keys()) {
      if (!covered.has(`atoken:${asset}`) || !covered.has(`vdebt:${asset}`))
        throw new UnwatchedReserveError(
          `reserve ${asset} is listed, but neither the deployment file nor the indexed logs name its aToken and variable debt token`,
          { details: "add assets[].aToken and assets[].variableDebtToken for it to the deployment file, or index again from startBlock" },
        );
    }
    if (state.assets.size > 0 && ![...out.values()].includes("configurator"))
      throw new UnwatchedReserveError("the market's PoolConfigurator is not known: name it as poolConfigurator in the deployment file");
    this.listed = new Set(state.assets.keys());
    return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([address, family]) => ({ address, family }));
  }

  /** Addresses the logs just decoded named (a reserve's tokens, the provider's Pool / configurator / oracle). */
  discover(changes: readonly Change[]): Watched[] {
    return changes.flatMap((c) => (c.kind === "contract-found" ? [{ address: c.address, family: c.family }] : []));
  }

  decode(log: Log, family: string): Change[] {
    const meta = metaOf(log);
    const [kind, tokenAsset] = family.split(":") as [keyof typeof ABIS, Address | undefined];
    const abi = ABIS[kind];
    if (!abi || ((kind === "atoken" || kind === "vdebt" || kind === "sdebt") && !tokenAsset))
      throw new MalformedLogError(log, `no contract family "${family}" in an Aave V3 market`);
    let decoded: { eventName: string; args: Record<string, unknown> };
    try {
      decoded = decodeEventLog({ abi, data: log.data, topics: log.topics, strict: true }) as never;
    } catch (e) {
      if (isUnknownEvent(e)) return [];
      throw new MalformedLogError(log, (e as { shortMessage?: string }).shortMessage ?? (e as Error).message.split("\n")[0]!);
    }
    // biome-ignore lint/suspicious/noExplicitAny: each case reads the fields its event declares (checked by decodeEventLog)
    const a = lowerArgs(decoded.args) as any;
    const ev = decoded.eventName;
    switch (kind) {
      case "provider":
        return this.provider(ev, a, meta);
      case "configurator":
        return this.configurator(ev, a, meta);
      case "pool":
        return this.pool(log, ev, a, meta);
      case "oracle":
        return this.oracle(ev, a, meta);
      case "atoken":
        return this.aToken(tokenAsset!, ev, a, meta);
      case "vdebt":
        return this.variableDebt(tokenAsset!, ev, a, meta);
      case "sdebt":
        if (ev === "Mint" || ev === "Burn")
          throw new UnsupportedStableDebtError(
            `stable-rate debt of ${lower(a.onBehalfOf ?? a.from)} in ${tokenAsset} moved at block ${meta.blockNumber} (${meta.transactionHash}): ` +
              "marginwatch's Aave V3 adapter models variable debt only; a market with stable borrowing enabled is not supported",
          );
        return [];
    }
  }

  private warn(message: string): void {
    if (this.warnings.includes(message)) return;
    this.warnings.push(message);
    this.onWarning(message);
  }

  /** A contract the log names: watched from this log on (state keeps it; discovery fetches its logs in range). */
  private found(address: Address, family: Family, meta: Change["meta"]): Change {
    return { kind: "contract-found", address, family, meta };
  }

  // ---- PoolAddressesProvider: where the Pool, configurator and oracle are

  // biome-ignore lint/suspicious/noExplicitAny: decoded event arguments
  private provider(ev: string, a: any, meta: Change["meta"]): Change[] {
    const out: Change[] = [];
    const families: Record<string, Family> = { POOL: "pool", POOL_CONFIGURATOR: "configurator", PRICE_ORACLE: "oracle" };
    if (ev === "ProxyCreated" || ev === "AddressSet") {
      const f = families[idOf(a.id)];
      const address = ev === "ProxyCreated" ? a.proxyAddress : a.newAddress;
      if (f && address !== ZERO) out.push(this.found(address, f, meta));
      if (f && ev === "AddressSet")
        this.warn(`the addresses provider replaced its ${idOf(a.id)} with ${address} (setAddress): marginwatch follows the new contract's logs`);
    } else if (ev === "PriceOracleUpdated") {
      if (a.newAddress !== ZERO) out.push(this.found(a.newAddress, "oracle", meta));
      if (a.oldAddress !== ZERO)
        this.warn(
          `the market's price oracle changed from ${a.oldAddress} to ${a.newAddress}: sources the new oracle set before this block ` +
            "(in its constructor) are only seen if they fall in the same fetched range; name it as `oracle` in the deployment file and index again",
        );
    } else if (ev === "PoolUpdated") {
      // The first setPoolImpl (old 0x0) creates the proxy; anything later is an upgrade to code marginwatch cannot see.
      if (a.oldAddress !== ZERO)
        this.warn(
          `the Pool was upgraded from implementation ${a.oldAddress} to ${a.newAddress}, whose revision marginwatch does not know: ` +
            "its math is exact for Aave V3.0.x (POOL_REVISION 1); 3.1+ rounds differently, and the auditor will report the differences",
        );
    }
    return out;
  }

  // ---- PoolConfigurator: reserves, risk parameters, eMode

  // biome-ignore lint/suspicious/noExplicitAny: decoded event arguments
  private configurator(ev: string, a: any, meta: Change["meta"]): Change[] {
    switch (ev) {
      case "ReserveInitialized":
        // The tokens' Initialized logs are earlier in this transaction: fetched once discovered, sorted before this.
        return [
          this.found(a.aToken, `atoken:${a.asset}`, meta),
          this.found(a.variableDebtToken, `vdebt:${a.asset}`, meta),
          ...(a.stableDebtToken !== ZERO ? [this.found(a.stableDebtToken, `sdebt:${a.asset}`, meta)] : []),
          { kind: "reserve-rate-model", asset: a.asset, rateModel: a.interestRateStrategyAddress, meta },
        ];
      case "CollateralConfigurationChanged":
        return [
          {
            kind: "reserve-params",
            asset: a.asset,
            ltvBps: a.ltv,
            liquidationThresholdBps: a.liquidationThreshold,
            // Aave's 10500 form → the neutral "above par" 500; 0 (collateral disabled) stays 0.
            liquidationBonusBps: a.liquidationBonus >= BPS ? a.liquidationBonus - BPS : 0n,
            meta,
          },
        ];
      case "ReserveFactorChanged":
        return [{ kind: "reserve-params", asset: a.asset, reserveFactorBps: a.newReserveFactor, meta }];
      case "ReserveInterestRateStrategyChanged":
        return [{ kind: "reserve-rate-model", asset: a.asset, rateModel: a.newStrategy, meta }];
      case "EModeCategoryAdded":
        if (a.oracle !== ZERO)
          this.warn(
            `eMode category ${a.categoryId} (${a.label}) names a price source ${a.oracle}: prices from a category price source are not ` +
              "supported; marginwatch prices its assets with their own AaveOracle sources, so its accounts' figures will differ from the Pool's",
          );
        return [
          {
            kind: "category-set",
            category: Number(a.categoryId),
            ltvBps: a.ltv,
            liquidationThresholdBps: a.liquidationThreshold,
            liquidationBonusBps: a.liquidationBonus >= BPS ? a.liquidationBonus - BPS : 0n,
            priceSource: a.oracle,
            label: a.label,
            meta,
          },
        ];
      case "EModeAssetCategoryChanged":
        return [{ kind: "reserve-category", asset: a.asset, category: Number(a.newCategoryId), meta }];
      case "ATokenUpgraded":
      case "VariableDebtTokenUpgraded":
        this.warn(
          `the ${ev === "ATokenUpgraded" ? "aToken" : "variable debt token"} of ${a.asset} was upgraded to ${a.implementation}: ` +
            "marginwatch reads its Mint / Burn / BalanceTransfer logs as V3.0.x's",
        );
        return [];
      case "ReserveDropped":
        this.warn(`reserve ${a.asset} was dropped: marginwatch keeps it listed (it holds no balance)`);
        return [];
      default:
        return [];
    }
  }

  // ---- Pool: indexes, collateral flags, eMode choices, liquidations (balances move by the token logs)

  // biome-ignore lint/suspicious/noExplicitAny: decoded event arguments
  private pool(log: Log, ev: string, a: any, meta: Change["meta"]): Change[] {
    switch (ev) {
      case "ReserveDataUpdated": {
        // The reserve's lastUpdateTimestamp is its block's timestamp; the sync engine stamps these logs with it.
        const timestamp = (log as { blockTimestamp?: bigint | null }).blockTimestamp;
        if (timestamp == null) throw new MalformedLogError(log, "ReserveDataUpdated without its block's timestamp");
        return [
          {
            kind: "reserve-indexes",
            asset: a.reserve,
            liquidityRate: a.liquidityRate,
            borrowRate: a.variableBorrowRate,
            liquidityIndex: a.liquidityIndex,
            borrowIndex: a.variableBorrowIndex,
            timestamp: BigInt(timestamp),
            meta,
          },
        ];
      }
      case "ReserveUsedAsCollateralEnabled":
      case "ReserveUsedAsCollateralDisabled":
        return [{ kind: "collateral-flag", account: a.user, asset: a.reserve, enabled: ev === "ReserveUsedAsCollateralEnabled", meta }];
      case "UserEModeSet":
        return [{ kind: "account-category", account: a.user, category: Number(a.categoryId), meta }];
      case "LiquidationCall":
        return [
          {
            kind: "liquidation",
            borrower: a.user,
            liquidator: a.liquidator,
            collateralAsset: a.collateralAsset,
            debtAsset: a.debtAsset,
            debtRepaid: a.debtToCover,
            collateralSeized: a.liquidatedCollateralAmount,
            meta,
          },
        ];
      default:
        return [];
    }
  }

  // ---- AaveOracle: price sources (prices themselves are read per block)

  // biome-ignore lint/suspicious/noExplicitAny: decoded event arguments
  private oracle(ev: string, a: any, meta: Change["meta"]): Change[] {
    if (ev === "AssetSourceUpdated") {
      // AaveOracle returns the source's latestAnswer as is (BASE_CURRENCY_UNIT 1e8): an 8-decimal price.
      return [{ kind: "feed-set", asset: a.asset, aggregator: a.source, heartbeat: this.heartbeatOf(a.asset, a.source), decimals: 8, meta }];
    }
    if (ev === "BaseCurrencySet" && a.baseCurrencyUnit !== USD_UNIT)
      this.warn(
        `AaveOracle's base currency is ${a.baseCurrency} with unit ${a.baseCurrencyUnit}: marginwatch reads its prices as 8-decimal USD, ` +
          "so every USD figure it shows is in that base currency instead",
      );
    if (ev === "FallbackOracleUpdated" && a.fallbackOracle !== ZERO)
      this.warn(`AaveOracle has a fallback oracle ${a.fallbackOracle}: where a source answers ≤ 0 the Pool prices with it, marginwatch says unknown`);
    return [];
  }

  /** The heartbeat of a price source: feedHeartbeats[source], else the asset's own entry, else defaultHeartbeat. */
  private heartbeatOf(asset: Address, source: Address): bigint {
    const s = this.d.feedHeartbeats?.[source] ?? this.d.assets.find((x) => x.address === asset)?.heartbeat ?? this.d.defaultHeartbeat;
    if (s === undefined)
      throw new MissingHeartbeatError(`AaveOracle names source ${source} for ${asset}, and the deployment file gives no heartbeat for it`, {
        details: "add feedHeartbeats[source], an assets[] entry for the asset, or defaultHeartbeat (seconds) to the deployment file",
      });
    return BigInt(s);
  }

  // ---- the reserve's tokens: scaled balances

  // biome-ignore lint/suspicious/noExplicitAny: decoded event arguments
  private aToken(asset: Address, ev: string, a: any, meta: Change["meta"]): Change[] {
    switch (ev) {
      case "Initialized":
        if (this.listed.has(a.underlyingAsset)) return []; // re-initialised by an upgrade (ATokenUpgraded warns)
        return [{ kind: "reserve-listed", asset: a.underlyingAsset, decimals: Number(a.aTokenDecimals), rateModel: ZERO, meta }];
      case "Mint":
        return scaledMint("collateral", asset, a, meta);
      case "Burn":
        return [{ kind: "collateral", account: a.from, asset, scaledDelta: -rayDiv(a.value + a.balanceIncrease, a.index), meta }];
      case "BalanceTransfer":
        // Already scaled. Covers transfers, liquidations with receiveAToken and the liquidation protocol fee.
        if (a.value === 0n || a.from === a.to) return [];
        return [
          { kind: "collateral", account: a.from, asset, scaledDelta: -(a.value as bigint), meta },
          { kind: "collateral", account: a.to, asset, scaledDelta: a.value, meta },
        ];
      default:
        return []; // Transfer (unscaled), Approval
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: decoded event arguments
  private variableDebt(asset: Address, ev: string, a: any, meta: Change["meta"]): Change[] {
    if (ev === "Mint") return scaledMint("debt", asset, a, meta);
    if (ev === "Burn") return [{ kind: "debt", account: a.from, asset, scaledDelta: -rayDiv(a.value + a.balanceIncrease, a.index), meta }];
    return [];
  }
}

/**
 * ScaledBalanceTokenBase's Mint(caller, onBehalfOf, value, balanceIncrease, index): value = amount + accrued
 * interest for a mint (+rayDiv(amount, index)); value = interest − amount for a burn smaller than the accrued
 * interest (−rayDiv(amount, index)).
 */
// biome-ignore lint/suspicious/noExplicitAny: decoded event arguments
function scaledMint(kind: "collateral" | "debt", asset: Address, a: any, meta: Change["meta"]): Change[] {
  const value = a.value as bigint;
  const increase = a.balanceIncrease as bigint;
  if (value === increase) return [];
  const scaledDelta = value > increase ? rayDiv(value - increase, a.index) : -rayDiv(increase - value, a.index);
  return [{ kind, account: a.onBehalfOf, asset, scaledDelta, meta }];
}

function defaultWarning(message: string): void {
  process.emitWarning(message, { type: "MarginwatchAaveV3Warning" });
}
