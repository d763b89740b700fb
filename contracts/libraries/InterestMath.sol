// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WadRayMath} from "./WadRayMath.sol";

/// @title InterestMath
/// @notice Per-second interest factors in RAY: linear for the liquidity index, a three-term binomial
///         approximation of compounding for the borrow index (as Aave V3's MathUtils).
library InterestMath {
    using WadRayMath for uint256;

    uint256 internal constant SECONDS_PER_YEAR = 365 days;

    /// @return factor RAY + rate·dt/year, rounded down (suppliers never receive more than accrued).
    function calculateLinearInterest(uint256 rateRay, uint256 lastUpdate, uint256 nowTs) internal pure returns (uint256) {
        uint256 dt = nowTs - lastUpdate;
        return WadRayMath.RAY + (rateRay * dt) / SECONDS_PER_YEAR;
    }

    /// @return factor (1 + rate/year)^dt ≈ 1 + n·x + n(n−1)x²/2 + n(n−1)(n−2)x³/6, rounded down per term.
    function calculateCompoundedInterest(uint256 rateRay, uint256 lastUpdate, uint256 nowTs) internal pure returns (uint256) {
        uint256 exp = nowTs - lastUpdate;
        if (exp == 0) return WadRayMath.RAY;
        uint256 expMinusOne = exp - 1;
        uint256 expMinusTwo = exp > 2 ? exp - 2 : 0;
        uint256 basePowerTwo = rateRay.rayMulDown(rateRay) / (SECONDS_PER_YEAR * SECONDS_PER_YEAR);
        uint256 basePowerThree = basePowerTwo.rayMulDown(rateRay) / SECONDS_PER_YEAR;
        uint256 secondTerm = (exp * expMinusOne * basePowerTwo) / 2;
        uint256 thirdTerm = (exp * expMinusOne * expMinusTwo * basePowerThree) / 6;
        return WadRayMath.RAY + (rateRay * exp) / SECONDS_PER_YEAR + secondTerm + thirdTerm;
    }
}
