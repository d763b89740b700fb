// API errors: typed classes carrying an HTTP status and a stable code, and the handlers that turn every failure
// (ours, fastify's own, or an unexpected throw) into the one JSON error shape `{ error, message }`.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { MarginwatchError } from "../../common/errors";

export interface ErrorBody {
  /** stable machine code, e.g. "bad_request", "not_found" */
  error: string;
  /** what went wrong and how to fix it, for a human */
  message: string;
}

export class ApiError extends MarginwatchError {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string) {
    super(400, "bad_request", message);
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, "not_found", message);
  }
}

/** The indexer has not processed a block yet, or is not ready: retry later. */
export class NotReadyError extends ApiError {
  constructor(message: string) {
    super(503, "not_ready", message);
  }
}

/** fastify's own 4xx error codes, mapped to our stable codes (anything else 4xx is "bad_request"). */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "bad_request",
  FST_ERR_CTP_EMPTY_JSON_BODY: "bad_request",
  FST_ERR_CTP_INVALID_JSON_BODY: "bad_request",
};

/** Keeps echoed user input short: a hostile 1 MB URL must not come back in the error body or the logs. */
export function clip(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: code, message };
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      // Schema validation of params / querystring / body: ajv's message names the field ("querystring/limit must be <= 500").
      return reply.code(400).send(errorBody("bad_request", fe.message));
    }
    const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code = (fe.code && FASTIFY_CODES[fe.code]) ?? (status === 404 ? "not_found" : "bad_request");
      return reply.code(status).send(errorBody(code, fe.message));
    }
    req.log.error({ err }, "unhandled API error");
    return reply.code(500).send(errorBody("internal", "internal error; see the server log"));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody("not_found", `no route ${req.method} ${clip(req.url.split("?")[0] ?? "")}`));
  });
}
