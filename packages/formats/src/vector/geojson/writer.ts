/**
 * GeoJSON FeatureCollection text, written piece by piece: the opening (with the collection's name and,
 * for a CRS other than WGS 84, the legacy `crs` member GDAL also writes), features in batches, the close.
 */
import type { VectorFeature } from "../feature.js";

export interface CollectionHeader {
  /** Collection name (the member GDAL reads as the layer name). */
  name?: string;
  /** EPSG code of the coordinates when not WGS 84 longitude/latitude; written as a legacy `crs` member. */
  epsg?: number;
  /** Foreign members added to the collection (JSON values). */
  members?: Record<string, unknown>;
}

export function collectionStart(h: CollectionHeader): string {
  let s = '{"type":"FeatureCollection"';
  if (h.name !== undefined) s += `,"name":${JSON.stringify(h.name)}`;
  if (h.epsg !== undefined && h.epsg !== 4326) s += `,"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::${h.epsg}"}}`;
  for (const [k, v] of Object.entries(h.members ?? {})) s += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  return `${s},"features":[\n`;
}

export const COLLECTION_END = "\n]}\n";

/** One feature as GeoJSON text (members in the order type, properties, geometry). */
export function featureText(f: VectorFeature): string {
  return `{"type":"Feature","properties":${JSON.stringify(f.properties)},"geometry":${JSON.stringify(f.geometry)}}`;
}

/** Features as the text between the collection's brackets; `first` says whether none was written before. */
export function featuresText(features: readonly VectorFeature[], first: boolean): string {
  let s = "";
  for (let i = 0; i < features.length; i++) s += (first && i === 0 ? "" : ",\n") + featureText(features[i]);
  return s;
}
