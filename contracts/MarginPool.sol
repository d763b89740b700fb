// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/security/ReentrancyGuard.sol";
import {IMarginPool} from "./interfaces/IMarginPool.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {InterestRateModel} from "./InterestRateModel.sol";
import {Errors} from "./libraries/Errors.sol";
import {WadRayMath} from "./libraries/WadRayMath.sol";
import {InterestMath} from "./libraries/InterestMath.sol";

/// @title MarginPool
/// @notice Aave-like pool: deposit collateral, borrow against it, liquidate accounts with HF < 1.
/// @dev Rounding always favours the protocol: collateral down, debt up, seized collateral down, repay up.
contract MarginPool is IMarginPool, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using WadRayMath for uint256;

    uint256 public constant MAX_ASSETS = 16;
    uint256 public constant CLOSE_FACTOR_BPS = 5_000;
    /// @notice Below this HF the whole debt may be repaid in one liquidation.
    uint256 public constant CLOSE_FACTOR_HF_THRESHOLD = 0.95e18;
    /// @notice A debt or collateral position worth less than this (USD, 8 decimals) is dust: close factor 100%.
    uint256 public constant DUST_THRESHOLD_BASE = 2_000e8;

    IPriceOracle public immutable oracle;
    address public owner;

    address[] internal _assets;
    mapping(address => AssetConfig) internal _configs;
    mapping(address => ReserveState) internal _reserves;
    mapping(address => mapping(address => Position)) internal _positions; // account => asset => position

    modifier onlyOwner() {
        if (msg.sender != owner) revert Errors.NotOwner(msg.sender);
        _;
    }

    constructor(IPriceOracle oracle_, address owner_) {
        if (address(oracle_) == address(0) || owner_ == address(0)) revert Errors.ZeroAddress();
        oracle = oracle_;
        owner = owner_;
    }

    // ------------------------------------------------------------------ configuration

    function listAsset(
        address asset,
        address rateModel,
        uint16 ltvBps,
        uint16 liquidationThresholdBps,
        uint16 liquidationBonusBps,
        uint16 reserveFactorBps
    ) external onlyOwner {
        if (asset == address(0) || rateModel == address(0)) revert Errors.ZeroAddress();
        if (_configs[asset].listed) revert Errors.AssetAlreadyListed(asset);
        if (_assets.length >= MAX_ASSETS) revert Errors.TooManyAssets(MAX_ASSETS);
        uint8 decimals = IERC20Metadata(asset).decimals();
        _assets.push(asset);
        _configs[asset] = AssetConfig({
            listed: true,
            decimals: decimals,
            ltvBps: 0,
            liquidationThresholdBps: 0,
            liquidationBonusBps: 0,
            reserveFactorBps: 0,
            rateModel: rateModel
        });
        ReserveState storage r = _reserves[asset];
        r.liquidityIndex = WadRayMath.RAY;
        r.borrowIndex = WadRayMath.RAY;
        r.lastUpdateTimestamp = block.timestamp;
        emit AssetListed(asset, decimals, rateModel);
        _setRiskParams(asset, ltvBps, liquidationThresholdBps, liquidationBonusBps, reserveFactorBps);
        _updateRates(asset);
    }

    function setRiskParams(
        address asset,
        uint16 ltvBps,
        uint16 liquidationThresholdBps,
        uint16 liquidationBonusBps,
        uint16 reserveFactorBps
    ) external onlyOwner {
        _requireListed(asset);
        _accrue(asset);
        _setRiskParams(asset, ltvBps, liquidationThresholdBps, liquidationBonusBps, reserveFactorBps);
        _updateRates(asset);
    }

    function setRateModel(address asset, address rateModel) external onlyOwner {
        _requireListed(asset);
        if (rateModel == address(0)) revert Errors.ZeroAddress();
        _accrue(asset);
        _configs[asset].rateModel = rateModel;
        emit RateModelSet(asset, rateModel);
        _updateRates(asset);
    }

    function _setRiskParams(address asset, uint16 ltv, uint16 lt, uint16 bonus, uint16 rf) internal {
        // LTV ≤ LT < 100%, and seizing LT-worth of collateral plus the bonus must not exceed the collateral.
        bool ok = ltv <= lt && lt < WadRayMath.BPS && rf <= WadRayMath.BPS
            && uint256(lt) * (WadRayMath.BPS + bonus) <= WadRayMath.BPS * WadRayMath.BPS;
        if (!ok) revert Errors.InvalidRiskParams(ltv, lt, bonus, rf);
        AssetConfig storage c = _configs[asset];
        c.ltvBps = ltv;
        c.liquidationThresholdBps = lt;
        c.liquidationBonusBps = bonus;
        c.reserveFactorBps = rf;
        emit RiskParamsSet(asset, ltv, lt, bonus, rf);
    }

    // ------------------------------------------------------------------ actions

    /// @inheritdoc IMarginPool
    function deposit(address asset, uint256 amount, address onBehalfOf) external override nonReentrant {
        _requireListed(asset);
        if (amount == 0) revert Errors.ZeroAmount();
        if (onBehalfOf == address(0)) revert Errors.ZeroAddress();
        ReserveState storage r = _accrue(asset);
        uint256 scaled = amount.rayDivDown(r.liquidityIndex);
        if (scaled == 0) revert Errors.ZeroAmount();
        _positions[onBehalfOf][asset].scaledCollateral += scaled;
        r.totalScaledCollateral += scaled;
        r.cash += amount;
        _updateRates(asset);
        IERC20(asset).safeTransferFrom(msg.sender, address(this), amount);
        emit Deposit(asset, onBehalfOf, msg.sender, amount, scaled, r.liquidityIndex);
    }

    /// @inheritdoc IMarginPool
    function withdraw(address asset, uint256 amount, address to) external override nonReentrant returns (uint256) {
        _requireListed(asset);
        if (amount == 0) revert Errors.ZeroAmount();
        if (to == address(0)) revert Errors.ZeroAddress();
        ReserveState storage r = _accrue(asset);
        Position storage p = _positions[msg.sender][asset];
        uint256 balance = p.scaledCollateral.rayMulDown(r.liquidityIndex);
        uint256 scaled;
        if (amount == type(uint256).max || amount == balance) {
            amount = balance;
            scaled = p.scaledCollateral;
        } else {
            if (amount > balance) revert Errors.InsufficientCollateralBalance(asset, amount, balance);
            scaled = amount.rayDivUp(r.liquidityIndex);
        }
        if (amount == 0) revert Errors.ZeroAmount();
        if (amount > r.cash) revert Errors.InsufficientLiquidity(asset, amount, r.cash);
        p.scaledCollateral -= scaled;
        r.totalScaledCollateral -= scaled;
        r.cash -= amount;
        _updateRates(asset);
        _validateSolvent(msg.sender);
        IERC20(asset).safeTransfer(to, amount);
        emit Withdraw(asset, msg.sender, to, amount, scaled, r.liquidityIndex);
        return amount;
    }

    /// @inheritdoc IMarginPool
    function borrow(address asset, uint256 amount) external override nonReentrant {
        _requireListed(asset);
        if (amount == 0) revert Errors.ZeroAmount();
        ReserveState storage r = _accrue(asset);
        if (amount > r.cash) revert Errors.InsufficientLiquidity(asset, amount, r.cash);
        uint256 scaled = amount.rayDivUp(r.borrowIndex);
        _positions[msg.sender][asset].scaledDebt += scaled;
        r.totalScaledDebt += scaled;
        r.cash -= amount;
        _updateRates(asset);
        _validateSolvent(msg.sender);
        IERC20(asset).safeTransfer(msg.sender, amount);
        emit Borrow(asset, msg.sender, amount, scaled, r.borrowIndex);
    }

    /// @inheritdoc IMarginPool
    function repay(address asset, uint256 amount, address onBehalfOf) external override nonReentrant returns (uint256) {
        _requireListed(asset);
        if (amount == 0) revert Errors.ZeroAmount();
        ReserveState storage r = _accrue(asset);
        Position storage p = _positions[onBehalfOf][asset];
        if (p.scaledDebt == 0) revert Errors.NoDebt(onBehalfOf, asset);
        uint256 debt = p.scaledDebt.rayMulUp(r.borrowIndex);
        uint256 scaled;
        if (amount >= debt) {
            amount = debt;
            scaled = p.scaledDebt;
        } else {
            scaled = amount.rayDivDown(r.borrowIndex);
        }
        p.scaledDebt -= scaled;
        r.totalScaledDebt -= scaled;
        r.cash += amount;
        _updateRates(asset);
        IERC20(asset).safeTransferFrom(msg.sender, address(this), amount);
        emit Repay(asset, onBehalfOf, msg.sender, amount, scaled, r.borrowIndex);
        return amount;
    }

    struct LiquidationVars {
        uint256 healthFactor;
        uint256 debtPrice;
        uint256 collateralPrice;
        uint256 debtUnit;
        uint256 collateralUnit;
        uint256 userDebt;
        uint256 userCollateral;
        uint256 maxRepay;
        uint256 repay;
        uint256 seize;
        uint256 debtScaledBurned;
        uint256 collateralScaledBurned;
        uint256 bonusBps;
    }

    /// @inheritdoc IMarginPool
    function liquidate(address borrower, address collateralAsset, address debtAsset, uint256 repayAmount)
        external
        override
        nonReentrant
        returns (uint256, uint256)
    {
        _requireListed(collateralAsset);
        _requireListed(debtAsset);
        if (repayAmount == 0) revert Errors.ZeroAmount();
        if (borrower == msg.sender) revert Errors.SelfLiquidation();
        ReserveState storage dr = _accrue(debtAsset);
        ReserveState storage cr = _accrue(collateralAsset);
        Position storage dp = _positions[borrower][debtAsset];
        Position storage cp = _positions[borrower][collateralAsset];
        if (dp.scaledDebt == 0) revert Errors.NoDebt(borrower, debtAsset);
        if (cp.scaledCollateral == 0) revert Errors.NoCollateral(borrower, collateralAsset);

        LiquidationVars memory v;
        v.healthFactor = _accountData(borrower).healthFactor;
        if (v.healthFactor >= WadRayMath.WAD) revert Errors.HealthFactorNotBelowOne(borrower, v.healthFactor);

        v.debtPrice = oracle.getAssetPrice(debtAsset);
        v.collateralPrice = oracle.getAssetPrice(collateralAsset);
        v.debtUnit = 10 ** _configs[debtAsset].decimals;
        v.collateralUnit = 10 ** _configs[collateralAsset].decimals;
        v.bonusBps = _configs[collateralAsset].liquidationBonusBps;
        v.userDebt = dp.scaledDebt.rayMulUp(dr.borrowIndex);
        v.userCollateral = cp.scaledCollateral.rayMulDown(cr.liquidityIndex);

        v.maxRepay = calculateMaxRepay(
            v.healthFactor,
            v.userDebt,
            WadRayMath.mulDivUp(v.userDebt, v.debtPrice, v.debtUnit),
            WadRayMath.mulDivDown(v.userCollateral, v.collateralPrice, v.collateralUnit)
        );
        v.repay = repayAmount < v.maxRepay ? repayAmount : v.maxRepay;
        (v.repay, v.seize) = calculateSeize(
            v.repay, v.userCollateral, v.debtPrice, v.collateralPrice, v.debtUnit, v.collateralUnit, v.bonusBps
        );

        v.debtScaledBurned = v.repay == v.userDebt ? dp.scaledDebt : _min(v.repay.rayDivDown(dr.borrowIndex), dp.scaledDebt);
        v.collateralScaledBurned = v.seize == v.userCollateral
            ? cp.scaledCollateral
            : _min(v.seize.rayDivUp(cr.liquidityIndex), cp.scaledCollateral);
        if (v.seize > cr.cash) revert Errors.InsufficientLiquidity(collateralAsset, v.seize, cr.cash);

        dp.scaledDebt -= v.debtScaledBurned;
        dr.totalScaledDebt -= v.debtScaledBurned;
        dr.cash += v.repay;
        cp.scaledCollateral -= v.collateralScaledBurned;
        cr.totalScaledCollateral -= v.collateralScaledBurned;
        cr.cash -= v.seize;
        _updateRates(debtAsset);
        if (collateralAsset != debtAsset) _updateRates(collateralAsset);

        emit Liquidation(
            borrower, msg.sender, collateralAsset, debtAsset, v.repay, v.debtScaledBurned, v.seize, v.collateralScaledBurned
        );
        _writeOffBadDebtIfNoCollateral(borrower);

        IERC20(debtAsset).safeTransferFrom(msg.sender, address(this), v.repay);
        IERC20(collateralAsset).safeTransfer(msg.sender, v.seize);
        return (v.repay, v.seize);
    }

    /// @notice Largest repay allowed in one liquidation: 50% of the debt in that asset, 100% when HF < 0.95 or
    ///         when the debt or the collateral position is dust (worth < DUST_THRESHOLD_BASE).
    function calculateMaxRepay(uint256 hf, uint256 userDebt, uint256 debtBase, uint256 collateralBase)
        public
        pure
        returns (uint256)
    {
        bool full = hf < CLOSE_FACTOR_HF_THRESHOLD || debtBase < DUST_THRESHOLD_BASE || collateralBase < DUST_THRESHOLD_BASE;
        return full ? userDebt : userDebt.bpsMulDown(CLOSE_FACTOR_BPS);
    }

    /// @notice Collateral seized for `repay` (bonus included, rounded down); when the collateral does not cover
    ///         it, all of it is seized and the repay shrinks to match (rounded up).
    function calculateSeize(
        uint256 repayAmount,
        uint256 userCollateral,
        uint256 debtPrice,
        uint256 collateralPrice,
        uint256 debtUnit,
        uint256 collateralUnit,
        uint256 bonusBps
    ) public pure returns (uint256 actualRepay, uint256 seize) {
        seize = (repayAmount * debtPrice * collateralUnit * (WadRayMath.BPS + bonusBps))
            / (collateralPrice * debtUnit * WadRayMath.BPS);
        if (seize <= userCollateral) return (repayAmount, seize);
        uint256 needed = WadRayMath.mulDivUp(
            userCollateral * collateralPrice * debtUnit, WadRayMath.BPS, debtPrice * collateralUnit * (WadRayMath.BPS + bonusBps)
        );
        return (_min(needed, repayAmount), userCollateral);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IMarginPool
    function healthFactor(address account) external view override returns (uint256) {
        if (!_hasDebt(account)) return type(uint256).max;
        return _accountData(account).healthFactor;
    }

    /// @inheritdoc IMarginPool
    function getAccountData(address account) external view override returns (AccountData memory) {
        return _accountData(account);
    }

    /// @inheritdoc IMarginPool
    function getAssets() external view override returns (address[] memory) {
        return _assets;
    }

    /// @inheritdoc IMarginPool
    function getAssetConfig(address asset) external view override returns (AssetConfig memory) {
        return _configs[asset];
    }

    /// @inheritdoc IMarginPool
    function getReserveData(address asset) external view override returns (ReserveState memory r) {
        r = _reserves[asset];
        (r.liquidityIndex, r.borrowIndex) = _currentIndexes(r);
    }

    /// @inheritdoc IMarginPool
    function getPosition(address account, address asset)
        external
        view
        override
        returns (uint256 scaledCollateral, uint256 scaledDebt, uint256 collateral, uint256 debt)
    {
        Position memory p = _positions[account][asset];
        (uint256 li, uint256 bi) = _currentIndexes(_reserves[asset]);
        return (p.scaledCollateral, p.scaledDebt, p.scaledCollateral.rayMulDown(li), p.scaledDebt.rayMulUp(bi));
    }

    // ------------------------------------------------------------------ internals

    function _requireListed(address asset) internal view {
        if (!_configs[asset].listed) revert Errors.AssetNotListed(asset);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function _currentIndexes(ReserveState memory r) internal view returns (uint256 liquidityIndex, uint256 borrowIndex) {
        if (r.lastUpdateTimestamp == block.timestamp) return (r.liquidityIndex, r.borrowIndex);
        liquidityIndex = InterestMath.calculateLinearInterest(r.liquidityRate, r.lastUpdateTimestamp, block.timestamp)
            .rayMulDown(r.liquidityIndex);
        borrowIndex = InterestMath.calculateCompoundedInterest(r.borrowRate, r.lastUpdateTimestamp, block.timestamp)
            .rayMulUp(r.borrowIndex);
    }

    /// @dev Brings the indexes up to block.timestamp. Emits nothing: _updateRates emits the result.
    function _accrue(address asset) internal returns (ReserveState storage r) {
        r = _reserves[asset];
        if (r.lastUpdateTimestamp == block.timestamp) return r;
        (r.liquidityIndex, r.borrowIndex) = _currentIndexes(r);
        r.lastUpdateTimestamp = block.timestamp;
    }

    function _updateRates(address asset) internal {
        ReserveState storage r = _reserves[asset];
        uint256 totalDebt = r.totalScaledDebt.rayMulUp(r.borrowIndex);
        uint256 utilization = totalDebt == 0 ? 0 : totalDebt.rayDivDown(totalDebt + r.cash);
        uint256 borrowRate = InterestRateModel(_configs[asset].rateModel).calculateBorrowRate(utilization);
        r.borrowRate = borrowRate;
        r.liquidityRate = borrowRate.rayMulDown(utilization).bpsMulDown(WadRayMath.BPS - _configs[asset].reserveFactorBps);
        emit ReserveDataUpdated(asset, r.liquidityRate, r.borrowRate, r.liquidityIndex, r.borrowIndex, block.timestamp);
    }

    function _hasDebt(address account) internal view returns (bool) {
        uint256 n = _assets.length;
        for (uint256 i; i < n; ++i) {
            if (_positions[account][_assets[i]].scaledDebt != 0) return true;
        }
        return false;
    }

    /// @dev Prices only the assets the account holds, so a stale feed elsewhere does not block it.
    function _accountData(address account) internal view returns (AccountData memory d) {
        (d,) = _accountDataWithLimit(account);
    }

    /// @return d the account data; borrowLimitBase Σ collateral·LTV (USD, 8 decimals, rounded down)
    function _accountDataWithLimit(address account) internal view returns (AccountData memory d, uint256 borrowLimitBase) {
        uint256 weightedLtv;
        uint256 weightedLt;
        uint256 n = _assets.length;
        for (uint256 i; i < n; ++i) {
            address asset = _assets[i];
            Position memory p = _positions[account][asset];
            if (p.scaledCollateral == 0 && p.scaledDebt == 0) continue;
            AssetConfig memory c = _configs[asset];
            uint256 price = oracle.getAssetPrice(asset);
            uint256 unit = 10 ** c.decimals;
            (uint256 li, uint256 bi) = _currentIndexes(_reserves[asset]);
            if (p.scaledCollateral != 0) {
                uint256 value = WadRayMath.mulDivDown(p.scaledCollateral.rayMulDown(li), price, unit);
                d.totalCollateralBase += value;
                weightedLtv += value * c.ltvBps;
                weightedLt += value * c.liquidationThresholdBps;
            }
            if (p.scaledDebt != 0) {
                d.totalDebtBase += WadRayMath.mulDivUp(p.scaledDebt.rayMulUp(bi), price, unit);
            }
        }
        if (d.totalCollateralBase != 0) {
            d.ltvBps = weightedLtv / d.totalCollateralBase;
            d.currentLiquidationThresholdBps = weightedLt / d.totalCollateralBase;
        }
        borrowLimitBase = weightedLtv / WadRayMath.BPS;
        d.availableBorrowsBase = borrowLimitBase > d.totalDebtBase ? borrowLimitBase - d.totalDebtBase : 0;
        d.healthFactor = d.totalDebtBase == 0
            ? type(uint256).max
            : WadRayMath.mulDivDown(weightedLt, WadRayMath.WAD, d.totalDebtBase * WadRayMath.BPS);
    }

    /// @dev After a withdraw or borrow: HF ≥ 1 and debt within the LTV borrow limit.
    function _validateSolvent(address account) internal view {
        if (!_hasDebt(account)) return;
        (AccountData memory d, uint256 borrowLimitBase) = _accountDataWithLimit(account);
        if (d.healthFactor < WadRayMath.WAD) revert Errors.HealthFactorBelowOne(account, d.healthFactor);
        if (d.totalDebtBase > borrowLimitBase) revert Errors.ExceedsLtv(account, d.totalDebtBase, borrowLimitBase);
    }

    function _writeOffBadDebtIfNoCollateral(address account) internal {
        uint256 n = _assets.length;
        for (uint256 i; i < n; ++i) {
            if (_positions[account][_assets[i]].scaledCollateral != 0) return;
        }
        for (uint256 i; i < n; ++i) {
            address asset = _assets[i];
            Position storage p = _positions[account][asset];
            if (p.scaledDebt == 0) continue;
            ReserveState storage r = _accrue(asset);
            uint256 scaled = p.scaledDebt;
            uint256 amount = scaled.rayMulUp(r.borrowIndex);
            p.scaledDebt = 0;
            r.totalScaledDebt -= scaled;
            r.deficit += amount;
            _updateRates(asset);
            emit BadDebtWrittenOff(account, asset, amount, scaled, r.deficit);
        }
    }
}
