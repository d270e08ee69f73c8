#!/usr/bin/env node
// Writes packages/sdk/src/wire.ts, the SDK's wire types, from the service's route schemas (run after `tsc -b`;
// `npm run generate:sdk` does both). A service test fails while the committed file differs from this output.
import { writeFileSync } from "node:fs";
import { renderWireTypes } from "../packages/service/dist/http/wire-types.js";

const target = new URL("../packages/sdk/src/wire.ts", import.meta.url);
writeFileSync(target, renderWireTypes());
console.log(`wrote ${target.pathname}`);
