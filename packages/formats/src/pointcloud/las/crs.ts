/**
 * CRS of a LAS/LAZ file from its VLRs: OGC WKT (LASF_Projection 2112) and GeoTIFF keys (34735 directory,
 * 34736 doubles, 34737 ASCII).
 *
 * Precedence rule (real files carry both records and they can disagree):
 *  - LAS 1.4 files whose global encoding has the WKT bit, or whose format is 6..10, must use WKT (the
 *    spec forbids GeoTIFF keys there): the WKT wins.
 *  - Otherwise the GeoTIFF keys win when they name a real EPSG code (ProjectedCSTypeGeoKey 3072, else
 *    GeographicTypeGeoKey 2048; 32767 means user-defined and is not a code); else the WKT is used.
 *  - A record that is the only one present is used.
 * Conflicts go to `warnings`; the CRS value is the WKT text or "EPSG:n".
 */
import { readAscii, GLOBAL_ENCODING_WKT, type LasHeader } from "./header.js";

export interface GeoKeys {
  /** Key id -> value (number, number[] for doubles, or string for ASCII params). */
  keys: Map<number, number | number[] | string>;
}

export const GEOKEY_MODEL_TYPE = 1024;
export const GEOKEY_GEOGRAPHIC_TYPE = 2048;
export const GEOKEY_PROJECTED_CS_TYPE = 3072;
export const GEOKEY_PROJ_LINEAR_UNITS = 3076;
export const GEOKEY_VERTICAL_CS_TYPE = 4096;
const USER_DEFINED = 32767;

export function parseGeoKeys(dir: Uint8Array, doubles?: Uint8Array, ascii?: Uint8Array): GeoKeys | undefined {
  if (dir.byteLength < 8) return undefined;
  const v = new DataView(dir.buffer, dir.byteOffset, dir.byteLength);
  const n = v.getUint16(6, true);
  const dv = doubles && doubles.byteLength >= 8 ? new DataView(doubles.buffer, doubles.byteOffset, doubles.byteLength) : undefined;
  const keys = new Map<number, number | number[] | string>();
  for (let i = 0; i < n && 8 + 8 * i + 8 <= dir.byteLength; i++) {
    const at = 8 + 8 * i;
    const id = v.getUint16(at, true);
    const loc = v.getUint16(at + 2, true);
    const count = v.getUint16(at + 4, true);
    const value = v.getUint16(at + 6, true);
    if (loc === 0) keys.set(id, value);
    else if (loc === 34736 && dv) {
      const vals: number[] = [];
      for (let k = 0; k < count && (value + k) * 8 + 8 <= dv.byteLength; k++) vals.push(dv.getFloat64((value + k) * 8, true));
      keys.set(id, vals.length === 1 ? vals[0] : vals);
    } else if (loc === 34737 && ascii) {
      keys.set(id, readAscii(ascii, value, count).replace(/\|$/, ""));
    }
  }
  return { keys };
}

/** "EPSG:n" from GeoTIFF keys when they name a real EPSG code, else undefined. */
export function epsgFromGeoKeys(g: GeoKeys): string | undefined {
  for (const id of [GEOKEY_PROJECTED_CS_TYPE, GEOKEY_GEOGRAPHIC_TYPE]) {
    const code = g.keys.get(id);
    if (typeof code === "number" && code > 0 && code !== USER_DEFINED) return `EPSG:${code}`;
  }
  return undefined;
}

/** The AUTHORITY["EPSG",n] (WKT1) or ID["EPSG",n] (WKT2) of the outermost WKT element, as "EPSG:n". */
export function epsgFromWkt(wkt: string): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < wkt.length; i++) {
    const c = wkt[i];
    if (inString) {
      if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "[" || c === "(") depth++;
    else if (c === "]" || c === ")") depth--;
    else if (depth === 1 && (c === "A" || c === "I") && (i === 0 || wkt[i - 1] === "," || wkt[i - 1] === " ")) {
      const m = /^(?:AUTHORITY|ID)\[\s*"EPSG"\s*,\s*"?(\d+)"?/i.exec(wkt.slice(i, i + 40));
      if (m) return `EPSG:${m[1]}`;
    }
  }
  return undefined;
}

export interface LasCrsInfo {
  crs: string | undefined;
  wkt?: string;
  geoKeys?: GeoKeys;
  /** Where the chosen CRS came from. */
  source: "wkt" | "geotiff" | "none";
}

function vlrData(h: LasHeader, recordId: number): Uint8Array | undefined {
  return h.vlrs.find((r) => r.userId === "LASF_Projection" && r.recordId === recordId)?.data;
}

export function resolveLasCrs(h: LasHeader, file: string, warnings: string[]): LasCrsInfo {
  const wktBytes = vlrData(h, 2112);
  const wkt = wktBytes && wktBytes.byteLength > 0 ? new TextDecoder().decode(wktBytes).replace(/\0.*$/s, "").trim() : undefined;
  const dir = vlrData(h, 34735);
  const geoKeys = dir ? parseGeoKeys(dir, vlrData(h, 34736), vlrData(h, 34737)) : undefined;
  const geoEpsg = geoKeys ? epsgFromGeoKeys(geoKeys) : undefined;
  const wktMandatory = h.versionMinor >= 4 && ((h.globalEncoding & GLOBAL_ENCODING_WKT) !== 0 || h.pdrf >= 6);

  if (geoKeys && geoEpsg) {
    // A units key next to an EPSG code redefines that code's units; readers honouring the code ignore it.
    const units = geoKeys.keys.get(GEOKEY_PROJ_LINEAR_UNITS);
    const projected = geoKeys.keys.get(GEOKEY_PROJECTED_CS_TYPE);
    if (typeof units === "number" && units !== 9001 && typeof projected === "number" && projected !== USER_DEFINED && !(wkt && wktMandatory)) {
      warnings.push(
        `${file}: GeoTIFF keys give ${geoEpsg} and also a linear-units key (${units}${units === 9002 ? ", foot" : units === 9003 ? ", US survey foot" : ""}) that may contradict it; the EPSG code is used, check the coordinates' units`,
      );
    }
  }

  if (wkt && geoKeys) {
    const wktEpsg = epsgFromWkt(wkt);
    const useWkt = wktMandatory || !geoEpsg;
    if (geoEpsg && geoEpsg !== wktEpsg) {
      warnings.push(
        useWkt
          ? `${file}: the WKT CRS record (${wktEpsg ?? wkt.slice(0, 60)}) and the GeoTIFF keys (${geoEpsg}) disagree; using the WKT (LAS 1.4 with WKT)`
          : `${file}: the GeoTIFF keys (${geoEpsg}) and the WKT CRS record (${wktEpsg ?? wkt.slice(0, 60)}) disagree; using the GeoTIFF keys (LAS before 1.4 WKT rules)`,
      );
    }
    return useWkt ? { crs: wkt, wkt, geoKeys, source: "wkt" } : { crs: geoEpsg, wkt, geoKeys, source: "geotiff" };
  }
  if (wkt) return { crs: wkt, wkt, source: "wkt" };
  if (geoKeys) {
    if (!geoEpsg) warnings.push(`${file}: GeoTIFF keys describe a user-defined CRS without an EPSG code; the CRS is left unknown`);
    return { crs: geoEpsg, geoKeys, source: geoEpsg ? "geotiff" : "none" };
  }
  return { crs: undefined, source: "none" };
}
