/** The jobs `$filter` language: parse once, then compile to SQL (adapters/db/filter-sql) and derive the iTwin scope. */
export * from "./ast.js";
export { parseFilter, normaliseDateTime, FilterSyntaxError, DEFAULT_MAX_FILTER_LENGTH, DEFAULT_MAX_FILTER_DEPTH } from "./parser.js";
export type { ParseFilterOptions } from "./parser.js";
export { iTwinScope } from "./scope.js";
export type { ITwinScope } from "./scope.js";
