export * from "./runner.js";
export * from "./registry.js";
