import { sql } from "kysely";

/**
 * A LIMIT (or OFFSET) written into the SQL. SQLite plans for a bound LIMIT's value and so prepares a cached
 * statement again each time the parameter is bound, which costs more than running a listing.
 */
export function literal(n: number) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a row count: ${n}`);
  return sql.lit(n);
}

