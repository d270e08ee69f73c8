/**
 * JobStore over kysely: the same SQL on SQLite and PostgreSQL. The queue lives in the jobs table:
 * a worker claims a job with a guarded UPDATE (optimistic, no row locks needed) and holds it by a
 * lease it renews; an expired lease means its worker died and the job may be claimed again.
 */
import { createHash } from "node:crypto";
import { CompiledQuery, type Kysely, type Selectable } from "kysely";
import type SQLite from "better-sqlite3";
import type pg from "pg";
import type { Db } from "./connect.js";
import type { Dialect } from "./schema.js";
import { literal } from "./literal.js";
import type { JobMessage, JsonValue } from "@realconv/convert";
import {
  abandonedState,
  cancelledState,
  finishedState,
  isTerminal,
  processingUnitsFromCpuMs,
  transition,
  type FinalOutcome,
  type Job,
  type JobSpecifications,
  type JobState,
  type JobType,
} from "../../domain/job.js";
import type { JobCursor, JobJsonPage, JobPage, JobRepository, ListJobsQuery, NewJob, StoredJob } from "../../ports/job-repository.js";
import type { ClaimedJob, ReapedJob, WorkQueue } from "../../ports/work-queue.js";
import type { Database, JobsTable } from "./schema.js";
import { compileFilter, withoutImpliedLowerBounds } from "./filter-sql.js";
import type { FilterNode } from "../../domain/filter/index.js";

/** The columns a Job on the wire needs (listings read only these). */
const WIRE_COLUMNS = [
  "seq",
  "id",
  "name",
  "type",
  "state",
  "itwin_id",
  "user_id",
  "created_at",
  "started_at",
  "ended_at",
  "processing_units",
  "specifications",
] as const;

type JobRow = Pick<Selectable<JobsTable>, (typeof WIRE_COLUMNS)[number]>;

const WORKER_LOST: JobMessage = {
  code: "WorkerLost",
  title: "Worker lost",
  message: "The worker running this job stopped %1 times without finishing it.",
  params: [],
};

export function rowToJob(row: JobRow): Job {
  const job: Job = {
    id: row.id,
    type: row.type as JobType,
    state: row.state as JobState,
    iTwinId: row.itwin_id,
    userId: row.user_id,
    executionInfo: {
      createdDateTime: row.created_at,
      startedDateTime: row.started_at,
      endedDateTime: row.ended_at,
      processingUnits: row.processing_units === null ? null : Number(row.processing_units),
    },
    specifications: JSON.parse(row.specifications) as JobSpecifications,
  };
  if (row.name !== null) job.name = row.name;
  return job;
}

/**
 * Every job's wire JSON starts so (`{"id":"<uuid>"`), and these bytes occur nowhere else in it: not in a
 * string (quotes are escaped there), and none of its nested objects starts with an "id" key.
 */
const JOB_START = Buffer.from(`{"id":"`);
const CREATED = Buffer.from(`"createdDateTime":"`);

/** The cursor of the job whose wire JSON starts at `at`: its id and creation time, read from the JSON. */
function cursorOf(json: Buffer, at: number): JobCursor {
  const id = json.toString("latin1", at + JOB_START.length, at + JOB_START.length + 36);
  const c = json.indexOf(CREATED, at) + CREATED.length;
  return { id, createdAt: json.toString("latin1", c, c + 24) };
}

/**
 * Stand-ins for a cursor's values in a compiled listing, replaced by identity (objects no filter literal
 * can equal); kysely only carries parameters through.
 */
const CURSOR_PLACEHOLDER = { createdAt: {} as unknown as string, id: {} as unknown as string };

/** Result values as the server sent them (with `binary: true`, the bytes of the binary format). */
const RAW_RESULTS = { getTypeParser: () => (value: string | Buffer) => value };

