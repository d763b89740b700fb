// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMarginPool
/// @notice Multi-asset margin pool. Balances are stored scaled by per-asset indexes (RAY); every event carries
///         the scaled amounts, so an indexer rebuilds each balance exactly from logs alone (contracts/README.md).
interface IMarginPool {
    struct AssetConfig {
        bool listed;
        uint8 decimals;
        uint16 ltvBps;
        uint16 liquidationThresholdBps;
        uint16 liquidationBonusBps;
        uint16 reserveFactorBps;
        address rateModel;
    }

    struct ReserveState {
        uint256 liquidityIndex; // RAY, stored at lastUpdateTimestamp
        uint256 borrowIndex; // RAY, stored at lastUpdateTimestamp
        uint256 liquidityRate; // annual, RAY
        uint256 borrowRate; // annual, RAY
        uint256 lastUpdateTimestamp;
        uint256 totalScaledCollateral;
        uint256 totalScaledDebt;
        uint256 cash; // underlying held and available to lend (virtual accounting: donations are ignored)
        uint256 deficit; // bad debt written off, in asset units
    }

    struct Position {
        uint256 scaledCollateral;
        uint256 scaledDebt;
    }

    struct AccountData {
        uint256 totalCollateralBase; // USD, 8 decimals, each asset rounded down
        uint256 totalDebtBase; // USD, 8 decimals, each asset rounded up
        uint256 availableBorrowsBase; // USD, 8 decimals
        uint256 currentLiquidationThresholdBps; // collateral-weighted
        uint256 ltvBps; // collateral-weighted
        uint256 healthFactor; // WAD; type(uint256).max with no debt
    }

    // ---- configuration events ----
    event AssetListed(address indexed asset, uint8 decimals, address rateModel);
    event RiskParamsSet(
        address indexed asset, uint256 ltvBps, uint256 liquidationThresholdBps, uint256 liquidationBonusBps, uint256 reserveFactorBps
    );
    event RateModelSet(address indexed asset, address rateModel);

    // ---- state events ----
    /// @notice Emitted after every action that touches `asset`: the indexes as of `timestamp` and the new rates.
    event ReserveDataUpdated(
        address indexed asset, uint256 liquidityRate, uint256 borrowRate, uint256 liquidityIndex, uint256 borrowIndex, uint256 timestamp
    );
    event Deposit(
        address indexed asset, address indexed account, address indexed caller, uint256 amount, uint256 scaledAmount, uint256 liquidityIndex
    );
    event Withdraw(
        address indexed asset, address indexed account, address indexed to, uint256 amount, uint256 scaledAmount, uint256 liquidityIndex
    );
    event Borrow(address indexed asset, address indexed account, uint256 amount, uint256 scaledAmount, uint256 borrowIndex);
    event Repay(
        address indexed asset, address indexed account, address indexed payer, uint256 amount, uint256 scaledAmount, uint256 borrowIndex
    );
    event Liquidation(
        address indexed borrower,
        address indexed liquidator,
        address indexed collateralAsset,
        address debtAsset,
        uint256 debtRepaid,
        uint256 debtScaledBurned,
        uint256 collateralSeized,
        uint256 collateralScaledBurned
    );
    /// @notice Debt left on an account with no collateral at all is removed; `reserveDeficit` is the new total.
    event BadDebtWrittenOff(address indexed account, address indexed asset, uint256 amount, uint256 scaledAmount, uint256 reserveDeficit);

    // ---- actions ----
    function deposit(address asset, uint256 amount, address onBehalfOf) external;
    /// @param amount type(uint256).max withdraws the whole balance.
    function withdraw(address asset, uint256 amount, address to) external returns (uint256 withdrawn);
    function borrow(address asset, uint256 amount) external;
    /// @param amount more than the debt (e.g. type(uint256).max) repays the whole debt.
    function repay(address asset, uint256 amount, address onBehalfOf) external returns (uint256 repaid);
    /// @param repayAmount capped at the close factor; type(uint256).max repays the maximum allowed.
    function liquidate(address borrower, address collateralAsset, address debtAsset, uint256 repayAmount)
        external
        returns (uint256 debtRepaid, uint256 collateralSeized);

    // ---- views (all computed up to block.timestamp) ----
    function healthFactor(address account) external view returns (uint256);
    function getAccountData(address account) external view returns (AccountData memory);
    function getAssets() external view returns (address[] memory);
    function getAssetConfig(address asset) external view returns (AssetConfig memory);
    /// @notice Reserve state with indexes extrapolated to block.timestamp.
    function getReserveData(address asset) external view returns (ReserveState memory);
    /// @notice Scaled balances and their current values: collateral rounded down, debt rounded up.
    function getPosition(address account, address asset)
        external
        view
        returns (uint256 scaledCollateral, uint256 scaledDebt, uint256 collateral, uint256 debt);
}
