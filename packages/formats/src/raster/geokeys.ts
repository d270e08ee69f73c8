/**
 * The CRS a GeoTIFF's geokeys describe, as a text `parseCrs` reads: "EPSG:n" when the keys name a code,
 * else a PROJ string built from the user-defined keys (projection code or coordinate transformation with
 * its parameters, datum or ellipsoid, linear unit), else a WKT that GDAL kept in the citation.
 */
import type { EpsgLookup } from "../crs/crs.js";

/** Geokeys by name, as geotiff.js parses them. */
export type GeoKeyDirectory = Readonly<Record<string, unknown>>;

const USER_DEFINED = 32767;

const num = (keys: GeoKeyDirectory, name: string): number | undefined => {
  const v = keys[name];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
};
const code = (keys: GeoKeyDirectory, name: string): number | undefined => {
  const v = num(keys, name);
  return v !== undefined && v > 0 && v !== USER_DEFINED ? v : undefined;
};

/** Datums PROJ knows by name, and ellipsoids by EPSG code. */
const DATUMS: Record<number, string> = { 6326: "+datum=WGS84", 6269: "+datum=NAD83", 6267: "+datum=NAD27", 6258: "+ellps=GRS80 +towgs84=0,0,0", 6322: "+ellps=WGS72" };
const ELLIPSOIDS: Record<number, string> = { 7030: "WGS84", 7019: "GRS80", 7008: "clrk66", 7004: "bessel", 7022: "intl", 7043: "WGS72", 7001: "airy" };
const LINEAR_UNITS: Record<number, string> = { 9001: "+units=m", 9002: "+units=ft", 9003: "+units=us-ft", 9036: "+units=km" };

/** `+proj=` terms of a coordinate transformation code (GeoTIFF 1.1 table 7.28) and its parameters. */
function projectionTerms(keys: GeoKeyDirectory): string | undefined {
  const projection = code(keys, "ProjectionGeoKey");
  if (projection !== undefined) {
    // EPSG UTM conversions: 16001..16060 north, 16101..16160 south.
    if (projection > 16000 && projection <= 16060) return `+proj=utm +zone=${projection - 16000}`;
    if (projection > 16100 && projection <= 16160) return `+proj=utm +zone=${projection - 16100} +south`;
  }
  const ct = num(keys, "ProjCoordTransGeoKey");
  if (ct === undefined) return undefined;
  const p = (name: string, fallback = 0) => num(keys, name) ?? fallback;
  const lat0 = p("ProjNatOriginLatGeoKey", p("ProjFalseOriginLatGeoKey", p("ProjCenterLatGeoKey")));
  const lon0 = p("ProjNatOriginLongGeoKey", p("ProjFalseOriginLongGeoKey", p("ProjCenterLongGeoKey")));
  const x0 = p("ProjFalseEastingGeoKey", p("ProjFalseOriginEastingGeoKey", p("ProjCenterEastingGeoKey")));
  const y0 = p("ProjFalseNorthingGeoKey", p("ProjFalseOriginNorthingGeoKey", p("ProjCenterNorthingGeoKey")));
  const k = p("ProjScaleAtNatOriginGeoKey", p("ProjScaleAtCenterGeoKey", 1));
  const common = `+lat_0=${lat0} +lon_0=${lon0} +x_0=${x0} +y_0=${y0}`;
  const sp = `+lat_1=${p("ProjStdParallel1GeoKey")} +lat_2=${p("ProjStdParallel2GeoKey", p("ProjStdParallel1GeoKey"))}`;
  switch (ct) {
    case 1: return `+proj=tmerc ${common} +k=${k}`;
    case 7: return `+proj=merc +lon_0=${lon0} +k=${k} +x_0=${x0} +y_0=${y0}`;
    case 8: return `+proj=lcc ${sp} ${common}`;
    case 9: return `+proj=lcc +lat_1=${lat0} ${common} +k_0=${k}`;
    case 11: return `+proj=aea ${sp} ${common}`;
    case 12: return `+proj=aeqd ${common}`;
    case 10: return `+proj=laea ${common}`;
    case 14: return `+proj=stere ${common} +k=${k}`;
    // Polar stereographic: the origin latitude is the latitude of true scale, the pole's meridian is lon_0.
    case 15: return `+proj=stere +lat_0=${lat0 >= 0 ? 90 : -90} +lat_ts=${lat0} +lon_0=${p("ProjStraightVertPoleLongGeoKey", lon0)} +k=${k} +x_0=${x0} +y_0=${y0}`;
    case 16: return `+proj=sterea ${common} +k=${k}`;
    case 17: return `+proj=eqc +lat_ts=${lat0} +lon_0=${lon0} +x_0=${x0} +y_0=${y0}`;
    case 3: return `+proj=omerc ${common} +k=${k} +alpha=${p("ProjAzimuthAngleGeoKey")}`;
    case 20: return `+proj=mill +lon_0=${lon0} +x_0=${x0} +y_0=${y0}`;
    case 21: return `+proj=poly ${common}`;
    case 24: return `+proj=sinu +lon_0=${lon0} +x_0=${x0} +y_0=${y0}`;
    default: return undefined;
  }
}

