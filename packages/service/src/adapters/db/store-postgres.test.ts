import { connect } from "./connect.js";
import { storeSuite } from "./store.suite.js";
import { dropSchema, PG_URL, postgresUnavailable, uniqueSchema } from "../../testing/postgres.js";

const schema = uniqueSchema("store_test");
storeSuite("PostgreSQL", {
  open: async () => (await postgresUnavailable()) ?? connect({ url: PG_URL, schema }),
  cleanup: async () => {
    if (!(await postgresUnavailable())) await dropSchema(schema);
  },
});
