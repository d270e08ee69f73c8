/**
 * Which iTwins a filter confines its matches to, for access control. The service lists, for
 * `{ kind: "none" }`, only the caller's own jobs AND the filter; for `{ kind: "itwins", ids }`, it
 * checks the caller's membership of every id (404 iTwinNotFound otherwise) and applies the filter alone.
 * So the contract is soundness: whenever the result lists ids, every job the filter can match has its
 * iTwinId among them. (An empty `ids` list means the filter is contradictory, e.g. `iTwinId eq X and
 * iTwinId eq Y`, and can match nothing.)
 */
import type { FilterNode } from "./ast.js";

export type ITwinScope = { kind: "none" } | { kind: "itwins"; ids: string[] };

export function iTwinScope(ast: FilterNode): ITwinScope {
  const ids = bound(ast, false);
  return ids === null ? { kind: "none" } : { kind: "itwins", ids: [...ids] };
}

/**
 * A set S such that (node, or its negation when `negated`) implies iTwinId ∈ S, or null when the
 * node does not restrict the iTwin. Negation is pushed down (De Morgan), so `not (iTwinId ne X)`
 * still counts as `iTwinId eq X`. Recursion depth is the AST depth, which the parser bounds.
 */
function bound(node: FilterNode, negated: boolean): Set<string> | null {
  switch (node.kind) {
    case "compare":
      if (node.property !== "iTwinId" || node.value === null) return null;
      return node.op === (negated ? "ne" : "eq") ? new Set([node.value]) : null;
    case "in":
      return node.property === "iTwinId" && !negated ? new Set(node.values) : null;
    case "not":
      return bound(node.operand, !negated);
    case "and":
    case "or": {
      const conjunction = (node.kind === "and") !== negated;
      let acc: Set<string> | null = null;
      for (const operand of node.operands) {
        const s = bound(operand, negated);
        if (conjunction) {
          // Each restricted operand narrows the set; unrestricted ones do not widen it.
          if (s !== null) acc = acc === null ? s : intersect(acc, s);
        } else {
          // A disjunction is restricted only if every branch is.
          if (s === null) return null;
          acc = acc === null ? s : new Set([...acc, ...s]);
        }
      }
      return acc;
    }
  }
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const id of a) if (b.has(id)) out.add(id);
  return out;
}
