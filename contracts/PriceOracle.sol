// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {Errors} from "./libraries/Errors.sol";

/// @title PriceOracle
/// @notice Reads Chainlink `latestRoundData`, rejects non-positive and stale answers, normalises to 8 decimals.
contract PriceOracle is IPriceOracle {
    uint8 public constant override PRICE_DECIMALS = 8;

    address public owner;
    mapping(address => FeedConfig) internal _feeds;
    address public override sequencerUptimeFeed;
    uint256 public override gracePeriod;

    modifier onlyOwner() {
        if (msg.sender != owner) revert Errors.NotOwner(msg.sender);
        _;
    }

    constructor(address owner_) {
        if (owner_ == address(0)) revert Errors.ZeroAddress();
        owner = owner_;
    }

    function setFeed(address asset, address aggregator, uint32 heartbeat) external onlyOwner {
        if (asset == address(0) || aggregator == address(0)) revert Errors.ZeroAddress();
        if (heartbeat == 0) revert Errors.InvalidHeartbeat(asset, heartbeat);
        uint8 decimals = AggregatorV3Interface(aggregator).decimals();
        _feeds[asset] = FeedConfig({aggregator: aggregator, heartbeat: heartbeat, decimals: decimals});
        emit FeedSet(asset, aggregator, heartbeat, decimals);
    }

    function setSequencerUptimeFeed(address feed, uint256 gracePeriod_) external onlyOwner {
        sequencerUptimeFeed = feed;
        gracePeriod = gracePeriod_;
        emit SequencerUptimeFeedSet(feed, gracePeriod_);
    }

    /// @inheritdoc IPriceOracle
    function getFeed(address asset) external view override returns (FeedConfig memory) {
        return _feeds[asset];
    }

    /// @inheritdoc IPriceOracle
    function getAssetPrice(address asset) external view override returns (uint256) {
        _checkSequencer();
        FeedConfig memory feed = _feeds[asset];
        if (feed.aggregator == address(0)) revert Errors.FeedNotSet(asset);
        (, int256 answer,, uint256 updatedAt,) = AggregatorV3Interface(feed.aggregator).latestRoundData();
        if (answer <= 0) revert Errors.InvalidPrice(asset, answer);
        // A round stamped in the future (clock skew between feed and chain) counts as age 0.
        if (block.timestamp > updatedAt && block.timestamp - updatedAt > feed.heartbeat) {
            revert Errors.StalePrice(asset, updatedAt, feed.heartbeat);
        }
        uint256 price = uint256(answer);
        if (feed.decimals > PRICE_DECIMALS) {
            price /= 10 ** (feed.decimals - PRICE_DECIMALS);
            // A positive answer below 1e-8 USD truncates to 0: priced at 0, a debt would weigh nothing and any
            // collateral could borrow the whole reserve. Refuse it like any other unusable answer.
            if (price == 0) revert Errors.InvalidPrice(asset, answer);
            return price;
        }
        return price * 10 ** (PRICE_DECIMALS - feed.decimals);
    }

    function _checkSequencer() internal view {
        address feed = sequencerUptimeFeed;
        if (feed == address(0)) return;
        // Chainlink sequencer feeds: answer 0 = up, 1 = down; startedAt = when the status last changed.
        (, int256 answer, uint256 startedAt,,) = AggregatorV3Interface(feed).latestRoundData();
        if (answer != 0 || startedAt == 0) revert Errors.SequencerDown();
        // A startedAt ahead of the chain's clock means "just came up": still in the grace period (and no underflow).
        if (startedAt > block.timestamp || block.timestamp - startedAt <= gracePeriod) {
            revert Errors.GracePeriodNotOver(startedAt, gracePeriod);
        }
    }
}