/** A filter's text form for cache keys, once per parsed filter (the service reuses parsed filters). */
const filterKeys = new WeakMap<FilterNode, string>();
function filterKey(filter: FilterNode): string {
  let key = filterKeys.get(filter);
  if (key === undefined) filterKeys.set(filter, (key = JSON.stringify(filter)));
  return key;
}

/** One row as an array from a shared (cached) statement, which is switched back to objects at once. */
function rawGet(stmt: SQLite.Statement, params: readonly unknown[]): unknown {
  try {
    return stmt.raw(true).get(params);
  } finally {
    stmt.raw(false);
  }
}

export class SqlJobStore implements JobRepository, WorkQueue {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect = "sqlite",
    /** The connection (SQLite) or pool (PostgreSQL) under `db`: listings query it directly. */
    native: Pick<Db, "sqlite" | "pool"> = {},
  ) {
    this.sqlite = native.sqlite;
    this.pool = native.pool;
  }

  private readonly sqlite?: SQLite.Database;
  private readonly pool?: pg.Pool;
  /** SQL texts of the listings PostgreSQL keeps prepared (bounded: shapes come from clients' filters). */
  private readonly named = new Map<string, string>();

  /** Compiled listings by query shape, oldest first (bounded). */
  private readonly listings = new Map<string, { sql: string; parameters: readonly unknown[] }>();

  async create(input: NewJob): Promise<Job> {
    const row = {
      id: input.id,
      name: input.name ?? null,
      type: input.type,
      state: "Queued" as JobState,
      itwin_id: input.iTwinId,
      user_id: input.userId,
      email: input.email.toLowerCase(),
      created_at: input.createdDateTime,
      started_at: null,
      ended_at: null,
      processing_units: null,
      specifications: JSON.stringify(input.specifications),
      output_id: input.specifications.output,
      progress: 0,
      attempts: 0,
      lease_owner: null,
      lease_expires_at: null,
      cpu_ms: 0,
    };
    const inputs = Object.entries(input.specifications.inputs).flatMap(([key, v]) =>
      (Array.isArray(v) ? v : [v]).map((id, position) => ({ job_id: input.id, reality_data_id: id, input_key: key, position })),
    );
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto("jobs").values(row).execute();
      // Batches keep far below both engines' bound-parameter limits.
      for (let i = 0; i < inputs.length; i += 200) {
        await trx.insertInto("job_inputs").values(inputs.slice(i, i + 200)).execute();
      }
    });
    return rowToJob({ ...row, seq: 0 });
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const row = await this.db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    return { job: rowToJob(row), email: row.email, progress: Number(row.progress), attempts: Number(row.attempts) };
  }

  async list(query: ListJobsQuery): Promise<JobPage> {
    const { rows, next } = await this.page(query);
    return { jobs: rows.map(rowToJob), next };
  }

  /**
   * The listing is the API's hottest read: the database concatenates the page's wire JSON itself, so
   * one value comes back, no string or object per job. Each job's wire JSON is kept in its row (`wire`,
   * see migrations). SQLite's group_concat takes the rows in the order the ordered, limited subquery
   * yields them (SQLite runs it as a co-routine); PostgreSQL's string_agg orders explicitly. The store
   * suite checks every page against `list`. One job more than the page is read to know whether another
   * page follows; it is cut off the end, and the cursor is read from the JSON of the job before it.
   */
  async listJson(query: ListJobsQuery): Promise<JobJsonPage> {
    // A listing's SQL depends on its filter, caller, page size and whether it continues a page, not on the
    // cursor's values: it is compiled once per shape (building it costs more than running it), with
    // placeholders where the cursor's values go.
    const after = query.after;
    const bounds = after ? withoutImpliedLowerBounds(query.filter, after.createdAt) : undefined;
    const key = `${filterKey(query.filter)}\n${query.userId ?? ""}\n${query.limit}\n${bounds ? `after ${bounds.dropped}` : ""}`;
    let page = this.listings.get(key);
    if (!page) {
      const ordered = this.ordered(after ? { ...query, filter: bounds!.filter, after: CURSOR_PLACEHOLDER } : query).limit(literal(query.limit + 1));
      if (this.dialect === "sqlite") {
        const compiled = ordered.select("wire").compile();
        page = { sql: `select cast(group_concat(wire, ',') as blob) as json, count(*) as n from (${compiled.sql})`, parameters: compiled.parameters };
      } else {
        const compiled = ordered.select(["wire", "created_at", "seq"]).compile();
        page = { sql: `select string_agg(wire, ',' order by created_at, seq) as json, count(*) as n from (${compiled.sql}) as page`, parameters: compiled.parameters };
      }
      if (this.listings.size >= 1000) this.listings.delete(this.listings.keys().next().value!);
      this.listings.set(key, page);
    }
    const parameters = after ? page.parameters.map((p) => (p === CURSOR_PLACEHOLDER.createdAt ? after.createdAt : p === CURSOR_PLACEHOLDER.id ? after.id : p)) : page.parameters;
    let json: Buffer | null;
    let count: number;
    if (this.sqlite) {
      [json, count] = rawGet(this.sqlite.prepare(page.sql), parameters) as [Buffer | null, number];
    } else if (this.pool) {
      // A named statement is parsed and planned once per connection; the page comes back as bytes (binary
      // results: text is its UTF-8, the count an int8), not decoded into a string and encoded again.
      let name = this.named.get(page.sql);
      if (name === undefined && this.named.size < 100) {
        // Named by the text: every store on a pool agrees on what a name means.
        this.named.set(page.sql, (name = `realconv_${createHash("sha1").update(page.sql).digest("hex").slice(0, 24)}`));
      }
      // `binary` is a per-query option of pg that its type declarations leave out.
      const config: pg.QueryConfig & { binary: true } = { name, text: page.sql, values: [...parameters], binary: true, types: RAW_RESULTS };
      const { rows } = await this.pool.query<{ json: Buffer | null; n: Buffer }>(config);
      json = rows[0].json;
      count = Number(rows[0].n.readBigInt64BE());
    } else {
      const { rows } = await this.db.executeQuery<{ json: string | null; n: string | number }>(CompiledQuery.raw(page.sql, [...parameters]));
      json = rows[0].json === null ? null : Buffer.from(rows[0].json);
      count = Number(rows[0].n);
    }
    if (json === null) return { json: new Uint8Array(0) };
    if (count <= query.limit) return { json };
    const body = json.subarray(0, json.lastIndexOf(JOB_START) - 1);
    return { json: body, next: cursorOf(body, body.lastIndexOf(JOB_START)) };
  }

  private async page(query: ListJobsQuery): Promise<{ rows: JobRow[]; next?: JobCursor }> {
    const filter = query.after ? withoutImpliedLowerBounds(query.filter, query.after.createdAt).filter : query.filter;
    const rows = await this.ordered({ ...query, filter }).select(WIRE_COLUMNS).limit(literal(query.limit + 1)).execute();
    const more = rows.length > query.limit;
    const page = more ? rows.slice(0, query.limit) : rows;
    const last = page[page.length - 1];
    return { rows: page, next: more ? { createdAt: last.created_at, id: last.id } : undefined };
  }

  /** The listing query without its columns and limit: filter (none: all jobs), caller, keyset cursor, order. */
  private ordered(query: Omit<ListJobsQuery, "filter"> & { filter?: FilterNode }) {
    const filter = query.filter;
    let q = filter ? this.db.selectFrom("jobs").where((eb) => compileFilter(eb, filter)) : this.db.selectFrom("jobs");
    if (query.userId !== undefined) q = q.where("user_id", "=", query.userId);
    const after = query.after;
    if (after !== undefined) {
      // Keyset: stable under concurrent inserts, and an index range rather than an offset scan. Jobs
      // created in the same millisecond follow insertion order (seq, found once from the cursor's id).
      // As a row value the pair bounds the (..., created_at, seq) index range itself, so a later page
      // starts at the cursor instead of stepping over the pages before it.
      const seqOfCursor = this.db.selectFrom("jobs").select("seq").where("id", "=", after.id);
      q = q.where((eb) => eb(eb.refTuple("created_at", "seq"), ">", eb.tuple(eb.val(after.createdAt), seqOfCursor)));
    }
    return q.orderBy("created_at", "asc").orderBy("seq", "asc");
  }

  async requestCancel(id: string, now: string): Promise<Job | undefined> {
    for (;;) {
      const row = await this.db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) return undefined;
      const from = row.state as JobState;
      const next = cancelledState(from);
      if (!next) return rowToJob(row); // already terminating or ended
      const ended = isTerminal(next.stored) ? { ended_at: now, processing_units: 0 } : {};
      const r = await this.db
        .updateTable("jobs")
        .set({ state: next.stored, ...ended })
        .where("id", "=", id)
        .where("state", "=", from)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return rowToJob({ ...row, state: next.shown });
      // The state changed meanwhile (a worker claimed the Queued job): decide again.
    }
  }

  async claim(workerId: string, leaseMs: number, maxAttempts: number, now: Date): Promise<ClaimedJob | undefined> {
    const nowIso = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    for (let tries = 0; tries < 20; tries++) {
      const candidate = await this.db
        .selectFrom("jobs")
        .selectAll()
        .where((eb) =>
          eb.or([
            eb("state", "=", "Queued"),
            eb.and([eb("state", "=", "Active"), eb("lease_expires_at", "<", nowIso), eb("attempts", "<", maxAttempts)]),
          ]),
        )
        .orderBy("seq", "asc")
        .limit(literal(1))
        .executeTakeFirst();
      if (!candidate) return undefined;
      const from = candidate.state as JobState;
      const to: JobState = from === "Queued" ? transition(from, "Active") : "Active";
      const r = await this.db
        .updateTable("jobs")
        .set({
          state: to,
          started_at: candidate.started_at ?? nowIso,
          lease_owner: workerId,
          lease_expires_at: until,
          attempts: Number(candidate.attempts) + 1,
        })
        .where("id", "=", candidate.id)
        .where("state", "=", from)
        .where("attempts", "=", candidate.attempts)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) {
        const job = rowToJob({ ...candidate, state: to, started_at: candidate.started_at ?? nowIso });
        return { job, attempts: Number(candidate.attempts) + 1 };
      }
      // Another worker won the race: try the next one.
    }
    return undefined;
  }

  async reap(maxAttempts: number, now: Date): Promise<ReapedJob[]> {
    const nowIso = now.toISOString();
    const dead = await this.db
      .selectFrom("jobs")
      .select(["id", "state", "attempts", "cpu_ms", "output_id"])
      .where("lease_expires_at", "<", nowIso)
      .where((eb) =>
        eb.or([
          eb("state", "in", ["TerminatingOnCancel", "TerminatingOnFailure"]),
          eb.and([eb("state", "=", "Active"), eb("attempts", ">=", maxAttempts)]),
        ]),
      )
      .limit(literal(100))
      .execute();
    const reaped: ReapedJob[] = [];
    for (const row of dead) {
      const from = row.state as JobState;
      const to = abandonedState(from);
      const r = await this.db
        .updateTable("jobs")
        .set({ state: to, ended_at: nowIso, lease_owner: null, lease_expires_at: null, processing_units: processingUnitsFromCpuMs(Number(row.cpu_ms)) })
        .where("id", "=", row.id)
        .where("state", "=", from)
        .where("lease_expires_at", "<", nowIso)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) continue;
      if (from === "Active") await this.addMessages(row.id, "error", [{ ...WORKER_LOST, params: [String(row.attempts)] }]);
      reaped.push({ id: row.id, outputId: row.output_id, state: to });
    }
    return reaped;
  }

  async heartbeat(id: string, workerId: string, leaseMs: number, progress: number, now: Date): Promise<JobState | undefined> {
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const pct = Math.max(0, Math.min(100, progress));
    await this.db
      .updateTable("jobs")
      .set((eb) => ({
        lease_expires_at: until,
        // Monotone: a retried job never shows less than it once did.
        progress: eb.case().when("progress", "<", pct).then(pct).else(eb.ref("progress")).end(),
      }))
      .where("id", "=", id)
      .where("lease_owner", "=", workerId)
      .execute();
    const row = await this.db.selectFrom("jobs").select(["state", "lease_owner"]).where("id", "=", id).executeTakeFirst();
    if (!row || row.lease_owner !== workerId) return undefined;
    return row.state as JobState;
  }

  async addMessages(id: string, kind: "error" | "warning", messages: JobMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.db
      .insertInto("job_messages")
      .values(
        messages.map((m) => ({ job_id: id, kind, code: m.code, title: m.title, message: m.message, params: JSON.stringify(m.params ?? []) })),
      )
      .execute();
  }

  async finish(id: string, workerId: string, outcome: FinalOutcome, cpuMs: number, now: Date): Promise<JobState | undefined> {
    const row = await this.db.selectFrom("jobs").select(["state", "lease_owner", "cpu_ms"]).where("id", "=", id).executeTakeFirst();
    if (!row || row.lease_owner !== workerId) return undefined;
    const from = row.state as JobState;
    const to = finishedState(from, outcome);
    const totalCpu = Number(row.cpu_ms) + cpuMs;
    const r = await this.db
      .updateTable("jobs")
      .set({
        state: to,
        ended_at: now.toISOString(),
        lease_owner: null,
        lease_expires_at: null,
        cpu_ms: totalCpu,
        processing_units: processingUnitsFromCpuMs(totalCpu),
        ...(to === "Success" ? { progress: 100 } : {}),
      })
      .where("id", "=", id)
      .where("state", "=", from)
      .where("lease_owner", "=", workerId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? to : undefined;
  }

  async finishedParts(id: string): Promise<Map<string, JsonValue>> {
    const rows = await this.db.selectFrom("job_parts").select(["part_id", "manifest"]).where("job_id", "=", id).execute();
    return new Map(rows.map((r) => [r.part_id, JSON.parse(r.manifest) as JsonValue]));
  }

  async finishPart(id: string, partId: string, manifest: JsonValue, now: Date): Promise<void> {
    await this.db
      .insertInto("job_parts")
      .values({ job_id: id, part_id: partId, manifest: JSON.stringify(manifest), finished_at: now.toISOString() })
      .onConflict((oc) => oc.columns(["job_id", "part_id"]).doNothing())
      .execute();
  }

  async progress(id: string): Promise<{ state: JobState; percentage: number } | undefined> {
    const row = await this.db.selectFrom("jobs").select(["state", "progress"]).where("id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    return { state: row.state as JobState, percentage: Math.round(Number(row.progress)) };
  }

  async messages(id: string): Promise<{ errors: JobMessage[]; warnings: JobMessage[] } | undefined> {
    const exists = await this.db.selectFrom("jobs").select("id").where("id", "=", id).executeTakeFirst();
    if (!exists) return undefined;
    const rows = await this.db.selectFrom("job_messages").selectAll().where("job_id", "=", id).orderBy("seq", "asc").execute();
    const out = { errors: [] as JobMessage[], warnings: [] as JobMessage[] };
    for (const r of rows) {
      const m: JobMessage = { code: r.code, title: r.title, message: r.message, params: JSON.parse(r.params) as string[] };
      (r.kind === "error" ? out.errors : out.warnings).push(m);
    }
    return out;
  }
}
