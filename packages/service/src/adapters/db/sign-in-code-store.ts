import type { Kysely } from "kysely";
import type { SignInCodeStore, StoredSignInCode } from "../../ports/sign-in-codes.js";
import type { Database } from "./schema.js";

export class SqlSignInCodeStore implements SignInCodeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async save(code: StoredSignInCode): Promise<void> {
    // Expired codes are of no use to anyone: clear them out as new ones come.
    await this.db.deleteFrom("sign_in_codes").where("expires_at", "<=", code.createdAt).execute();
    await this.db
      .insertInto("sign_in_codes")
      .values({ code_hash: code.hash, email: code.email, expires_at: code.expiresAt, created_at: code.createdAt })
      .execute();
  }

  async consume(hash: string, now: string): Promise<string | undefined> {
    // One statement: the row goes with the first caller, so a second (even concurrent) use finds nothing.
    const row = await this.db
      .deleteFrom("sign_in_codes")
      .where("code_hash", "=", hash)
      .where("expires_at", ">", now)
      .returning("email")
      .executeTakeFirst();
    return row?.email;
  }
}
