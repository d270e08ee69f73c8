/** The mesh codecs and the few point-cloud functions the mesh code uses, from one place. */
export * from "@realconv/formats/mesh";
export { FormatError, looksLikeLas } from "@realconv/formats";
