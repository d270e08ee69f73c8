export * from "./runner.js";
export * from "./registry.js";
export * from "./local-io.js";
