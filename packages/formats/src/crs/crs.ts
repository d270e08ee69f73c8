/**
 * Coordinate reference systems: parsing of EPSG codes (also compound `EPSG:h+v`), WKT 1/2 and PROJ strings into a
 * horizontal part (handed to proj4) and a vertical part (datum and unit, which proj4 does not model).
 * Pure: EPSG definitions come from an `EpsgLookup` function (see `epsg-definitions.ts` for the offline one).
 */
import proj4 from "proj4";
import type { WktNode } from "./wkt.js";
import { WktSyntaxError, authorityOf, child, descendant, isWktNode, nameOf, parseWkt } from "./wkt.js";

export type CrsErrorCode = "UnknownCrs" | "InvalidCrs" | "VerticalDatumUnsupported" | "TransformFailed";

export class CrsError extends Error {
  constructor(
    readonly code: CrsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "CrsError";
  }
}

/** One EPSG entry as the offline index stores it. */
export interface EpsgDefinition {
  code: string;
  /** e.g. CRS-PROJCRS, CRS-GEOGCRS, CRS-GEOG3DCRS, CRS-GCENCRS, CRS-VERTCRS, CRS-COMPOUNDCRS. */
  kind: string;
  name: string;
  wkt: string | null;
  proj4: string | null;
}

/** Finds the definition of an EPSG code; undefined when unknown. */
export type EpsgLookup = (code: number) => EpsgDefinition | undefined;

export interface HorizontalCrs {
  kind: "geographic" | "projected" | "geocentric";
  /** Text proj4 accepts (a PROJ string or WKT). */
  definition: string;
  name?: string;
  epsg?: number;
  /** WKT when known (EPSG entries, WKT input). */
  wkt?: string;
  /** Metres per unit of x/y (projected, geocentric); 1 for geographic (degrees). */
  unitToMeter: number;
}

export interface VerticalCrs {
  /** Gravity-related heights (a vertical datum such as NAVD88) or heights above the ellipsoid. */
  kind: "gravity" | "ellipsoidal";
  name: string;
  datumName: string;
  /** Authority code of the datum when the definition gives one, e.g. "EPSG:5103". */
  datumAuthority?: string;
  epsg?: number;
  unitToMeter: number;
}

export interface CrsRef {
  /** The text it was parsed from. */
  text: string;
  name?: string;
  horizontal?: HorizontalCrs;
  /** Undefined when the CRS says nothing about heights. */
  vertical?: VerticalCrs;
  /**
   * Metres per unit of z: the vertical unit when there is a vertical CRS, else a PROJ `+vunits`, else the
   * horizontal linear unit for projected CRSs (PROJ's convention when promoting a 2D CRS to 3D), else 1.
   */
  zUnitToMeter: number;
  /** Problems noticed while parsing that did not stop it (e.g. a contradictory unit). */
  warnings: string[];
  /** The whole CRS as WKT when known (WKT input, EPSG entries; `EPSG:h+v` as a WKT1 COMPD_CS), for file writers. */
  wkt?: string;
}

const HORIZONTAL_WKT = ["PROJCS", "GEOGCS", "GEOCCS", "PROJCRS", "PROJECTEDCRS", "GEOGCRS", "GEOGRAPHICCRS", "GEODCRS", "GEODETICCRS", "BOUNDCRS"];
const VERTICAL_WKT = ["VERT_CS", "VERTCS", "VERTCRS", "VERTICALCRS"];
const COMPOUND_WKT = ["COMPD_CS", "COMPOUNDCRS"];
const DATUM_WKT = ["VERT_DATUM", "VDATUM", "VERTICALDATUM", "VRF", "ENSEMBLE"];

/** Linear units by (normalised) name, to catch WKT whose factor contradicts its name. */
const UNIT_BY_NAME: Record<string, number> = {
  metre: 1,
  meter: 1,
  m: 1,
  foot: 0.3048,
  ft: 0.3048,
  internationalfoot: 0.3048,
  footinternational: 0.3048,
  ussurveyfoot: 1200 / 3937,
  footus: 1200 / 3937,
  usft: 1200 / 3937,
  ftus: 1200 / 3937,
};

