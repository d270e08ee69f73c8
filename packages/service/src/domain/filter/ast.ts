/**
 * The AST of a jobs `$filter` (OData v4 subset). Values are already validated and normalised by the
 * parser, so consumers (SQL compiler, access-control scope) never re-check them:
 * - id, iTwinId, inputId, outputId: lower-case GUID text;
 * - email: lower-case (the column is stored lower-case);
 * - type, state: the canonical spelling from JOB_TYPES / JOB_STATES;
 * - createdDateTime: UTC `YYYY-MM-DDTHH:mm:ss.sssZ`, the exact text form of `jobs.created_at`;
 * - name: the string as written (exact comparison), or null (only with eq / ne).
 * `and` / `or` are n-ary (at least two operands, flattened) so long chains stay shallow.
 */

export const FILTER_PROPERTIES = [
  "id",
  "iTwinId",
  "name",
  "email",
  "type",
  "state",
  "createdDateTime",
  "inputId",
  "outputId",
] as const;
export type FilterProperty = (typeof FILTER_PROPERTIES)[number];

export const COMPARISON_OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge"] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

/** `property op value`. `value` is null only for `name eq null` / `name ne null`. */
export interface ComparisonNode {
  kind: "compare";
  property: FilterProperty;
  op: ComparisonOperator;
  value: string | null;
}

/** `property in (v1, v2, ...)`: at least one value, duplicates removed, never null. */
export interface InNode {
  kind: "in";
  property: FilterProperty;
  values: string[];
}

export interface AndNode {
  kind: "and";
  operands: FilterNode[];
}

export interface OrNode {
  kind: "or";
  operands: FilterNode[];
}

export interface NotNode {
  kind: "not";
  operand: FilterNode;
}

export type FilterNode = ComparisonNode | InNode | AndNode | OrNode | NotNode;
