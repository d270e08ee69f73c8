import type { Kysely, Selectable } from "kysely";
import type { NewRealityData, RealityData, RealityDataPatch, RealityDataStore } from "../../ports/reality-data.js";
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
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto("reality_data").values(row).execute();
      await trx.insertInto("reality_data_itwins").values({ reality_data_id: data.id, itwin_id: data.iTwinId }).execute();
    });
    return rowToRealityData({ ...row, seq: 0 });
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
    await this.db
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
      })
      .where("id", "=", current.id)
      .execute();
    return { ...next, modifiedDateTime: now };
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("reality_data_itwins").where("reality_data_id", "=", id).execute();
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

  async dissociate(id: string, iTwinId: string): Promise<boolean> {
    const r = await this.db.deleteFrom("reality_data_itwins").where("reality_data_id", "=", id).where("itwin_id", "=", iTwinId).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
