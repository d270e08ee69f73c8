/**
 * Schema migrations, in order, recorded in `realconv_migrations`. Written with kysely's schema builder
 * so the same steps run on SQLite and PostgreSQL; the few differences are switched on the dialect.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { Dialect } from "./schema.js";

type Step = (db: Kysely<any>, dialect: Dialect) => Promise<void>;

const steps: Step[] = [
  async (db, dialect) => {
    await jobsTable(db, dialect, "jobs").execute();
    await createJobsIndexes(db);

    await db.schema
      .createTable("job_inputs")
      .addColumn("job_id", "text", (c) => c.notNull())
      .addColumn("reality_data_id", "text", (c) => c.notNull())
      .addColumn("input_key", "text", (c) => c.notNull())
      .addColumn("position", "integer", (c) => c.notNull())
      .addPrimaryKeyConstraint("job_inputs_pk", ["job_id", "input_key", "position"])
      .execute();
    await db.schema.createIndex("job_inputs_rd").on("job_inputs").columns(["reality_data_id", "job_id"]).execute();

    await seqColumn(db.schema.createTable("job_messages"), dialect)
      .addColumn("job_id", "text", (c: any) => c.notNull())
      .addColumn("kind", "text", (c: any) => c.notNull())
      .addColumn("code", "text", (c: any) => c.notNull())
      .addColumn("title", "text", (c: any) => c.notNull())
      .addColumn("message", "text", (c: any) => c.notNull())
      .addColumn("params", "text", (c: any) => c.notNull())
      .execute();
    await db.schema.createIndex("job_messages_job").on("job_messages").columns(["job_id", "seq"]).execute();

    await db.schema
      .createTable("itwins")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("itwin_members")
      .addColumn("itwin_id", "text", (c) => c.notNull())
      .addColumn("email", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("itwin_members_pk", ["itwin_id", "email"])
      .execute();
    await db.schema.createIndex("itwin_members_email").on("itwin_members").columns(["email", "itwin_id"]).execute();

    await seqColumn(db.schema.createTable("reality_data"), dialect)
      .addColumn("id", "text", (c: any) => c.notNull().unique())
      .addColumn("itwin_id", "text", (c: any) => c.notNull())
      .addColumn("display_name", "text", (c: any) => c.notNull())
      .addColumn("type", "text", (c: any) => c.notNull())
      .addColumn("classification", "text", (c: any) => c.notNull())
      .addColumn("root_document", "text")
      .addColumn("size_kb", "bigint", (c: any) => c.notNull().defaultTo(0))
      .addColumn("authoring", "integer", (c: any) => c.notNull().defaultTo(0))
      .addColumn("owner_id", "text", (c: any) => c.notNull())
      .addColumn("created_at", "text", (c: any) => c.notNull())
      .addColumn("modified_at", "text", (c: any) => c.notNull())
      .addColumn("last_accessed_at", "text", (c: any) => c.notNull())
      .addColumn("details", "text", (c: any) => c.notNull())
      .execute();
    await db.schema
      .createTable("reality_data_itwins")
      .addColumn("reality_data_id", "text", (c) => c.notNull())
      .addColumn("itwin_id", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("reality_data_itwins_pk", ["reality_data_id", "itwin_id"])
      .execute();
    await db.schema.createIndex("reality_data_itwins_itwin").on("reality_data_itwins").columns(["itwin_id", "reality_data_id"]).execute();
  },
  // Reality Management listing filters: columns for extent and acquisition dates, and a tags table.
  async (db) => {
    for (const col of ["extent_south", "extent_west", "extent_north", "extent_east"]) {
      await db.schema.alterTable("reality_data").addColumn(col, "double precision").execute();
    }
    await db.schema.alterTable("reality_data").addColumn("acquisition_start", "text").execute();
    await db.schema.alterTable("reality_data").addColumn("acquisition_end", "text").execute();
    await db.schema
      .createTable("reality_data_tags")
      .addColumn("reality_data_id", "text", (c) => c.notNull())
      .addColumn("tag", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("reality_data_tags_pk", ["reality_data_id", "tag"])
      .execute();
    await db.schema.createIndex("reality_data_tags_tag").on("reality_data_tags").columns(["tag", "reality_data_id"]).execute();
  },
  // SQLite: each job's wire JSON kept in the row (`wire`, a stored generated column: SQLite writes it
  // with the row whenever the row changes). Listings then read one text column per job instead of
  // building it. SQLite cannot add a stored column to a table, so the jobs table is rebuilt.
  // PostgreSQL gets its column in a later step.
  async (db, dialect) => {
    if (dialect !== "sqlite") return;
    await jobsTable(db, dialect, "jobs_rebuilt")
      .addColumn("wire", "text", (c: any) => c.generatedAlwaysAs(sql.raw(SQLITE_WIRE_JSON)).stored())
      .execute();
    const columns = JOB_COLUMNS.join(", ");
    await sql.raw(`insert into jobs_rebuilt (${columns}) select ${columns} from jobs`).execute(db);
    await db.schema.dropTable("jobs").execute();
    await db.schema.alterTable("jobs_rebuilt").renameTo("jobs").execute();
    await createJobsIndexes(db);
  },
  // The caller's or an iTwin's jobs in creation order with a condition on the state (`state in (...)`,
  // `state ne ...`): with the state in the index, jobs of other states are skipped in the index, without
  // reading their rows.
  async (db) => {
    for (const [name, lead] of [
      ["jobs_user_created", "user_id"],
      ["jobs_itwin_created", "itwin_id"],
    ] as const) {
      await db.schema.dropIndex(name).execute();
      await db.schema.createIndex(name).on("jobs").columns([lead, "created_at", "seq", "state"]).execute();
    }
  },
  // PostgreSQL: the wire JSON kept in the row too, written by a trigger whenever a column it shows
  // changes (a generated column may only use immutable functions, and to_json is not).
  async (db, dialect) => {
    if (dialect !== "postgres") return;
    await sql`alter table jobs add column wire text`.execute(db);
    await sql
      .raw(
        `create or replace function realconv_job_wire() returns trigger language plpgsql as $$
begin
  new.wire := ${postgresWireJson("new")};
  return new;
end $$`,
      )
      .execute(db);
    await sql
      .raw(
        `create trigger jobs_wire before insert or update of ${WIRE_SOURCE_COLUMNS.join(", ")} on jobs
for each row execute function realconv_job_wire()`,
      )
      .execute(db);
    await sql`update jobs set id = id`.execute(db);
  },
  // Jobs in parts: which parts are done, so a restarted job skips them.
  async (db) => {
    await db.schema
      .createTable("job_parts")
      .addColumn("job_id", "text", (c) => c.notNull())
      .addColumn("part_id", "text", (c) => c.notNull())
      .addColumn("manifest", "text", (c) => c.notNull())
      .addColumn("finished_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("job_parts_pk", ["job_id", "part_id"])
      .execute();
  },
  // One-time sign-in codes for the web app, by the SHA-256 of the code (the code itself is never stored).
  async (db) => {
    await db.schema
      .createTable("sign_in_codes")
      .addColumn("code_hash", "text", (c) => c.primaryKey())
      .addColumn("email", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("sign_in_codes_expires").on("sign_in_codes").column("expires_at").execute();
  },
];

/** The columns a job's wire JSON shows. */
const WIRE_SOURCE_COLUMNS = ["id", "name", "type", "state", "itwin_id", "user_id", "created_at", "started_at", "ended_at", "processing_units", "specifications"];

