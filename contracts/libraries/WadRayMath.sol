// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title WadRayMath
/// @notice Fixed-point helpers. The rounding direction is part of every name; callers pick the one that
///         favours the protocol. indexer/math mirrors each function bit for bit.
library WadRayMath {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant RAY = 1e27;
    uint256 internal constant BPS = 10_000;

    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return (x * y) / d;
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        uint256 p = x * y;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }

    function rayMulDown(uint256 a, uint256 b) internal pure returns (uint256) {
        return mulDivDown(a, b, RAY);
    }

    function rayMulUp(uint256 a, uint256 b) internal pure returns (uint256) {
        return mulDivUp(a, b, RAY);
    }

    function rayDivDown(uint256 a, uint256 b) internal pure returns (uint256) {
        return mulDivDown(a, RAY, b);
    }

    function rayDivUp(uint256 a, uint256 b) internal pure returns (uint256) {
        return mulDivUp(a, RAY, b);
    }

    function bpsMulDown(uint256 a, uint256 bps) internal pure returns (uint256) {
        return mulDivDown(a, bps, BPS);
    }
}