/** Lower-case letters and digits only: "North_American_Vertical_Datum_1988" = "North American Vertical Datum 1988". */
export const normalise = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * Parses a CRS given as `EPSG:32618`, `epsg:4326`, `32618`, `EPSG:32618+5703` (horizontal + vertical codes),
 * `urn:ogc:def:crs:EPSG::4326`, WKT 1 or 2 (also compound), or a PROJ string (`+proj=...`).
 * Throws CrsError `UnknownCrs` for codes the lookup does not know and `InvalidCrs` for text it cannot read.
 */
export function parseCrs(text: string, lookup: EpsgLookup): CrsRef {
  const t = text.replace(/\0+$/, "").trim();
  const codes = /^(?:(?:EPSG:)?(\d+)(?:\s*\+\s*(?:EPSG:)?(\d+))?|urn:ogc:def:crs:EPSG:[^:]*:(\d+))$/i.exec(t);
  if (codes) return fromCodes(t, Number(codes[1] ?? codes[3]), codes[2] !== undefined ? Number(codes[2]) : undefined, lookup);
  if (t.startsWith("+") || /^proj=/.test(t)) return fromProjString(t);
  if (/^[A-Za-z_]+\s*[[(]/.test(t)) return fromWkt(t);
  throw new CrsError("InvalidCrs", `not a CRS (expected EPSG:n, WKT or a PROJ string): "${clip(t)}"`);
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

function lookupOrThrow(code: number, lookup: EpsgLookup): EpsgDefinition {
  const def = lookup(code);
  if (!def) throw new CrsError("UnknownCrs", `unknown CRS EPSG:${code} (not in the EPSG definitions available offline)`);
  return def;
}

function fromCodes(text: string, hcode: number, vcode: number | undefined, lookup: EpsgLookup): CrsRef {
  const def = lookupOrThrow(hcode, lookup);
  const warnings: string[] = [];
  let ref: CrsRef;
  if (def.kind === "CRS-VERTCRS") {
    if (vcode !== undefined) throw new CrsError("InvalidCrs", `EPSG:${hcode} is a vertical CRS and cannot be the horizontal part of ${text}`);
    const vertical = verticalFromEpsg(def, warnings);
    ref = { text, name: def.name, vertical, zUnitToMeter: vertical.unitToMeter, warnings, wkt: def.wkt ?? undefined };
    return ref;
  }
  const horizontal = horizontalFromEpsg(def);
  let vertical: VerticalCrs | undefined;
  if (def.kind === "CRS-COMPOUNDCRS") {
    if (vcode !== undefined) throw new CrsError("InvalidCrs", `EPSG:${hcode} is already compound; it cannot take the vertical EPSG:${vcode}`);
    const root = def.wkt ? safeParseWkt(def.wkt) : undefined;
    const vnode = root ? child(root, ...VERTICAL_WKT) : undefined;
    if (vnode) vertical = verticalFromWkt(vnode, warnings);
    const hnode = root ? child(root, ...HORIZONTAL_WKT) : undefined;
    const h = hnode ? authorityOf(hnode) : undefined;
    if (h?.startsWith("EPSG:")) horizontal.epsg = Number(h.slice(5));
    if (hnode && def.wkt) horizontal.wkt = def.wkt.slice(hnode.start, hnode.end);
  } else if (def.kind === "CRS-GEOG3DCRS" || def.kind === "CRS-GCENCRS") {
    vertical = ellipsoidal(def.name);
  }
  let wkt = def.wkt ?? undefined;
  if (vcode !== undefined) {
    if (vertical) throw new CrsError("InvalidCrs", `EPSG:${hcode} already has heights; it cannot take the vertical EPSG:${vcode}`);
    const vdef = lookupOrThrow(vcode, lookup);
    if (vdef.kind !== "CRS-VERTCRS") throw new CrsError("InvalidCrs", `EPSG:${vcode} (${vdef.name}) is not a vertical CRS`);
    vertical = verticalFromEpsg(vdef, warnings);
    wkt = def.wkt && vdef.wkt ? `COMPD_CS[${JSON.stringify(`${def.name} + ${vdef.name}`)},${def.wkt},${vdef.wkt}]` : undefined;
  }
  const name = vcode !== undefined && vertical ? `${def.name} + ${vertical.name}` : def.name;
  return { text, name, horizontal, vertical, zUnitToMeter: zUnit(horizontal, vertical), warnings, wkt };
}

function ellipsoidal(name: string): VerticalCrs {
  return { kind: "ellipsoidal", name: `${name} ellipsoidal height`, datumName: "ellipsoid", unitToMeter: 1 };
}

function zUnit(h: HorizontalCrs | undefined, v: VerticalCrs | undefined, vunits?: number): number {
  if (v) return v.unitToMeter;
  if (vunits !== undefined) return vunits;
  if (h && h.kind !== "geographic") return h.unitToMeter;
  return 1;
}

function safeParseWkt(wkt: string): WktNode {
  try {
    return parseWkt(wkt);
  } catch (e) {
    if (e instanceof WktSyntaxError) throw new CrsError("InvalidCrs", `bad WKT: ${e.message}`);
    throw e;
  }
}

/** Builds the proj4 projection for a definition, or throws InvalidCrs. */
export function proj4Of(definition: string): { projName?: string; to_meter?: number } {
  let p: unknown;
  try {
    p = proj4.Proj(definition);
  } catch (e) {
    throw new CrsError("InvalidCrs", `proj4 cannot use this CRS: ${(e as Error).message}: "${clip(definition)}"`);
  }
  const proj = p as { projName?: string; to_meter?: number; forward?: unknown };
  if (!proj || typeof proj.forward !== "function" || !proj.projName) {
    throw new CrsError("InvalidCrs", `proj4 cannot use this CRS: "${clip(definition)}"`);
  }
  return proj;
}

function horizontalOf(definition: string, extra: Partial<HorizontalCrs>): HorizontalCrs {
  const p = proj4Of(definition);
  const kind = p.projName === "longlat" ? "geographic" : p.projName === "geocent" ? "geocentric" : "projected";
  return { kind, definition, unitToMeter: kind === "geographic" ? 1 : (p.to_meter ?? 1), ...extra };
}

function horizontalFromEpsg(def: EpsgDefinition): HorizontalCrs {
  // Vertical units in a compound's PROJ string are ours to handle; proj4 would ignore them anyway.
  const definition = def.proj4 ? def.proj4.replace(/\s*\+vunits=\S+/, "") : def.wkt;
  if (!definition) throw new CrsError("InvalidCrs", `EPSG:${def.code} (${def.name}) has no usable definition`);
  return horizontalOf(definition, { name: def.name, epsg: Number(def.code), wkt: def.wkt ?? undefined });
}

function verticalFromEpsg(def: EpsgDefinition, warnings: string[]): VerticalCrs {
  if (def.wkt) return verticalFromWkt(safeParseWkt(def.wkt), warnings);
  const vunits = def.proj4 ? /\+vunits=(\S+)/.exec(def.proj4)?.[1] : undefined;
  return {
    kind: "gravity",
    name: def.name,
    datumName: def.name,
    epsg: Number(def.code),
    unitToMeter: vunits ? (PROJ_UNITS[vunits] ?? 1) : 1,
  };
}

/** Reads a vertical CRS node: name, datum identity, unit. */
export function verticalFromWkt(node: WktNode, warnings: string[]): VerticalCrs {
  const name = nameOf(node) ?? "unnamed vertical CRS";
  const datumNode = child(node, ...DATUM_WKT) ?? descendant(node, DATUM_WKT);
  const datumName = nameOf(datumNode) ?? name;
  const datumAuthority = authorityOf(datumNode);
  const auth = authorityOf(node);
  const unitNode = child(node, "UNIT", "LENGTHUNIT") ?? descendant(node, ["UNIT", "LENGTHUNIT"], DATUM_WKT);
  let unitToMeter = 1;
  if (unitNode) {
    const factor = typeof unitNode.args[1] === "number" ? unitNode.args[1] : undefined;
    const byName = UNIT_BY_NAME[normalise(nameOf(unitNode) ?? "")];
    if (factor !== undefined && factor > 0) unitToMeter = factor;
    else if (byName !== undefined) unitToMeter = byName;
    if (byName !== undefined && factor !== undefined && Math.abs(byName - factor) > 1e-9 * byName) {
      // Some LAS writers emit UNIT["US survey foot",1.0]: the name is the reliable part.
      warnings.push(`vertical unit "${nameOf(unitNode)}" has factor ${factor}; using ${byName} m for that unit`);
      unitToMeter = byName;
    }
  }
  return {
    kind: "gravity",
    name,
    datumName,
    datumAuthority,
    epsg: auth?.startsWith("EPSG:") ? Number(auth.slice(5)) : undefined,
    unitToMeter,
  };
}

function fromWkt(text: string): CrsRef {
  const root = safeParseWkt(text);
  const warnings: string[] = [];
  let hnode: WktNode | undefined;
  let vnode: WktNode | undefined;
  if (COMPOUND_WKT.includes(root.keyword)) {
    hnode = child(root, ...HORIZONTAL_WKT);
    vnode = child(root, ...VERTICAL_WKT);
  } else if (VERTICAL_WKT.includes(root.keyword)) {
    vnode = root;
  } else if (HORIZONTAL_WKT.includes(root.keyword)) {
    hnode = root;
    if (root.keyword === "BOUNDCRS") {
      const source = child(root, "SOURCECRS");
      const inner = source?.args.find(isWktNode);
      if (inner && COMPOUND_WKT.includes(inner.keyword)) {
        warnings.push("BOUNDCRS around a compound CRS: its transformation to WGS 84 is not used");
        hnode = child(inner, ...HORIZONTAL_WKT);
        vnode = child(inner, ...VERTICAL_WKT);
      }
    }
  } else {
    throw new CrsError("InvalidCrs", `unsupported WKT object ${root.keyword}`);
  }
  let horizontal: HorizontalCrs | undefined;
  let vertical: VerticalCrs | undefined;
  if (hnode) {
    // A vertical CS nested in the horizontal one (seen in LAS files) is split off before proj4 sees the text.
    const nested = vnode ? undefined : child(hnode, ...VERTICAL_WKT);
    let htext = text.slice(hnode.start, hnode.end);
    if (nested && !vnode) {
      vnode = nested;
      const a = nested.start - hnode.start;
      const b = nested.end - hnode.start;
      htext = htext.slice(0, a).replace(/,\s*$/, "") + htext.slice(b);
    }
    const auth = authorityOf(hnode);
    horizontal = horizontalOf(htext, {
      name: nameOf(hnode) ?? undefined,
      epsg: auth?.startsWith("EPSG:") ? Number(auth.slice(5)) : undefined,
      wkt: htext,
    });
    // WKT2 geographic 3D or geocentric CRSs carry ellipsoidal heights.
    const cs = child(hnode, "CS");
    const dims = cs && typeof cs.args[1] === "number" ? cs.args[1] : 2;
    if (horizontal.kind === "geocentric" || (horizontal.kind === "geographic" && dims === 3)) {
      vertical = ellipsoidal(horizontal.name ?? "geodetic");
    }
  }
  if (vnode) vertical = verticalFromWkt(vnode, warnings);
  const name = [horizontal?.name, vnode ? vertical?.name : undefined].filter(Boolean).join(" + ") || nameOf(root);
  return { text, name, horizontal, vertical, zUnitToMeter: zUnit(horizontal, vertical), warnings, wkt: text };
}

const PROJ_UNITS: Record<string, number> = {
  m: 1,
  mm: 0.001,
  cm: 0.01,
  km: 1000,
  ft: 0.3048,
  "us-ft": 1200 / 3937,
  "ind-ft": 0.30479841,
  yd: 0.9144,
  "us-yd": 0.914401828803658,
};

function fromProjString(text: string): CrsRef {
  const warnings: string[] = [];
  const grids = /\+geoidgrids=(\S+)/.exec(text)?.[1];
  const vunitsName = /\+vunits=(\S+)/.exec(text)?.[1];
  const vto = /\+vto_meter=(\S+)/.exec(text)?.[1];
  let vunits: number | undefined;
  if (vunitsName) {
    vunits = PROJ_UNITS[vunitsName];
    if (vunits === undefined) throw new CrsError("InvalidCrs", `unknown +vunits=${vunitsName}`);
  } else if (vto) vunits = Number(vto);
  const definition = text.replace(/\s*\+(geoidgrids|vunits|vto_meter)=\S+/g, "").trim();
  const horizontal = horizontalOf(definition, {});
  let vertical: VerticalCrs | undefined;
  if (grids) {
    vertical = { kind: "gravity", name: `heights from ${grids}`, datumName: `geoid grid ${grids}`, unitToMeter: vunits ?? 1 };
  } else if (horizontal.kind === "geocentric") {
    vertical = ellipsoidal("geocentric");
  }
  return { text, horizontal, vertical, zUnitToMeter: zUnit(horizontal, vertical, vunits), warnings };
}

/** "EPSG:n" of the horizontal part when known (for formats that store a bare code), else undefined. */
export function epsgCodeOf(ref: CrsRef): number | undefined {
  return ref.horizontal?.epsg;
}