/**
 * A job's wire JSON in PostgreSQL's SQL, over the row `r`: the keys and order of the Job that rowToJob
 * builds (ids, enum values and ISO dates need no escaping; names and user ids, which come from tokens,
 * may). Numbers print as PostgreSQL prints double precision (shortest exact form, as JavaScript does,
 * but `1e-05` where it writes `0.00001`: the same JSON number).
 */
export function postgresWireJson(r: string): string {
  return `'{"id":"' || ${r}.id || '",' || case when ${r}.name is null then '' else '"name":' || to_json(${r}.name)::text || ',' end
  || '"type":"' || ${r}.type || '","state":"' || ${r}.state || '","iTwinId":"' || ${r}.itwin_id || '","userId":' || to_json(${r}.user_id)::text
  || ',"executionInfo":{"createdDateTime":"' || ${r}.created_at || '","startedDateTime":' || coalesce('"' || ${r}.started_at || '"', 'null')
  || ',"endedDateTime":' || coalesce('"' || ${r}.ended_at || '"', 'null') || ',"processingUnits":' || coalesce(${r}.processing_units::text, 'null')
  || '},"specifications":' || ${r}.specifications || '}'`;
}

/** The jobs table as first created (every later step adds to it). */
function jobsTable(db: Kysely<any>, dialect: Dialect, name: string) {
  return seqColumn(db.schema.createTable(name), dialect)
    .addColumn("id", "text", (c: any) => c.notNull().unique())
    .addColumn("name", "text")
    .addColumn("type", "text", (c: any) => c.notNull())
    .addColumn("state", "text", (c: any) => c.notNull())
    .addColumn("itwin_id", "text", (c: any) => c.notNull())
    .addColumn("user_id", "text", (c: any) => c.notNull())
    .addColumn("email", "text", (c: any) => c.notNull())
    .addColumn("created_at", "text", (c: any) => c.notNull())
    .addColumn("started_at", "text")
    .addColumn("ended_at", "text")
    .addColumn("processing_units", "double precision")
    .addColumn("specifications", "text", (c: any) => c.notNull())
    .addColumn("output_id", "text", (c: any) => c.notNull())
    .addColumn("progress", "double precision", (c: any) => c.notNull().defaultTo(0))
    .addColumn("attempts", "integer", (c: any) => c.notNull().defaultTo(0))
    .addColumn("lease_owner", "text")
    .addColumn("lease_expires_at", "text")
    .addColumn("cpu_ms", "double precision", (c: any) => c.notNull().defaultTo(0));
}

