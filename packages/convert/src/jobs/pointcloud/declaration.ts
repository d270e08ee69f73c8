/** PointCloudConversion and PointCloudOptimization: what they accept and produce. */
import { declareJobType, type OutputDeclaration } from "../../contract/declaration.js";
import { CRS_OPTIONS } from "../../contract/options.js";

/** Reality data types a point-cloud input accepts: `Unstructured` for PTS/XYZ files, which have no registered type. */
export const POINT_CLOUD_INPUT_TYPES = ["LAS", "LAZ", "PLY", "E57", "OPC", "PointCloud", "PNTS", "Unstructured"] as const;

/**
 * The point-cloud output formats and the reality data each becomes. 3D Tiles outputs are `Cesium3DTiles`
 * with `tileset.json` as root, the type viewers (iTwin.js, CesiumJS) open; POD is registered as `PointCloud`;
 * the others as themselves, their root set by the runner (it depends on how many files it writes).
 */
export const POINT_CLOUD_OUTPUTS = {
  OPC: { type: "OPC", description: "Orbit point cloud, streamed by iTwin.js." },
  "3DTilesPnts": { type: "Cesium3DTiles", rootDocument: "tileset.json", description: "3D Tiles 1.0 tileset with .pnts contents." },
  "3DTilesGlbc": { type: "Cesium3DTiles", rootDocument: "tileset.json", description: "3D Tiles 1.1 tileset with compressed GLB point contents." },
  LAS: { type: "LAS", description: "LAS 1.2 or 1.4 file(s)." },
  LAZ: { type: "LAZ", description: "LAZ (LASzip-compressed LAS) file(s)." },
  E57: { type: "E57", description: "ASTM E57 file(s)." },
  COPC: { type: "LAZ", description: "Cloud Optimized Point Cloud (.copc.laz): a LAZ 1.4 file holding an octree, streamed by range requests." },
  POD: { type: "PointCloud", description: "Bentley POD point cloud." },
} as const satisfies Record<string, OutputDeclaration>;

export const pointCloudConversion = declareJobType({
  type: "PointCloudConversion",
  title: "PointCloud Conversion",
  description: "Converts a point cloud, file by file (one output per input file, per E57 scan).",
  input: {
    key: "pointCloud",
    many: false,
    accepts: POINT_CLOUD_INPUT_TYPES,
    description: "Reality data id of the point cloud(s) to convert.",
  },
  options: CRS_OPTIONS,
  outputFormats: POINT_CLOUD_OUTPUTS,
  outputClassification: "Model",
});

export const pointCloudOptimization = declareJobType({
  type: "PointCloudOptimization",
  title: "PointCloud Optimization",
  description: "Merges point clouds (every file of every input) into one, in one CRS.",
  input: {
    key: "pointClouds",
    many: true,
    accepts: POINT_CLOUD_INPUT_TYPES,
    description: "Reality data ids of the point clouds to consolidate.",
  },
  options: CRS_OPTIONS,
  outputFormats: POINT_CLOUD_OUTPUTS,
  outputClassification: "Model",
});
