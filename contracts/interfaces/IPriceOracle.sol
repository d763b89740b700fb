// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPriceOracle
/// @notice Chainlink-backed USD prices with 8 decimals, a heartbeat per feed and an optional L2 sequencer check.
interface IPriceOracle {
    struct FeedConfig {
        address aggregator;
        uint32 heartbeat;
        uint8 decimals;
    }

    /// @notice A feed was set for `asset`; `decimals` is read from the aggregator at that moment.
    event FeedSet(address indexed asset, address indexed aggregator, uint256 heartbeat, uint8 decimals);
    /// @notice The L2 sequencer-uptime feed was set (address(0) disables the check).
    event SequencerUptimeFeedSet(address indexed feed, uint256 gracePeriod);

    /// @notice Decimals of every price this oracle returns.
    function PRICE_DECIMALS() external view returns (uint8);

    /// @notice USD price of one whole unit of `asset`, 8 decimals.
    /// @dev Reverts with FeedNotSet, InvalidPrice (answer ≤ 0, or below 1e-8 USD once normalised), StalePrice
    ///      (age > heartbeat), SequencerDown or GracePeriodNotOver.
    function getAssetPrice(address asset) external view returns (uint256);

    /// @notice The feed configuration of `asset` (aggregator zero when none).
    function getFeed(address asset) external view returns (FeedConfig memory);

    function sequencerUptimeFeed() external view returns (address);
    function gracePeriod() external view returns (uint256);
}
