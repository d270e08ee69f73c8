/** ContextSceneTiler: a ContextScene's photos, tie points or annotations to 3D Tiles. */
import { declareJobType } from "../../contract/declaration.js";
import { CRS_OPTIONS, option } from "../../contract/options.js";

export const contextSceneTiler = declareJobType({
  type: "ContextSceneTiler",
  title: "Context Scene Tiler",
  description: "Tiles one kind of object of a ContextScene (camera frustums, tie points, annotations) as 3D Tiles.",
  input: { key: "scene", many: false, accepts: ["ContextScene"], description: "ContextScene reality data id to tile." },
  options: {
    // Cameras: the one object every ContextScene made from photos has.
    objectToTile: option.enumeration(["Cameras", "TiePoints", "Annotations"], {
      default: "Cameras",
      description: "Object to tile inside the ContextScene.",
    }),
    // inputCrs: the scene's SRS when it gives none or a wrong one; outputCrs: the CRS of the tie points' tileset.
    ...CRS_OPTIONS,
  },
  output: { type: "Cesium3DTiles", rootDocument: "tileset.json", description: "3D Tiles 1.1 tileset." },
  outputClassification: "Model",
});
