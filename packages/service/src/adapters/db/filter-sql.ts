/**
 * Compiles a parsed `$filter` (domain/filter) to a kysely where-expression over the `jobs` table:
 *
 *   db.selectFrom("jobs").where((eb) => filterExpression(eb, ast))   // or .where(compileFilter(ast))
 *
 * The query must name the table `jobs` (no alias): columns are referenced as `jobs.<column>` so the
 * `inputId` subquery on `job_inputs` stays unambiguous. Every literal is a bound parameter. The SQL is
 * the same on SQLite and PostgreSQL (plain comparisons, `in`, `exists`, `is null`); values arrive
 * already normalised by the parser (lower-case ids and e-mails, canonical enums, ms-precision UTC text).
 *
 * Logic is OData's two-valued logic, not SQL's three-valued one: a comparison involving a null name is
 * false (`eq`, `lt`, ...), except `ne`, which is true; `not` then simply negates. To get that from SQL,
 * every atomic expression is made to never yield NULL: comparisons on `jobs.name` (the only nullable
 * column reached by the filter) carry an explicit `is null` / `is not null` guard; all other columns are
 * NOT NULL and `exists` is never NULL. So `not (name eq 'x')` includes nameless jobs, exactly like
 * `name ne 'x'`.
 *
 * `inputId` is multi-valued (a job has one or more inputs): `inputId eq X` / `in (...)` means "some input
 * is X / in the list", and `inputId ne X` means "no input is X" (= `not (inputId eq X)`).
 *
 * And/or chains are combined as balanced binary trees, so the SQL nesting (SQLite caps expression depth
 * at 1000) and kysely's recursive compiler see depth log2(n) rather than n.
 */
import { expressionBuilder, type Expression, type ExpressionBuilder, type SqlBool } from "kysely";
import type { ComparisonNode, FilterNode, InNode } from "../../domain/filter/ast.js";
import type { Database } from "./schema.js";

export type JobsExpressionBuilder = ExpressionBuilder<Database, "jobs">;

const COLUMN = {
  id: "jobs.id",
  iTwinId: "jobs.itwin_id",
  email: "jobs.email",
  type: "jobs.type",
  state: "jobs.state",
  createdDateTime: "jobs.created_at",
  outputId: "jobs.output_id",
} as const;

const SQL_OPERATOR = { eq: "=", ne: "<>", lt: "<", le: "<=", gt: ">", ge: ">=" } as const;

/** The where-expression for `ast`, built with the query's own expression builder. */
export function filterExpression(eb: JobsExpressionBuilder, ast: FilterNode): Expression<SqlBool> {
  switch (ast.kind) {
    case "and":
    case "or":
      return balanced(
        eb,
        ast.kind,
        ast.operands.map((o) => filterExpression(eb, o)),
      );
    case "not":
      return eb.not(filterExpression(eb, ast.operand));
    case "compare":
      return comparison(eb, ast);
    case "in":
      return membership(eb, ast);
  }
}

/**
 * The same expression: standalone, `db.selectFrom("jobs").where(compileFilter(ast))`, or with the
 * query's builder, `.where((eb) => compileFilter(eb, ast))` (identical to filterExpression).
 */
export function compileFilter(ast: FilterNode): Expression<SqlBool>;
export function compileFilter(eb: JobsExpressionBuilder, ast: FilterNode): Expression<SqlBool>;
export function compileFilter(a: FilterNode | JobsExpressionBuilder, b?: FilterNode): Expression<SqlBool> {
  // An ExpressionBuilder is a callable; an AST node is a plain object.
  if (typeof a === "function") {
    if (b === undefined) throw new TypeError("compileFilter(eb, ast): the AST is missing");
    return filterExpression(a, b);
  }
  return filterExpression(expressionBuilder<Database, "jobs">(), a);
}

function balanced(eb: JobsExpressionBuilder, kind: "and" | "or", parts: Expression<SqlBool>[]): Expression<SqlBool> {
  if (parts.length === 1) return parts[0];
  const mid = parts.length >> 1;
  const left = balanced(eb, kind, parts.slice(0, mid));
  const right = balanced(eb, kind, parts.slice(mid));
  return kind === "and" ? eb.and([left, right]) : eb.or([left, right]);
}

/** `exists (select 1 from job_inputs where job_id = jobs.id and reality_data_id <cond>)`. */
function hasInput(eb: JobsExpressionBuilder, values: string[]): Expression<SqlBool> {
  const sub = eb
    .selectFrom("job_inputs")
    .select(eb.lit(1).as("one"))
    .whereRef("job_inputs.job_id", "=", "jobs.id");
  return eb.exists(
    values.length === 1
      ? sub.where("job_inputs.reality_data_id", "=", values[0])
      : sub.where("job_inputs.reality_data_id", "in", values),
  );
}

function comparison(eb: JobsExpressionBuilder, node: ComparisonNode): Expression<SqlBool> {
  const { property, op, value } = node;
  if (property === "inputId") {
    // The parser admits only eq / ne for inputId, never null.
    const some = hasInput(eb, [value as string]);
    return op === "eq" ? some : eb.not(some);
  }
  if (property === "name") {
    if (value === null) return eb("jobs.name", op === "eq" ? "is" : "is not", null);
    const compared = eb("jobs.name", SQL_OPERATOR[op], value);
    // OData: null ne 'x' is true, every other comparison with a null name is false.
    return op === "ne"
      ? eb.or([eb("jobs.name", "is", null), compared])
      : eb.and([eb("jobs.name", "is not", null), compared]);
  }
  if (value === null) throw new Error(`filter AST compares ${property} with null`);
  return eb(COLUMN[property], SQL_OPERATOR[op], value);
}

function membership(eb: JobsExpressionBuilder, node: InNode): Expression<SqlBool> {
  const { property, values } = node;
  if (property === "inputId") return hasInput(eb, values);
  if (property === "name") return eb.and([eb("jobs.name", "is not", null), eb("jobs.name", "in", values)]);
  return eb(COLUMN[property], "in", values);
}

/**
 * The filter for a page that continues after a cursor, without the top-level `createdDateTime gt/ge`
 * bounds that the cursor already implies (the cursor's job matched the filter, so `(created_at, seq) >
 * cursor` is the tighter bound). An index range has one lower bound: given two, SQLite may start at the
 * filter's and step over every earlier page. A bound the cursor does not imply (a hand-made token) is
 * kept. `dropped` names the operands left out, for statement caches keyed by shape.
 */
export function withoutImpliedLowerBounds(ast: FilterNode, cursorCreatedAt: string): { filter?: FilterNode; dropped: string } {
  const implied = (n: FilterNode) =>
    n.kind === "compare" &&
    n.property === "createdDateTime" &&
    n.value !== null &&
    ((n.op === "gt" && cursorCreatedAt > n.value) || (n.op === "ge" && cursorCreatedAt >= n.value));
  if (ast.kind !== "and") return implied(ast) ? { dropped: "*" } : { filter: ast, dropped: "" };
  const kept: FilterNode[] = [];
  const dropped: number[] = [];
  ast.operands.forEach((o, i) => (implied(o) ? dropped.push(i) : kept.push(o)));
  if (dropped.length === 0) return { filter: ast, dropped: "" };
  return {
    filter: kept.length === 0 ? undefined : kept.length === 1 ? kept[0] : { kind: "and", operands: kept },
    dropped: dropped.join(","),
  };
}
