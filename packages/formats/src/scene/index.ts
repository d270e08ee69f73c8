/** `@realconv/formats/scene`: ContextScene documents and camera frustums. */
export * from "./context-scene.js";
export * from "./frustums.js";
