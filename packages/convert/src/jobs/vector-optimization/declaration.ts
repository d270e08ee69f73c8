/** VectorOptimization: vector layers of many formats to one consolidated layer. */
import { declareJobType } from "../../contract/declaration.js";
import { CRS_OPTIONS, option } from "../../contract/options.js";

export const vectorOptimization = declareJobType({
  type: "VectorOptimization",
  title: "Vector Optimization",
  description: "Consolidates vector layers into one, reprojected to one CRS.",
  input: {
    key: "vectors",
    many: true,
    // GeoPackage, FlatGeobuf and zip archives have no registered type: Unstructured (files are recognised by content).
    accepts: ["SHP", "GeoJSON", "KML", "OVF", "OVT", "ContextScene", "Unstructured"],
    description: "Reality data ids of the vectors to consolidate.",
  },
  options: {
    ...CRS_OPTIONS,
    featureClassDisplayName: option.text("Display name of the feature class.", 256),
  },
  outputFormats: {
    GeoJSON: { type: "GeoJSON", description: "One GeoJSON FeatureCollection." },
    // A spatially indexed feature store has no registered type: Unstructured, root set by the runner.
    FeatureDB: { type: "Unstructured", description: "A spatially indexed feature store with a query endpoint." },
  },
  outputClassification: "Model",
});
