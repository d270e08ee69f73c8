import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import { parseFilter } from "../../domain/filter/parser.js";
import { compileFilter, filterExpression, withoutImpliedLowerBounds } from "./filter-sql.js";
import type { Database } from "./schema.js";

const PG_URL = "postgres://postgres@127.0.0.1:5432/test";

// Fixture ids. The list-jobs samples' literals are real rows here, so the samples select something.
const jid = (n: number) => (n === 12 ? "9e2d27cf-b695-47e9-b7f0-0d47dc3b88ad" : `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`);
const rd = (n: number) =>
  n === 5 ? "482b2968-6a85-4e50-b05c-8acbf828c1bd" : n === 6 ? "14c03448-bea0-4d76-b53b-4b20bd3f4cbc" : `d0000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const out = (n: number) => `e0000000-0000-4000-8000-${String(100 + n).padStart(12, "0")}`;
const A = "a0000000-0000-4000-8000-00000000000a";
const B = "b0000000-0000-4000-8000-00000000000b";
const C = "dc720f05-e5f7-448b-ae06-765de46f0af1";

type Row = [n: number, name: string | null, email: string, type: string, state: string, itwin: string, created: string, inputs: number[]];
const JOBS: Row[] = [
  [1, "Alpha", "alice@example.com", "PointCloudConversion", "Success", A, "2024-06-24T12:00:00.000Z", [1]],
  [2, null, "bob@example.com", "PointCloudOptimization", "Failed", A, "2024-06-24T13:00:00.000Z", [1, 2]],
  [3, "O'Brien", "alice@example.com", "TileMapOptimization", "Queued", B, "2024-06-24T13:00:00.001Z", [3]],
  [4, "beta", "carol@example.com", "VectorOptimization", "Active", B, "2024-06-25T00:00:00.000Z", [2, 4]],
  [5, "Beta", "bob@example.com", "MeshSampling", "Cancelled", C, "2024-07-01T08:30:00.000Z", [5]],
  [6, null, "carol@example.com", "ContextSceneTiler", "TerminatingOnCancel", C, "2023-12-31T23:59:59.999Z", [6]],
  [7, "alpha", "alice@example.com", "PointCloudConversion", "TerminatingOnFailure", A, "2025-01-01T00:00:00.000Z", [7]],
  [8, "Gamma", "dave@example.com", "PointCloudConversion", "Success", B, "2024-06-24T11:00:00.000Z", [1, 8]],
  [9, "", "dave@example.com", "PointCloudOptimization", "Success", C, "2024-06-24T13:30:00.000Z", [9]],
  [10, "Delta job", "alice@example.com", "MeshSampling", "Failed", A, "2024-06-23T00:00:00.000Z", [10]],
  [11, "x", "erin@example.com", "TileMapOptimization", "Active", B, "2024-06-26T00:00:00.000Z", [11, 12]],
  [12, null, "erin@example.com", "VectorOptimization", "Queued", C, "2024-06-24T14:00:00.000Z", [12]],
];
const ALL = JOBS.map((j) => j[0]);
const except = (...ns: number[]) => ALL.filter((n) => !ns.includes(n));

interface Case {
  filter: string;
  expect: number[];
  /** Depends on text collation (mixed case names): checked on SQLite and on C-collated PostgreSQL only. */
  collation?: boolean;
}

const CASES: Case[] = [
  // The list-jobs samples, verbatim.
  { filter: "iTwinId eq dc720f05-e5f7-448b-ae06-765de46f0af1", expect: [5, 6, 9, 12] },
  { filter: "inputId in ('482b2968-6a85-4e50-b05c-8acbf828c1bd', '14c03448-bea0-4d76-b53b-4b20bd3f4cbc')", expect: [5, 6] },
  { filter: "id eq 9e2d27cf-b695-47e9-b7f0-0d47dc3b88ad", expect: [12] },
  { filter: "createdDateTime gt 2024-06-24T13:00:00Z", expect: [3, 4, 5, 7, 9, 11, 12] },
  // iTwinId and id: bare, quoted, upper case, in, ordering.
  { filter: `iTwinId eq ${A}`, expect: [1, 2, 7, 10] },
  { filter: `iTwinId eq '${A.toUpperCase()}'`, expect: [1, 2, 7, 10] },
  { filter: `iTwinId ne ${A}`, expect: except(1, 2, 7, 10) },
  { filter: `iTwinId in ('${A}', ${C.toUpperCase()})`, expect: [1, 2, 5, 6, 7, 9, 10, 12] },
  { filter: `id eq ${jid(3)}`, expect: [3] },
  { filter: `id in (${jid(1)}, '${jid(12).toUpperCase()}')`, expect: [1, 12] },
  { filter: `id gt ${jid(10)}`, expect: [11, 12] },
  { filter: `id le ${jid(2)}`, expect: [1, 2] },
  { filter: `id ge ${jid(11)} and id lt ${jid(12)}`, expect: [11] },
  // name: exact strings, escaped quotes, empty string, null and the OData null semantics.
  { filter: "name eq 'Alpha'", expect: [1] },
  { filter: "name eq 'O''Brien'", expect: [3] },
  { filter: "name eq ''", expect: [9] },
  { filter: "name eq 'x'' or 1=1 --'", expect: [] },
  { filter: "name ne 'Alpha'", expect: except(1) },
  { filter: "name eq null", expect: [2, 6, 12] },
  { filter: "name ne null", expect: except(2, 6, 12) },
  { filter: "name in ('beta', 'Beta', 'nobody')", expect: [4, 5] },
  { filter: "not (name eq 'Alpha')", expect: except(1) },
  { filter: "not (name ne 'Alpha')", expect: [1] },
  { filter: "not not (name eq 'Alpha')", expect: [1] },
  { filter: "not (name eq null)", expect: except(2, 6, 12) },
  { filter: "not (name ne null)", expect: [2, 6, 12] },
  { filter: "not (name in ('beta', 'Beta'))", expect: except(4, 5) },
  { filter: "not (name eq 'Alpha' or name eq 'beta')", expect: except(1, 4) },
  { filter: "not (name ne 'Alpha' and name ne 'beta')", expect: [1, 4] },
  { filter: "name lt 'B'", expect: [1, 9], collation: true },
  { filter: "not (name lt 'B')", expect: except(1, 9), collation: true },
  { filter: "name ge 'a'", expect: [4, 7, 11], collation: true },
  { filter: "name gt 'G' and name le 'Gamma'", expect: [8] },
  // email: lower-case comparison.
  { filter: "email eq 'ALICE@example.com'", expect: [1, 3, 7, 10] },
  { filter: "email ne 'alice@example.com'", expect: except(1, 3, 7, 10) },
  { filter: "email in ('bob@example.com', 'Erin@Example.com')", expect: [2, 5, 11, 12] },
  { filter: "email gt 'd'", expect: [8, 9, 11, 12] },
  // type and state: bare or quoted, any case.
  { filter: "type eq pointcloudconversion", expect: [1, 7, 8] },
  { filter: "type eq 'MeshSampling'", expect: [5, 10] },
  { filter: "type ne PointCloudConversion", expect: except(1, 7, 8) },
  { filter: "type in (VectorOptimization, 'tilemapoptimization')", expect: [3, 4, 11, 12] },
  { filter: "state eq Success", expect: [1, 8, 9] },
  { filter: "STATE EQ 'SUCCESS'", expect: [1, 8, 9] },
  { filter: "state ne success", expect: except(1, 8, 9) },
  { filter: "state in (Queued, Active)", expect: [3, 4, 11, 12] },
  // createdDateTime: every operator, fractions, offsets, quoted.
  { filter: "createdDateTime ge 2024-06-24T13:00:00Z", expect: [2, 3, 4, 5, 7, 9, 11, 12] },
  { filter: "createdDateTime lt 2024-06-24T13:00:00Z", expect: [1, 6, 8, 10] },
  { filter: "createdDateTime le 2024-06-24T13:00:00.001Z", expect: [1, 2, 3, 6, 8, 10] },
  { filter: "createdDateTime eq 2024-06-24T15:00:00.001+02:00", expect: [3] },
  { filter: "createdDateTime eq '2024-06-24T13:00:00.0000000+00:00'", expect: [2] },
  { filter: "createdDateTime gt 2024-06-24T08:00:00-05:00", expect: [3, 4, 5, 7, 9, 11, 12] },
  { filter: "createdDateTime ne 2024-06-24T13:00:00Z", expect: except(2) },
  { filter: "createdDateTime in (2024-06-24T13:00:00Z, '2025-01-01T00:00:00Z')", expect: [2, 7] },
  { filter: "createdDateTime lt 2024-01-01T01:00:00+01:00", expect: [6] },
  {
    filter: "createdDateTime ge 2024-01-01T00:00:00Z and createdDateTime lt 2024-07-01T00:00:00Z",
    expect: [1, 2, 3, 4, 8, 9, 10, 11, 12],
  },
  // outputId and inputId (any input matches; ne means no input matches).
  { filter: `outputId eq ${out(4)}`, expect: [4] },
  { filter: `outputId in (${out(1)}, '${out(12)}')`, expect: [1, 12] },
  { filter: `outputId ne ${out(1)}`, expect: except(1) },
  { filter: `outputId ge ${out(11)}`, expect: [11, 12] },
  { filter: `inputId eq ${rd(1)}`, expect: [1, 2, 8] },
  { filter: `inputId eq '${rd(1).toUpperCase()}'`, expect: [1, 2, 8] },
  { filter: `inputId in ('${rd(2)}', ${rd(12)})`, expect: [2, 4, 11, 12] },
  { filter: `inputId ne ${rd(1)}`, expect: except(1, 2, 8) },
  { filter: `not (inputId eq ${rd(1)})`, expect: except(1, 2, 8) },
  { filter: `inputId eq ${rd(1)} and inputId eq ${rd(2)}`, expect: [2] },
  { filter: `inputId eq ${rd(99)}`, expect: [] },
  // Logic and precedence.
  { filter: `state eq Success or state eq Failed and iTwinId eq ${A}`, expect: [1, 2, 8, 9, 10] },
  { filter: `(state eq Success or state eq Failed) and iTwinId eq ${A}`, expect: [1, 2, 10] },
  { filter: `not state eq Success and iTwinId eq ${A}`, expect: [2, 7, 10] },
  { filter: `not (state eq Success and iTwinId eq ${A})`, expect: except(1) },
  { filter: `iTwinId eq ${A} and (name eq null or name eq 'alpha')`, expect: [2, 7] },
  { filter: `id eq ${jid(1)} and id eq ${jid(2)}`, expect: [] },
  { filter: `id eq ${jid(1)} or id eq ${jid(2)} or id eq ${jid(3)} or id eq ${jid(4)} or id eq ${jid(5)}`, expect: [1, 2, 3, 4, 5] },
  {
    filter: `((type eq MeshSampling or type eq ContextSceneTiler) and not (iTwinId eq ${C})) or (name ne null and inputId in (${rd(9)}, ${rd(11)}))`,
    expect: [9, 10, 11],
  },
];

async function createTables(db: Kysely<Database>, postgres: boolean): Promise<void> {
  await db.schema
    .createTable("jobs")
    .addColumn("seq", postgres ? "serial" : "integer", (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn("id", "text", (c) => c.notNull().unique())
    .addColumn("name", "text")
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("itwin_id", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("started_at", "text")
    .addColumn("ended_at", "text")
    .addColumn("processing_units", "double precision")
    .addColumn("specifications", "text", (c) => c.notNull())
    .addColumn("output_id", "text", (c) => c.notNull())
    .addColumn("progress", "double precision", (c) => c.notNull().defaultTo(0))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("lease_owner", "text")
    .addColumn("lease_expires_at", "text")
    .addColumn("cpu_ms", "double precision", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("job_inputs")
    .addColumn("job_id", "text", (c) => c.notNull())
    .addColumn("reality_data_id", "text", (c) => c.notNull())
    .addColumn("input_key", "text", (c) => c.notNull())
    .addColumn("position", "integer", (c) => c.notNull())
    .execute();
  for (const [n, name, email, type, state, itwin, created, inputs] of JOBS) {
    await db
      .insertInto("jobs")
      .values({
        id: jid(n),
        name,
        type,
        state,
        itwin_id: itwin,
        user_id: "u0000000-0000-4000-8000-000000000001",
        email,
        created_at: created,
        started_at: null,
        ended_at: null,
        processing_units: null,
        specifications: JSON.stringify({ inputs: { pointClouds: inputs.map(rd) }, output: out(n) }),
        output_id: out(n),
        progress: 0,
        attempts: 0,
        lease_owner: null,
        lease_expires_at: null,
        cpu_ms: 0,
      })
      .execute();
    await db
      .insertInto("job_inputs")
      .values(inputs.map((i, position) => ({ job_id: jid(n), reality_data_id: rd(i), input_key: "pointClouds", position })))
      .execute();
  }
}

const toNumbers = (ids: string[]) => ids.map((id) => JOBS.find((j) => jid(j[0]) === id)![0]).sort((a, b) => a - b);

async function runCases(t: TestContext, db: Kysely<Database>, byteOrderCollation: boolean): Promise<void> {
  for (const c of CASES) {
    await t.test(c.filter, async (st) => {
      if (c.collation && !byteOrderCollation) {
        st.skip("the database's default collation is not byte order; mixed-case name ordering differs");
        return;
      }
      const ast = parseFilter(c.filter);
      // Both entry points, which must agree.
      const viaBuilder = await db.selectFrom("jobs").select("id").where((eb) => filterExpression(eb, ast)).execute();
      const standalone = await db.selectFrom("jobs").select("id").where(compileFilter(ast)).execute();
      const expected = [...c.expect].sort((a, b) => a - b);
      assert.deepEqual(toNumbers(viaBuilder.map((r) => r.id)), expected);
      assert.deepEqual(toNumbers(standalone.map((r) => r.id)), expected);
    });
  }

  await t.test("values are bound parameters, never SQL text", () => {
    const ast = parseFilter(`name eq 'x'' or 1=1 --' and iTwinId in (${A}, ${B}) and createdDateTime gt 2024-06-24T13:00:00Z`);
    const q = db.selectFrom("jobs").select("id").where(compileFilter(ast)).compile();
    assert.deepEqual(q.parameters, ["x' or 1=1 --", A, B, "2024-06-24T13:00:00.000Z"]);
    assert.ok(!q.sql.includes("1=1") && !q.sql.includes(A) && !q.sql.includes("2024"), q.sql);
  });

  await t.test("a 10 000-term filter compiles to a shallow expression and runs", async () => {
    const terms = Array.from({ length: 10_000 }, (_, i) => (i === 7_777 ? "name eq 'Gamma'" : `name eq 'n${i}'`));
    const ast = parseFilter(terms.join(" or "), { maxLength: Infinity });
    const rows = await db.selectFrom("jobs").select("id").where(compileFilter(ast)).execute();
    assert.deepEqual(toNumbers(rows.map((r) => r.id)), [8]);
  });
}

test("filter SQL on SQLite (better-sqlite3, in memory)", async (t) => {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(":memory:") }) });
  try {
    await createTables(db, false);
    await runCases(t, db, true);
  } finally {
    await db.destroy();
  }
});

test("filter SQL on PostgreSQL", async (t) => {
  const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 });
  try {
    await probe.connect();
  } catch {
    t.skip("PostgreSQL not reachable at 127.0.0.1:5432 (postgres://postgres@127.0.0.1:5432/test)");
    return;
  }
  const schema = `filter_test_${randomBytes(6).toString("hex")}`;
  let db: Kysely<Database> | undefined;
  try {
    const collation = await probe.query<{ c: string }>("select datcollate as c from pg_database where datname = current_database()");
    const byteOrder = /^(C|POSIX|C\.UTF-?8)$/i.test(collation.rows[0].c);
    await probe.query(`create schema ${schema}`);
    db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: PG_URL, max: 2, connectionTimeoutMillis: 10_000 }),
        onCreateConnection: async (conn) => {
          await conn.executeQuery(CompiledQuery.raw(`set search_path to ${schema}`));
        },
      }),
    });
    await createTables(db, true);
    // The tables really are in the scratch schema (so dropping it cleans everything).
    const where = await sql<{ s: string }>`select table_schema as s from information_schema.tables where table_name = 'jobs' and table_schema = ${schema}`.execute(db);
    assert.equal(where.rows.length, 1);
    await runCases(t, db, byteOrder);
  } finally {
    await db?.destroy();
    await probe.query(`drop schema if exists ${schema} cascade`);
    await probe.end();
  }
});

test("a continuation leaves out only the creation-time lower bounds its cursor implies", () => {
  const t = "2024-06-24T12:00:00.000Z";
  const f = (text: string) => parseFilter(text);
  const later = "2024-06-24T12:00:00.001Z";
  // Implied: gt below the cursor, ge at or below it; anywhere among the top-level and's operands.
  assert.deepEqual(withoutImpliedLowerBounds(f(`iTwinId eq ${A} and createdDateTime gt ${t}`), later), { filter: f(`iTwinId eq ${A}`), dropped: "1" });
  assert.deepEqual(withoutImpliedLowerBounds(f(`createdDateTime ge ${t} and state eq Success and type eq MeshSampling`), t), {
    filter: f("state eq Success and type eq MeshSampling"),
    dropped: "0",
  });
  assert.deepEqual(withoutImpliedLowerBounds(f(`createdDateTime gt ${t}`), later), { dropped: "*" });
  assert.deepEqual(withoutImpliedLowerBounds(f(`createdDateTime gt ${t} and createdDateTime ge ${t}`), later), { filter: undefined, dropped: "0,1" });
  // Kept: a bound the cursor does not pass (a hand-made token), upper bounds, bounds under or / not.
  for (const text of [
    `iTwinId eq ${A} and createdDateTime gt ${later}`,
    `iTwinId eq ${A} and createdDateTime gt ${t}`.replace("gt", "lt"),
    `state eq Success or createdDateTime gt ${t}`,
    `not (createdDateTime le ${t}) and state eq Success`,
  ]) {
    const cursor = text.includes(later) ? t : later;
    assert.deepEqual(withoutImpliedLowerBounds(f(text), cursor), { filter: f(text), dropped: "" }, text);
  }
  assert.deepEqual(withoutImpliedLowerBounds(f(`createdDateTime gt ${t} and state eq Success`), t).dropped, "", "gt at the cursor itself is not implied");
});
