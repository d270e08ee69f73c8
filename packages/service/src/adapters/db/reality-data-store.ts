import { sql, type Kysely, type Selectable } from "kysely";
import { literal } from "./literal.js";
import type { NewRealityData, RealityData, RealityDataPatch, RealityDataQuery, RealityDataStore } from "../../ports/reality-data.js";
import type { Database, RealityDataTable } from "./schema.js";

/** Where embedded containers live, as the API reports it. */
export const DATA_CENTER = "Local";

const DETAIL_KEYS = ["dataset", "group", "description", "attribution", "termsOfUse", "tags", "acquisition", "extent", "crs"] as const;

function rowToRealityData(row: Selectable<RealityDataTable>): RealityData {
  const details = JSON.parse(row.details) as Partial<RealityData>;
  const rd: RealityData = {
    id: row.id,
    displayName: row.display_name,
    ...details,
    size: Number(row.size_kb),
    classification: row.classification,
    type: row.type,
    authoring: Number(row.authoring) === 1,
    dataCenterLocation: DATA_CENTER,
    modifiedDateTime: row.modified_at,
    lastAccessedDateTime: row.last_accessed_at,
    createdDateTime: row.created_at,
    ownerId: row.owner_id,
    iTwinId: row.itwin_id,
  };
  if (row.root_document !== null) rd.rootDocument = row.root_document;
  return rd;
}

/** The columns listings filter on, derived from the documented fields. */
function searchColumns(data: Partial<RealityData>) {
  return {
    extent_south: data.extent?.southWest.latitude ?? null,
    extent_west: data.extent?.southWest.longitude ?? null,
    extent_north: data.extent?.northEast.latitude ?? null,
    extent_east: data.extent?.northEast.longitude ?? null,
    acquisition_start: data.acquisition?.startDateTime ? new Date(data.acquisition.startDateTime).toISOString() : null,
    acquisition_end: data.acquisition?.endDateTime ? new Date(data.acquisition.endDateTime).toISOString() : null,
  };
}

const ORDER_COLUMNS = {
  displayName: "display_name",
  createdDateTime: "created_at",
  modifiedDateTime: "modified_at",
  lastAccessedDateTime: "last_accessed_at",
  size: "size_kb",
  type: "type",
  id: "id",
} as const;

function detailsOf(data: Partial<RealityData>): string {
  const d: Record<string, unknown> = {};
  for (const k of DETAIL_KEYS) if (data[k] !== undefined) d[k] = data[k];
  return JSON.stringify(d);
}

