// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title EmittingAggregator
/// @notice A test feed that emits AnswerUpdated / NewRound like a real OCR aggregator (MockV3Aggregator emits
///         nothing), so the indexer can react to a price at once. Answers are set freely, including ≤ 0.
contract EmittingAggregator is AggregatorV3Interface {
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    uint8 public immutable override decimals;
    uint80 public latestRound;
    mapping(uint80 => int256) internal _answers;
    mapping(uint80 => uint256) internal _updatedAt;
    mapping(uint80 => uint256) internal _startedAt;

    constructor(uint8 decimals_, int256 initialAnswer) {
        decimals = decimals_;
        updateAnswer(initialAnswer);
    }

    function updateAnswer(int256 answer) public {
        updateRoundData(latestRound + 1, answer, block.timestamp, block.timestamp);
    }

    function updateRoundData(uint80 roundId, int256 answer, uint256 updatedAt, uint256 startedAt) public {
        latestRound = roundId;
        _answers[roundId] = answer;
        _updatedAt[roundId] = updatedAt;
        _startedAt[roundId] = startedAt;
        emit NewRound(roundId, msg.sender, startedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }

    function description() external pure override returns (string memory) {
        return "marginwatch EmittingAggregator";
    }

    function version() external pure override returns (uint256) {
        return 4;
    }

    function getRoundData(uint80 roundId) external view override returns (uint80, int256, uint256, uint256, uint80) {
        return (roundId, _answers[roundId], _startedAt[roundId], _updatedAt[roundId], roundId);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint80 r = latestRound;
        return (r, _answers[r], _startedAt[r], _updatedAt[r], r);
    }
}
