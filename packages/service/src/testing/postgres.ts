/**
 * Test-only: the PostgreSQL these machines run (127.0.0.1:5432, trust auth, database `test`).
 * Each test gets its own schema, dropped afterwards. When PostgreSQL is not reachable, tests say so.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const PG_URL = process.env.REALCONV_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let reachable: Promise<string | undefined> | undefined;

/** Undefined when reachable; else the reason, for `t.skip()` (CI sets REALCONV_REQUIRE_PG=1 to fail instead). */
export function postgresUnavailable(): Promise<string | undefined> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
      await client.query("select 1");
      return undefined;
    } catch (e) {
      const why = `PostgreSQL not reachable at ${PG_URL}: ${e instanceof Error ? e.message : String(e)}`;
      if (process.env.REALCONV_REQUIRE_PG === "1") throw new Error(why);
      return why;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

export function uniqueSchema(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** A database URL whose connections work in a schema of their own (made here); drop it with dropSchema. */
export async function postgresSchemaUrl(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`create schema "${schema}"`);
  } finally {
    await client.end();
  }
  return `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}