/** Datum/ellipsoid terms of the geographic keys (an EPSG geographic CRS lends its PROJ string's). */
function datumTerms(keys: GeoKeyDirectory, lookup: EpsgLookup): string | undefined {
  const geographic = code(keys, "GeographicTypeGeoKey");
  if (geographic !== undefined) {
    const def = lookup(geographic)?.proj4;
    if (!def) return undefined;
    return def.replace(/\+proj=\S+|\+no_defs|\+type=crs|\+units=\S+/g, "").trim().replace(/\s+/g, " ");
  }
  const datum = code(keys, "GeogGeodeticDatumGeoKey");
  if (datum !== undefined && DATUMS[datum]) return DATUMS[datum];
  const ellipsoid = code(keys, "GeogEllipsoidGeoKey");
  if (ellipsoid !== undefined && ELLIPSOIDS[ellipsoid]) return `+ellps=${ELLIPSOIDS[ellipsoid]}`;
  const a = num(keys, "GeogSemiMajorAxisGeoKey");
  const rf = num(keys, "GeogInvFlatteningGeoKey");
  const b = num(keys, "GeogSemiMinorAxisGeoKey");
  if (a !== undefined && rf !== undefined && rf > 0) return `+a=${a} +rf=${rf}`;
  if (a !== undefined && b !== undefined) return `+a=${a} +b=${b}`;
  return undefined;
}

function linearUnitTerms(keys: GeoKeyDirectory): string {
  const unit = code(keys, "ProjLinearUnitsGeoKey");
  if (unit !== undefined && LINEAR_UNITS[unit]) return LINEAR_UNITS[unit];
  const size = num(keys, "ProjLinearUnitSizeGeoKey");
  return size !== undefined && size > 0 ? `+to_meter=${size}` : "+units=m";
}

/** A WKT GDAL wrote into a citation when the keys could not carry the CRS ("ESRI PE String = PROJCS[...]"). */
function citationWkt(keys: GeoKeyDirectory): string | undefined {
  for (const name of ["GTCitationGeoKey", "PCSCitationGeoKey", "GeogCitationGeoKey"]) {
    const v = keys[name];
    if (typeof v === "string") {
      const m = /ESRI PE String = ((?:PROJCS|GEOGCS)\[.*\])/s.exec(v);
      if (m) return m[1];
    }
  }
  return undefined;
}

export interface GeoKeyCrs {
  /** "EPSG:n", a PROJ string or WKT; undefined when the keys do not say. */
  crs?: string;
  /** Why the keys were not enough, when they were not. */
  problem?: string;
}

/** The CRS of a GeoTIFF's keys. */
export function crsFromGeoKeys(keys: GeoKeyDirectory | null | undefined, lookup: EpsgLookup): GeoKeyCrs {
  if (!keys) return {};
  const model = num(keys, "GTModelTypeGeoKey");
  const wkt = citationWkt(keys);
  if (model === 3) return { problem: "geocentric GeoTIFFs cannot be tiled" };
  if (model === 1 || (model === undefined && keys.ProjectedCSTypeGeoKey !== undefined)) {
    const projected = code(keys, "ProjectedCSTypeGeoKey");
    if (projected !== undefined) return { crs: `EPSG:${projected}` };
    const projection = projectionTerms(keys);
    const datum = datumTerms(keys, lookup);
    if (projection && datum) return { crs: `${projection} ${datum} ${linearUnitTerms(keys)} +no_defs` };
    if (wkt) return { crs: wkt };
    return { problem: `user-defined projected CRS the geokeys do not fully describe (${projection ? "no datum or ellipsoid" : "unsupported projection"})` };
  }
  if (model === 2 || keys.GeographicTypeGeoKey !== undefined) {
    const geographic = code(keys, "GeographicTypeGeoKey");
    if (geographic !== undefined) return { crs: `EPSG:${geographic}` };
    const datum = datumTerms(keys, lookup);
    if (datum) return { crs: `+proj=longlat ${datum} +no_defs` };
    if (wkt) return { crs: wkt };
    return { problem: "user-defined geographic CRS without datum or ellipsoid" };
  }
  return wkt ? { crs: wkt } : {};
}
