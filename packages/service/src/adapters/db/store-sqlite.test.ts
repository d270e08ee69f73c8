import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "./connect.js";
import { storeSuite } from "./store.suite.js";

const dir = mkdtempSync(join(tmpdir(), "realconv-store-"));
storeSuite("SQLite", {
  open: () => connect({ url: join(dir, "test.sqlite") }),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
