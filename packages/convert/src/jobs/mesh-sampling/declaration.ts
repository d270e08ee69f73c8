/** MeshSampling: meshes to point clouds at a chosen spacing. */
import { declareJobType } from "../../contract/declaration.js";
import { CRS_OPTIONS, option } from "../../contract/options.js";
import { POINT_CLOUD_OUTPUTS } from "../pointcloud/declaration.js";

export const meshSampling = declareJobType({
  type: "MeshSampling",
  title: "Mesh Sampling",
  description: "Samples meshes into one point cloud, points spread evenly over the surfaces.",
  input: {
    key: "meshes",
    many: true,
    accepts: ["Cesium3DTiles", "RealityMesh3DTiles", "3MX", "OBJ", "PLY", "GLB", "GLTF", "3SM"],
    description: "Reality data ids of the meshes to sample.",
  },
  options: {
    ...CRS_OPTIONS,
    sampling: option.number({ greaterThan: 0, unit: "metres", default: 0.125, description: "Distance between sampled points, in metres." }),
  },
  outputFormats: POINT_CLOUD_OUTPUTS,
  outputClassification: "Model",
});
