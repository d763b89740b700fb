// TypeScript types of the routes' response JSON schemas (`as const`), so the handlers and the CLI are checked against
// the same document fastify serialises with and @fastify/swagger publishes: a renamed field fails the build.
//
// Every property a response schema declares is typed as present: the handlers are annotated with these types, so a
// handler that left one out would not compile. (fast-json-stringify drops whatever a schema does not declare.)

type Primitive<T> = T extends "string"
  ? string
  : T extends "integer" | "number"
    ? number
    : T extends "boolean"
      ? boolean
      : T extends "null"
        ? null
        : never;

type ObjectOf<S> = S extends { properties: infer P }
  ? { -readonly [K in keyof P]: JsonOf<P[K]> }
  : S extends { additionalProperties: infer A }
    ? A extends object
      ? Record<string, JsonOf<A>>
      : Record<string, unknown>
    : Record<string, unknown>;

type OfType<S, T> = T extends "object" ? ObjectOf<S> : T extends "array" ? (S extends { items: infer I } ? JsonOf<I>[] : unknown[]) : Primitive<T>;

/** The value a JSON schema describes: `type` (one or a list), `enum`, `properties`, `items`, `additionalProperties`. */
export type JsonOf<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { type: infer T }
    ? T extends readonly (infer U)[]
      ? OfType<S, U>
      : OfType<S, T>
    : unknown;