const JOB_COLUMNS = [
  "seq",
  "id",
  "name",
  "type",
  "state",
  "itwin_id",
  "user_id",
  "email",
  "created_at",
  "started_at",
  "ended_at",
  "processing_units",
  "specifications",
  "output_id",
  "progress",
  "attempts",
  "lease_owner",
  "lease_expires_at",
  "cpu_ms",
];

/** The insertion-order key: bigserial on PostgreSQL, an autoincrement rowid on SQLite. */
function seqColumn(t: any, dialect: Dialect) {
  return dialect === "postgres"
    ? t.addColumn("seq", "bigserial", (c: any) => c.primaryKey())
    : t.addColumn("seq", "integer", (c: any) => c.primaryKey().autoIncrement());
}

/**
 * Listings page in (created_at, seq) order; these serve the common $filter shapes (the caller's own
 * jobs or an iTwin's, optionally by state, optionally from a date) as one index range.
 */
async function createJobsIndexes(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("jobs_user_created").on("jobs").columns(["user_id", "created_at", "seq"]).execute();
  await db.schema.createIndex("jobs_itwin_created").on("jobs").columns(["itwin_id", "created_at", "seq"]).execute();
  await db.schema.createIndex("jobs_user_state_created").on("jobs").columns(["user_id", "state", "created_at", "seq"]).execute();
  await db.schema.createIndex("jobs_itwin_state_created").on("jobs").columns(["itwin_id", "state", "created_at", "seq"]).execute();
  await db.schema.createIndex("jobs_state_seq").on("jobs").columns(["state", "seq"]).execute();
  await db.schema.createIndex("jobs_created").on("jobs").columns(["created_at", "seq"]).execute();
  await db.schema.createIndex("jobs_name").on("jobs").column("name").execute();
  await db.schema.createIndex("jobs_output").on("jobs").column("output_id").execute();
}

/** A job's wire JSON as SQLite's json_object makes it (same keys and order as the Job `rowToJob` builds). */
export const SQLITE_WIRE_JSON = `case when name is null then json_object('id', id, 'type', type, 'state', state, 'iTwinId', itwin_id, 'userId', user_id,
  'executionInfo', json_object('createdDateTime', created_at, 'startedDateTime', started_at, 'endedDateTime', ended_at, 'processingUnits', processing_units),
  'specifications', json(specifications))
else json_object('id', id, 'name', name, 'type', type, 'state', state, 'iTwinId', itwin_id, 'userId', user_id,
  'executionInfo', json_object('createdDateTime', created_at, 'startedDateTime', started_at, 'endedDateTime', ended_at, 'processingUnits', processing_units),
  'specifications', json(specifications)) end`;

export async function migrate(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  // One connection throughout: PostgreSQL's advisory lock belongs to a session.
  await db.connection().execute(async (conn) => {
    const raw = conn as unknown as Kysely<any>;
    if (dialect === "postgres") {
      // Several processes may start at once against one database: serialise migrations.
      await sql`select pg_advisory_lock(7340001)`.execute(raw);
    }
    try {
      await raw.schema
        .createTable("realconv_migrations")
        .ifNotExists()
        .addColumn("version", "integer", (c) => c.primaryKey())
        .addColumn("applied_at", "text", (c) => c.notNull())
        .execute();
      for (let version = 1; version <= steps.length; version++) {
        await raw.transaction().execute(async (trx) => {
          const done = await trx.selectFrom("realconv_migrations").select("version").where("version", "=", version).executeTakeFirst();
          if (done) return;
          await steps[version - 1](trx, dialect);
          await trx.insertInto("realconv_migrations").values({ version, applied_at: new Date().toISOString() }).execute();
        });
      }
      // Keep the planner's statistics fresh so listings pick the right index.
      if (dialect === "sqlite") {
        await sql`pragma optimize=0x10002`.execute(raw);
        await dropValueSamples(raw);
      }
    } finally {
      if (dialect === "postgres") await sql`select pg_advisory_unlock(7340001)`.execute(raw);
    }
  });
}

/**
 * Keeps SQLite's per-index averages (sqlite_stat1) but not its value samples (sqlite_stat4). With
 * samples, SQLite plans a statement for the values bound to it and prepares it again whenever one is
 * bound anew, which costs more than running a listing; the listing indexes are chosen as well from the
 * averages. `analyze sqlite_schema` makes the connection reload the statistics.
 */
async function dropValueSamples(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from sqlite_master where name = 'sqlite_stat4'`.execute(db);
  if (Number(rows[0]?.n ?? 0) === 0) return;
  await sql`delete from sqlite_stat4`.execute(db);
  await sql`analyze sqlite_schema`.execute(db);
}
