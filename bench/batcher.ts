// A bench-only helper contract, compiled at run time with the solc-js build the project already ships: it opens
// hundreds of positions per transaction (deposits on behalf of many addresses; borrower clones that deposit and
// borrow), so 100k events and 10k borrowers take seconds to seed instead of minutes of one-transaction-each.
import { parseAbi, type Abi, type Hex } from "viem";

const SOURCE = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IPool {
    function deposit(address asset, uint256 amount, address onBehalfOf) external;
    function borrow(address asset, uint256 amount) external;
}

interface IToken {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external returns (bool);
}

/// One borrower account: a minimal clone whose borrow only the batcher may call.
contract BenchBorrower {
    address public immutable batcher;

    constructor() {
        batcher = msg.sender;
    }

    function borrow(address pool, address asset, uint256 amount) external {
        require(msg.sender == batcher, "not batcher");
        IPool(pool).borrow(asset, amount);
    }
}

contract BenchBatcher {
    address public immutable borrowerImpl;

    constructor() {
        borrowerImpl = address(new BenchBorrower());
    }

    function _fund(address pool, address asset, uint256 total) internal {
        IToken(asset).mint(address(this), total);
        IToken(asset).approve(pool, total);
    }

    /// Deposits amounts[i] of asset on behalf of accounts[i].
    function depositFor(address pool, address asset, uint256[] calldata amounts, address[] calldata accounts) external {
        uint256 total;
        for (uint256 i; i < amounts.length; ++i) total += amounts[i];
        _fund(pool, asset, total);
        for (uint256 i; i < accounts.length; ++i) IPool(pool).deposit(asset, amounts[i], accounts[i]);
    }

    /// Clones a borrower per salt, deposits its collateral on its behalf and borrows its debt.
    function openPositions(
        address pool,
        address collateralAsset,
        uint256[] calldata collateral,
        address debtAsset,
        uint256[] calldata debt,
        uint256 firstSalt
    ) external returns (address[] memory accounts) {
        uint256 total;
        for (uint256 i; i < collateral.length; ++i) total += collateral[i];
        _fund(pool, collateralAsset, total);
        accounts = new address[](collateral.length);
        for (uint256 i; i < collateral.length; ++i) {
            address account = _clone(firstSalt + i);
            accounts[i] = account;
            IPool(pool).deposit(collateralAsset, collateral[i], account);
            BenchBorrower(account).borrow(pool, debtAsset, debt[i]);
        }
    }

    /// The address openPositions gives salt \`salt\`.
    function predict(uint256 salt) external view returns (address) {
        bytes32 h = keccak256(abi.encodePacked(bytes1(0xff), address(this), bytes32(salt), keccak256(_cloneCode())));
        return address(uint160(uint256(h)));
    }

    function _cloneCode() internal view returns (bytes memory) {
        // EIP-1167 minimal proxy
        return abi.encodePacked(hex"3d602d80600a3d3981f3363d3d373d3d3d363d73", borrowerImpl, hex"5af43d82803e903d91602b57fd5bf3");
    }

    function _clone(uint256 salt) internal returns (address a) {
        bytes memory code = _cloneCode();
        assembly {
            a := create2(0, add(code, 0x20), mload(code), salt)
        }
        require(a != address(0), "clone failed");
    }
}
`;

export const batcherAbi = parseAbi([
  "function depositFor(address pool, address asset, uint256[] amounts, address[] accounts)",
  "function openPositions(address pool, address collateralAsset, uint256[] collateral, address debtAsset, uint256[] debt, uint256 firstSalt) returns (address[])",
  "function predict(uint256 salt) view returns (address)",
  "function borrowerImpl() view returns (address)",
]) as Abi;

let compiled: Hex | null = null;

/** Creation bytecode of BenchBatcher (compiled once per process, optimiser on, like the project's contracts). */
export function batcherBytecode(): Hex {
  if (compiled) return compiled;
  const solc = require("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: { "BenchBatcher.sol": { content: SOURCE } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun", outputSelection: { "*": { BenchBatcher: ["evm.bytecode.object"] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(`BenchBatcher does not compile:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  compiled = `0x${out.contracts!["BenchBatcher.sol"]!.BenchBatcher!.evm.bytecode.object}` as Hex;
  return compiled;
}
