/** `@realconv/formats/scene`: ContextScene documents, camera frustums and annotation boxes. */
export * from "./context-scene.js";
export * from "./frustums.js";
export * from "./boxes.js";
export * from "./tie-points.js";
