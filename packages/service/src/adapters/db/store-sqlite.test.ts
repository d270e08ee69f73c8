import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { connect, type Db } from "./connect.js";
import { storeSuite } from "./store.suite.js";

const dir = mkdtempSync(join(tmpdir(), "realconv-store-"));
storeSuite("SQLite", {
  open: () => connect({ url: join(dir, "test.sqlite") }),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});

test("SQLite keeps the planner's per-index averages but not its value samples", async () => {
  const home = mkdtempSync(join(tmpdir(), "realconv-stats-"));
  try {
    const url = join(home, "stats.sqlite");
    const first = await connect({ url });
    const jobs = Array.from({ length: 200 }, (_, i) => ({
      id: randomUUID(),
      name: `job ${i}`,
      type: "PointCloudConversion",
      state: i % 3 === 0 ? "Success" : "Queued",
      itwin_id: randomUUID(),
      user_id: "u",
      email: "u@example.com",
      created_at: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(),
      specifications: JSON.stringify({ inputs: { pointCloud: randomUUID() }, output: randomUUID() }),
      output_id: randomUUID(),
      progress: 0,
      attempts: 0,
      cpu_ms: 0,
    }));
    await first.db.insertInto("jobs").values(jobs).execute();
    await sql`analyze`.execute(first.db);
    const count = async (d: Db, table: string) => Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(d.db)).rows[0].n);
    assert.ok((await count(first, "sqlite_stat4")) > 0, "ANALYZE takes samples");
    await first.close();
    // Every connection drops them: with samples, SQLite prepares a cached statement again at each new binding.
    const second = await connect({ url });
    assert.equal(await count(second, "sqlite_stat4"), 0);
    assert.ok((await count(second, "sqlite_stat1")) > 0);
    await second.close();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
