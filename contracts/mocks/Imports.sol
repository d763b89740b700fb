// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Pulls Chainlink's MockV3Aggregator into the build so tests and the deploy script get its artifact.
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
