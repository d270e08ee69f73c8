/** TileMapOptimization: georeferenced images to an XYZ tile pyramid. */
import { declareJobType } from "../../contract/declaration.js";
import { CRS_OPTIONS, option } from "../../contract/options.js";

/** v1 sent -1 for "choose from the data"; it reads as omitted. */
const AUTOMATIC_LEVEL = -1;

export const tileMapOptimization = declareJobType({
  type: "TileMapOptimization",
  title: "TileMap Optimization",
  description: "Mosaics georeferenced images into one XYZ tile pyramid in Web Mercator.",
  input: {
    key: "tileMaps",
    many: true,
    // GeoTIFF rasters have no registered type: `Unstructured`, and the runner checks the files.
    accepts: ["Orthophoto", "OrthophotoDSM", "OMI", "OVF", "OVT", "Unstructured"],
    description: "Reality data ids of the tile maps to consolidate.",
  },
  options: {
    ...CRS_OPTIONS,
    topLevel: option.integer({
      minimum: 0,
      maximum: 30,
      automatic: AUTOMATIC_LEVEL,
      description: "Top (coarsest) level to generate, not beyond bottomLevel (default: where the whole extent fits one tile).",
    }),
    bottomLevel: option.integer({
      minimum: 0,
      maximum: 30,
      automatic: AUTOMATIC_LEVEL,
      description: "Bottom (finest) level to generate (default: from the source resolution).",
    }),
    imageFormat: option.enumeration(["JPG", "PNG"], { default: "JPG", description: "Image format of the tiles." }),
    jpgQuality: option.integer({ minimum: 10, maximum: 99, default: 85, description: "Quality of JPG tiles." }),
    backgroundColor: option.color({
      description: "Colour of nodata and of the area outside the data, #RRGGBB (default: white for JPG, transparent for PNG).",
    }),
  },
  outputFormats: {
    XYZTileMap: {
      // No registered type for tile pyramids: Unstructured, with a TileJSON document as root.
      type: "Unstructured",
      rootDocument: "tilemap.json",
      description: "{z}/{x}/{y} tiles in the Web Mercator grid with a TileJSON 3.0 document.",
    },
  },
  outputClassification: "Imagery",
});
