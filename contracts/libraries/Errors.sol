// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Errors
/// @notice Every custom error of the protocol, in one place, with the arguments a user needs.
library Errors {
    // --- oracle ---
    error FeedNotSet(address asset);
    error InvalidPrice(address asset, int256 answer);
    error StalePrice(address asset, uint256 updatedAt, uint256 heartbeat);
    error InvalidHeartbeat(address asset, uint256 heartbeat);
    error SequencerDown();
    error GracePeriodNotOver(uint256 sequencerUpSince, uint256 gracePeriod);

    // --- configuration ---
    error NotOwner(address caller);
    error ZeroAddress();
    error AssetAlreadyListed(address asset);
    error AssetNotListed(address asset);
    error TooManyAssets(uint256 max);
    error InvalidRiskParams(uint256 ltvBps, uint256 liquidationThresholdBps, uint256 liquidationBonusBps, uint256 reserveFactorBps);
    error InvalidRateModelParams();

    // --- actions ---
    error ZeroAmount();
    error InsufficientCollateralBalance(address asset, uint256 requested, uint256 available);
    error InsufficientLiquidity(address asset, uint256 requested, uint256 available);
    error NoDebt(address account, address asset);
    error HealthFactorBelowOne(address account, uint256 healthFactor);
    error ExceedsLtv(address account, uint256 debtBase, uint256 borrowLimitBase);

    // --- liquidation ---
    error HealthFactorNotBelowOne(address account, uint256 healthFactor);
    error NoCollateral(address account, address asset);
    error SelfLiquidation();
}
