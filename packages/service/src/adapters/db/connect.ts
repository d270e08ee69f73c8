/**
 * One query layer (kysely) over SQLite (embedded default) and PostgreSQL (scale-out).
 */
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import SQLite from "better-sqlite3";
import pg from "pg";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Database, Dialect } from "./schema.js";
import { migrate } from "./migrations.js";


export interface Db {
  db: Kysely<Database>;
  dialect: Dialect;
  /** SQLite only: the connection under kysely, for hot reads that want rows as arrays (`Statement#raw`). */
  sqlite?: SQLite.Database;
  /** PostgreSQL only: the pool under kysely, for hot reads as named statements with results as bytes. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** `postgres://...`, or a file path for SQLite. */
  url: string;
  /** PostgreSQL schema to use (tests isolate themselves in their own). */
  schema?: string;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/**
 * Reuses prepared statements by SQL text. kysely prepares on every query, and preparing costs more
 * than running a typical indexed query; better-sqlite3 statements are safe to reuse (all calls are
 * synchronous). Schema changes invalidate them, so DDL is never cached.
 */
function cacheStatements(database: SQLite.Database, max = 500): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, SQLite.Statement>();
  database.prepare = ((source: string) => {
    if (!/^\s*(select|insert|update|delete|with)\b/i.test(source)) {
      cache.clear();
      return prepare(source);
    }
    let stmt = cache.get(source);
    if (stmt === undefined) {
      stmt = prepare(source);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(source, stmt);
    }
    return stmt;
  }) as typeof database.prepare;
}

export async function connect(options: ConnectOptions): Promise<Db> {
  if (isPostgresUrl(options.url)) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      // Isolated schemas (tests, several deployments in one database).
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
    });
    if (options.schema) {
      const c = await pool.connect();
      try {
        await c.query(`create schema if not exists "${options.schema.replace(/"/g, "")}"`);
      } finally {
        c.release();
      }
    }
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    await migrate(db, "postgres");
    return { db, dialect: "postgres", pool, close: () => db.destroy() };
  }
  if (options.url !== ":memory:") mkdirSync(dirname(options.url), { recursive: true });
  const database = new SQLite(options.url);
  // WAL lets the API and the worker processes read while one writes; busy_timeout rides out brief write locks.
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = NORMAL");
  database.pragma("busy_timeout = 10000");
  database.pragma("foreign_keys = ON");
  cacheStatements(database);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  await migrate(db, "sqlite");
  return { db, dialect: "sqlite", sqlite: database, close: () => db.destroy() };
}
