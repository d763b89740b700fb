// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Errors} from "./libraries/Errors.sol";
import {WadRayMath} from "./libraries/WadRayMath.sol";

/// @title InterestRateModel
/// @notice Kinked borrow rate (annual, RAY): base + slope1·U/U* below the kink, + slope2 above it.
contract InterestRateModel {
    using WadRayMath for uint256;

    uint256 public immutable baseRate;
    uint256 public immutable slope1;
    uint256 public immutable slope2;
    uint256 public immutable optimalUtilization;

    event RateModelCreated(uint256 baseRate, uint256 slope1, uint256 slope2, uint256 optimalUtilization);

    constructor(uint256 baseRate_, uint256 slope1_, uint256 slope2_, uint256 optimalUtilization_) {
        if (optimalUtilization_ == 0 || optimalUtilization_ >= WadRayMath.RAY) revert Errors.InvalidRateModelParams();
        baseRate = baseRate_;
        slope1 = slope1_;
        slope2 = slope2_;
        optimalUtilization = optimalUtilization_;
        emit RateModelCreated(baseRate_, slope1_, slope2_, optimalUtilization_);
    }

    /// @param utilizationRay debt / (debt + cash), RAY.
    /// @return borrowRateRay annual borrow rate, RAY, rounded down.
    function calculateBorrowRate(uint256 utilizationRay) external view returns (uint256) {
        if (utilizationRay <= optimalUtilization) {
            return baseRate + WadRayMath.mulDivDown(slope1, utilizationRay, optimalUtilization);
        }
        uint256 excess = utilizationRay - optimalUtilization;
        return baseRate + slope1 + WadRayMath.mulDivDown(slope2, excess, WadRayMath.RAY - optimalUtilization);
    }
}
