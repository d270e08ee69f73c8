/**
 * TileJSON 3.0.0 (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0), the document MapLibre,
 * Leaflet plug-ins, OpenLayers and CesiumJS read to open a tile pyramid.
 */

export interface TileJsonInput {
  name: string;
  description?: string;
  /** Tile URL template, relative to the document ("{z}/{x}/{y}.png"). */
  tiles: string;
  minzoom: number;
  maxzoom: number;
  /** WGS 84 degrees: [west, south, east, north]. */
  bounds: [number, number, number, number];
  attribution?: string;
}

export interface TileJson {
  tilejson: "3.0.0";
  name: string;
  description?: string;
  version: string;
  attribution?: string;
  scheme: "xyz";
  tiles: string[];
  minzoom: number;
  maxzoom: number;
  bounds: [number, number, number, number];
  center: [number, number, number];
}

const round = (v: number) => Math.round(v * 1e8) / 1e8;

/** The TileJSON document; the centre is the middle of the bounds, one level below the top. */
export function tileJson(input: TileJsonInput): TileJson {
  if (!(input.minzoom >= 0 && input.minzoom <= input.maxzoom && input.maxzoom <= 30)) throw new RangeError(`bad zoom range ${input.minzoom}..${input.maxzoom}`);
  const [w, s, e, n] = input.bounds.map(round) as [number, number, number, number];
  if (!(w <= e && s <= n && w >= -180 && e <= 180 && s >= -90 && n <= 90)) throw new RangeError(`bad bounds ${input.bounds.join(",")}`);
  return {
    tilejson: "3.0.0",
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    version: "1.0.0",
    ...(input.attribution ? { attribution: input.attribution } : {}),
    scheme: "xyz",
    tiles: [input.tiles],
    minzoom: input.minzoom,
    maxzoom: input.maxzoom,
    bounds: [w, s, e, n],
    center: [round((w + e) / 2), round((s + n) / 2), Math.min(input.maxzoom, input.minzoom + 1)],
  };
}