export class SqlRealityDataStore implements RealityDataStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(data: NewRealityData): Promise<RealityData> {
    const row = {
      id: data.id,
      itwin_id: data.iTwinId,
      display_name: data.displayName,
      type: data.type,
      classification: data.classification,
      root_document: data.rootDocument ?? null,
      size_kb: data.size ?? 0,
      authoring: data.authoring ? 1 : 0,
      owner_id: data.ownerId,
      created_at: data.createdDateTime,
      modified_at: data.createdDateTime,
      last_accessed_at: data.createdDateTime,
      details: detailsOf(data),
      ...searchColumns(data),
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto("reality_data").values(row).execute();
      await trx.insertInto("reality_data_itwins").values({ reality_data_id: data.id, itwin_id: data.iTwinId }).execute();
      if (data.tags?.length) await trx.insertInto("reality_data_tags").values(data.tags.map((tag) => ({ reality_data_id: data.id, tag }))).execute();
    });
    return rowToRealityData({ ...row, seq: 0 });
  }

  async list(q: RealityDataQuery): Promise<{ items: RealityData[]; more: boolean }> {
    if (q.iTwinIds.length === 0) return { items: [], more: false };
    let query = this.db
      .selectFrom("reality_data")
      .selectAll()
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("reality_data_itwins")
            .select("reality_data_itwins.itwin_id")
            .whereRef("reality_data_itwins.reality_data_id", "=", "reality_data.id")
            .where("reality_data_itwins.itwin_id", "in", q.iTwinIds),
        ),
      );
    if (q.types?.length) query = query.where("type", "in", q.types);
    if (q.ownerId) query = query.where("owner_id", "=", q.ownerId);
    if (q.search) {
      const like = `%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => "\\" + c)}%`;
      query = query.where((eb) =>
        eb.or([
          eb(eb.fn("lower", ["display_name"]), "like", sql<string>`${like} escape '\\'`),
          eb(eb.fn("lower", ["details"]), "like", sql<string>`${like} escape '\\'`),
        ]),
      );
    }
    if (q.tag) {
      const tag = q.tag.toLowerCase();
      query = query.where((eb) =>
        eb.exists(
          eb.selectFrom("reality_data_tags").select("tag").whereRef("reality_data_tags.reality_data_id", "=", "reality_data.id").where("tag", "=", tag),
        ),
      );
    }
    if (q.extent) {
      const [west, south, east, north] = q.extent;
      query = query
        .where("extent_south", "<=", north)
        .where("extent_north", ">=", south)
        .where("extent_west", "<=", east)
        .where("extent_east", ">=", west);
    }
    const ranges: [keyof RealityDataQuery, "created_at" | "modified_at" | "last_accessed_at" | "acquisition_start"][] = [
      ["createdDateTime", "created_at"],
      ["modifiedDateTime", "modified_at"],
      ["lastAccessedDateTime", "last_accessed_at"],
      ["acquisitionDateTime", "acquisition_start"],
    ];
    for (const [key, column] of ranges) {
      const r = q[key] as [string | undefined, string | undefined] | undefined;
      if (!r) continue;
      if (r[0]) query = query.where(column, ">=", r[0]);
      if (r[1]) query = query.where(column, "<=", r[1]);
    }
    const column = ORDER_COLUMNS[q.orderBy.field];
    const dir = q.orderBy.descending ? "desc" : "asc";
    const rows = await query.orderBy(column, dir).orderBy("seq", dir).offset(literal(q.skip)).limit(literal(q.top + 1)).execute();
    const more = rows.length > q.top;
    return { items: (more ? rows.slice(0, q.top) : rows).map(rowToRealityData), more };
  }

  async get(id: string): Promise<RealityData | undefined> {
    const row = await this.db.selectFrom("reality_data").selectAll().where("id", "=", id.toLowerCase()).executeTakeFirst();
    return row && rowToRealityData(row);
  }

  async getMany(ids: string[]): Promise<RealityData[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom("reality_data").selectAll().where("id", "in", ids).execute();
    return rows.map(rowToRealityData);
  }

  async update(id: string, patch: RealityDataPatch, now: string): Promise<RealityData | undefined> {
    const current = await this.get(id);
    if (!current) return undefined;
    const next = { ...current, ...patch };
    await this.db.transaction().execute(async (trx) => {
      if (patch.tags !== undefined) {
        await trx.deleteFrom("reality_data_tags").where("reality_data_id", "=", current.id).execute();
        if (patch.tags.length) await trx.insertInto("reality_data_tags").values(patch.tags.map((tag) => ({ reality_data_id: current.id, tag }))).execute();
      }
      await trx
      .updateTable("reality_data")
      .set({
        display_name: next.displayName,
        type: next.type,
        classification: next.classification,
        root_document: next.rootDocument ?? null,
        size_kb: next.size,
        authoring: next.authoring ? 1 : 0,
        owner_id: next.ownerId,
        modified_at: now,
        details: detailsOf(next),
        ...searchColumns(next),
      })
      .where("id", "=", current.id)
      .execute();
    });
    return { ...next, modifiedDateTime: now };
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("reality_data_itwins").where("reality_data_id", "=", id).execute();
      await trx.deleteFrom("reality_data_tags").where("reality_data_id", "=", id).execute();
      const r = await trx.deleteFrom("reality_data").where("id", "=", id).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  async iTwins(id: string): Promise<string[]> {
    const rows = await this.db.selectFrom("reality_data_itwins").select("itwin_id").where("reality_data_id", "=", id).execute();
    return rows.map((r) => r.itwin_id);
  }

  async associate(id: string, iTwinId: string): Promise<boolean> {
    const r = await this.db
      .insertInto("reality_data_itwins")
      .values({ reality_data_id: id, itwin_id: iTwinId })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async move(id: string, iTwinId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("reality_data_itwins").where("reality_data_id", "=", id).execute();
      await trx.insertInto("reality_data_itwins").values({ reality_data_id: id, itwin_id: iTwinId }).execute();
      await trx.updateTable("reality_data").set({ itwin_id: iTwinId }).where("id", "=", id).execute();
    });
  }

  async dissociate(id: string, iTwinId: string): Promise<boolean> {
    const r = await this.db.deleteFrom("reality_data_itwins").where("reality_data_id", "=", id).where("itwin_id", "=", iTwinId).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
