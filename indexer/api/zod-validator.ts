// Route-level validation with zod, for request bodies: ajv (fastify's default) coerces types ("abc" stays an
// error, but null or [] become 0), which is right for query strings and wrong for JSON bodies. The route keeps its
// JSON schema for the OpenAPI document; zod decides what is accepted.
import type { FastifySchemaCompiler } from "fastify";
import type { ZodTypeAny } from "zod";
import { BadRequestError } from "./errors";

type HttpPart = "body" | "querystring" | "params" | "headers";

/** A validatorCompiler that validates the listed parts with zod and lets the others through unchanged. */
export function zodValidator(parts: Partial<Record<HttpPart, ZodTypeAny>>): FastifySchemaCompiler<unknown> {
  return ({ httpPart }) => {
    const schema = httpPart ? parts[httpPart as HttpPart] : undefined;
    return (data: unknown) => {
      if (!schema) return { value: data };
      const r = schema.safeParse(data);
      if (r.success) return { value: r.data };
      const issue = r.error.issues[0]!;
      const where = [httpPart, ...issue.path].join(".");
      return { error: new BadRequestError(`${where}: ${issue.message}`) };
    };
  };
}
