import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { ITwin, ITwinRegistry } from "../../ports/itwins.js";
import type { Database } from "./schema.js";

export class SqlITwinRegistry implements ITwinRegistry {
  constructor(private readonly db: Kysely<Database>) {}

  async create(name: string): Promise<ITwin> {
    const itwin = { id: randomUUID(), name, created_at: new Date().toISOString() };
    await this.db.insertInto("itwins").values(itwin).execute();
    return { id: itwin.id, name, createdDateTime: itwin.created_at };
  }

  async get(id: string): Promise<ITwin | undefined> {
    const r = await this.db.selectFrom("itwins").selectAll().where("id", "=", id.toLowerCase()).executeTakeFirst();
    return r && { id: r.id, name: r.name, createdDateTime: r.created_at };
  }

  async addMember(iTwinId: string, email: string): Promise<void> {
    await this.db
      .insertInto("itwin_members")
      .values({ itwin_id: iTwinId.toLowerCase(), email: email.toLowerCase() })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async removeMember(iTwinId: string, email: string): Promise<void> {
    await this.db.deleteFrom("itwin_members").where("itwin_id", "=", iTwinId.toLowerCase()).where("email", "=", email.toLowerCase()).execute();
  }

  async isMember(iTwinId: string, email: string): Promise<boolean> {
    const r = await this.db
      .selectFrom("itwin_members")
      .select("itwin_id")
      .where("itwin_id", "=", iTwinId.toLowerCase())
      .where("email", "=", email.toLowerCase())
      .executeTakeFirst();
    return r !== undefined;
  }

  async listForMember(email: string): Promise<ITwin[]> {
    const rows = await this.db
      .selectFrom("itwins")
      .innerJoin("itwin_members", "itwin_members.itwin_id", "itwins.id")
      .select(["itwins.id", "itwins.name", "itwins.created_at"])
      .where("itwin_members.email", "=", email.toLowerCase())
      .orderBy("itwins.created_at")
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdDateTime: r.created_at }));
  }
}
