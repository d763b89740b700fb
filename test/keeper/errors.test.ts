// Error classification (pure): what is retried, what is a nonce error, what revert a viem error carries.
import { LOST_RACE_ERRORS, PRICE_ERRORS } from "../../protocols/marginpool/errors";
import { expect } from "chai";
import {
  ContractFunctionRevertedError,
  encodeErrorResult,
  HttpRequestError,
  InternalRpcError,
  InvalidInputRpcError,
  NonceTooHighError,
  RpcRequestError,
  TimeoutError,
  TransactionExecutionError,
} from "viem";
import { errorsAbi } from "../../protocols/marginpool/generated/abis";
import {
  isAlreadyKnown,
  isNonceConflict,
  isNonceError,
  isReplacementUnderpriced,
  NonceConsumedError,
  PrivateKeyError,
  revertOf,
  shouldRetry,
} from "../../keeper/errors";

const URL = "http://127.0.0.1:1";
/** A raw transaction whose hex happens to contain "502" and "429", as viem puts it in every RPC error's message. */
const BODY = { method: "eth_sendRawTransaction", params: ["0x02f8b1502429504503aa"] };
const rpc = (code: number, message: string) => new RpcRequestError({ body: BODY, error: { code, message }, url: URL });

describe("keeper: error classification", () => {
  it("retries dropped connections, timeouts, 429 and 5xx; not 4xx, bad input or our own permanent errors", () => {
    expect(shouldRetry(new HttpRequestError({ url: URL, body: BODY, details: "fetch failed" }))).to.equal(true);
    expect(shouldRetry(new HttpRequestError({ url: URL, body: BODY, status: 503 }))).to.equal(true);
    expect(shouldRetry(new HttpRequestError({ url: URL, body: BODY, status: 429 }))).to.equal(true);
    expect(shouldRetry(new HttpRequestError({ url: URL, body: BODY, status: 400 }))).to.equal(false);
    expect(shouldRetry(new TimeoutError({ body: BODY, url: URL }))).to.equal(true);
    expect(shouldRetry(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" }))).to.equal(true);
    // the request body's hex contains "502": still not transient
    expect(shouldRetry(new InvalidInputRpcError(rpc(-32000, "insufficient funds for gas * price + value")))).to.equal(false);
    // a nonce error the nonce manager could not cure within its retries: the job is retried later, as for NonceConsumedError
    expect(shouldRetry(new InvalidInputRpcError(rpc(-32000, "Nonce too low. Expected nonce to be 3 but got 2.")))).to.equal(true);
    expect(shouldRetry(new NonceConsumedError("x"))).to.equal(true);
    expect(shouldRetry(new PrivateKeyError("x"))).to.equal(false);
  });

  it("nonce errors, whatever the node's capitalisation; 'already known' is not one", () => {
    expect(isNonceError(new InvalidInputRpcError(rpc(-32000, "Nonce too low. Expected nonce to be 3 but got 2.")))).to.equal(true);
    expect(isNonceError(new InvalidInputRpcError(rpc(-32000, "nonce too high")))).to.equal(true);
    const known = new InvalidInputRpcError(rpc(-32000, "already known"));
    expect(isAlreadyKnown(known)).to.equal(true);
    expect(isNonceError(known)).to.equal(false);
  });

  it("Hardhat's 'Nonce too high' after an embedded chain restarted (the remembered nonce outlived the chain) is a nonce error", () => {
    // Hardhat's exact words, as viem surfaces them from eth_sendRawTransaction: viem's own regex is lower-case only
    const hardhat = new InvalidInputRpcError(
      rpc(-32000, "Nonce too high. Expected nonce to be 0 but got 14. Note that transactions can't be queued when automining."),
    );
    expect(isNonceError(hardhat)).to.equal(true);
    expect(isNonceConflict(hardhat)).to.equal(true);
    // a node that reports it as an internal error (-32603), and viem's typed error inside a transaction error
    expect(isNonceError(new InternalRpcError(rpc(-32603, "Nonce too high")))).to.equal(true);
    const typed = new TransactionExecutionError(new NonceTooHighError({ nonce: 14 }), { account: undefined, chain: undefined } as never);
    expect(isNonceError(typed)).to.equal(true);
    // words viem has no class for
    expect(isNonceError(new InvalidInputRpcError(rpc(-32000, "nonce has already been used")))).to.equal(true);
    // a first send at a nonce a forgotten pool transaction holds: re-read the nonce (a conflict), but not a "nonce error"
    const underpriced = new InvalidInputRpcError(
      rpc(
        -32000,
        "Replacement transaction underpriced. A gasPrice/maxFeePerGas of at least 3300000000 is necessary to replace the existing transaction with nonce 1.",
      ),
    );
    expect(isReplacementUnderpriced(underpriced)).to.equal(true);
    expect(isNonceError(underpriced)).to.equal(false);
    expect(isNonceConflict(underpriced)).to.equal(true);
    // neither: Hardhat's "Known transaction" (our own bytes again), insufficient funds, a fee below the base fee
    for (const message of [
      "Known transaction: 0x8223c3270c33d078004b639dbd8a52b90d5279e29c800c0e5ab91d83832b8d02",
      "insufficient funds for gas * price + value",
      "max fee per gas less than block base fee",
    ]) {
      expect(isNonceConflict(new InvalidInputRpcError(rpc(-32000, message))), message).to.equal(false);
    }
  });

  it("decodes protocol reverts from raw revert data and classifies lost races and price problems; a revert is never retried", () => {
    const data = encodeErrorResult({ abi: errorsAbi, errorName: "StalePrice", args: ["0x00000000000000000000000000000000000000a1", 1n, 3600n] });
    const err = new InternalRpcError(new RpcRequestError({ body: BODY, error: { code: -32603, message: "reverted", data }, url: URL }));
    // viem keeps the node's revert data on the RpcRequestError inside
    const decoded = revertOf(err, errorsAbi);
    expect(decoded!.name).to.equal("StalePrice");
    expect(PRICE_ERRORS.has(decoded!.name)).to.equal(true);
    const lost = encodeErrorResult({
      abi: errorsAbi,
      errorName: "HealthFactorNotBelowOne",
      args: ["0x00000000000000000000000000000000000000a1", 10n ** 18n],
    });
    const reverted = new ContractFunctionRevertedError({ abi: errorsAbi, data: lost, functionName: "liquidate" });
    expect(revertOf(reverted, errorsAbi)!.name).to.equal("HealthFactorNotBelowOne");
    expect(LOST_RACE_ERRORS.has(revertOf(reverted, errorsAbi)!.name)).to.equal(true);
    expect(shouldRetry(reverted, errorsAbi)).to.equal(false);
  });
});
