/**
 * The parts of the E57 XML tree the point reader needs: file metadata, scans (data3D), their pose,
 * limits, bounds and the prototype of their CompressedVector of points.
 */
import { child, type XmlElement } from "../../xml/xml.js";

export type E57FieldType = "Float" | "Integer" | "ScaledInteger";

/** One prototype field of a CompressedVector. Integer bounds are raw (unscaled) values. */
export interface E57Field {
  name: string;
  type: E57FieldType;
  /** Float fields only. */
  precision?: "single" | "double";
  minimum: number;
  maximum: number;
  /** ScaledInteger: value = raw * scale + offset (1 and 0 otherwise). */
  scale: number;
  offset: number;
  /** Bits per value in the bitpack codec (0 for a constant Integer, 32/64 for Float). */
  bits: number;
}

/** Rigid transform from a scan's own frame to the file's frame: p' = R(q) p + t. */
export interface E57Pose {
  /** Unit quaternion [w, x, y, z]. */
  rotation: [number, number, number, number];
  translation: [number, number, number];
}

export interface E57ScanInfo {
  index: number;
  name: string | undefined;
  guid: string | undefined;
  description: string | undefined;
  /** recordCount of the points CompressedVector (invalid points included). */
  pointCount: number;
  pose: E57Pose | undefined;
  fields: E57Field[];
  /** [minX, minY, minZ, maxX, maxY, maxZ] in the scan's own frame, when the file says. */
  cartesianBounds: number[] | undefined;
  intensityLimits: [number, number] | undefined;
  colorLimits: { red: [number, number]; green: [number, number]; blue: [number, number] } | undefined;
  /** Physical offset of the CompressedVector binary section. */
  sectionOffset: number;
}

export interface E57Document {
  guid: string | undefined;
  libraryVersion: string | undefined;
  coordinateMetadata: string | undefined;
  scans: E57ScanInfo[];
}

export class E57ModelError extends Error {}

const INT64_MIN = "-9223372036854775808";
const INT64_MAX = "9223372036854775807";

function str(el: XmlElement | undefined): string | undefined {
  if (!el) return undefined;
  return el.text;
}

function parseNum(s: string, what: string): number {
  const v = Number(s.trim());
  if (s.trim() === "" || Number.isNaN(v)) throw new E57ModelError(`${what}: not a number: "${s}"`);
  return v;
}

/** Value of a Float, Integer or ScaledInteger element (an empty element is 0, as the standard says). */
export function numberValue(el: XmlElement | undefined): number | undefined {
  if (!el) return undefined;
  const t = el.text.trim();
  const raw = t === "" ? 0 : parseNum(t, el.name);
  if (el.attrs.type === "ScaledInteger") {
    const scale = el.attrs.scale !== undefined ? parseNum(el.attrs.scale, el.name) : 1;
    const offset = el.attrs.offset !== undefined ? parseNum(el.attrs.offset, el.name) : 0;
    return raw * scale + offset;
  }
  return raw;
}

/** Bits for an integer range, from exact decimal strings (ranges can span all of int64). */
function bitsFor(min: string, max: string, name: string): number {
  let range: bigint;
  try {
    range = BigInt(max.trim()) - BigInt(min.trim());
  } catch {
    throw new E57ModelError(`${name}: integer bounds are not integers ("${min}", "${max}")`);
  }
  if (range < 0n) throw new E57ModelError(`${name}: maximum ${max} is below minimum ${min}`);
  if (range >= 1n << 64n) throw new E57ModelError(`${name}: integer range ${min}..${max} exceeds 64 bits`);
  return range === 0n ? 0 : range.toString(2).length;
}

export function parseField(el: XmlElement): E57Field {
  const type = el.attrs.type;
  const name = el.name;
  if (type === "Float") {
    const precision = el.attrs.precision === "single" ? "single" : "double";
    return {
      name,
      type,
      precision,
      minimum: el.attrs.minimum !== undefined ? parseNum(el.attrs.minimum, name) : -Number.MAX_VALUE,
      maximum: el.attrs.maximum !== undefined ? parseNum(el.attrs.maximum, name) : Number.MAX_VALUE,
      scale: 1,
      offset: 0,
      bits: precision === "single" ? 32 : 64,
    };
  }
  if (type === "Integer" || type === "ScaledInteger") {
    const minS = el.attrs.minimum ?? INT64_MIN;
    const maxS = el.attrs.maximum ?? INT64_MAX;
    const scale = type === "ScaledInteger" && el.attrs.scale !== undefined ? parseNum(el.attrs.scale, name) : 1;
    const offset = type === "ScaledInteger" && el.attrs.offset !== undefined ? parseNum(el.attrs.offset, name) : 0;
    return {
      name,
      type,
      minimum: parseNum(minS, name),
      maximum: parseNum(maxS, name),
      scale,
      offset,
      bits: bitsFor(minS, maxS, name),
    };
  }
  throw new E57ModelError(`prototype field "${name}" has unsupported type "${type ?? "(none)"}"`);
}

function parsePose(el: XmlElement | undefined): E57Pose | undefined {
  if (!el) return undefined;
  const r = child(el, "rotation");
  const t = child(el, "translation");
  const rotation: [number, number, number, number] = r
    ? [
        numberValue(child(r, "w")) ?? 0,
        numberValue(child(r, "x")) ?? 0,
        numberValue(child(r, "y")) ?? 0,
        numberValue(child(r, "z")) ?? 0,
      ]
    : [1, 0, 0, 0];
  const translation: [number, number, number] = t
    ? [numberValue(child(t, "x")) ?? 0, numberValue(child(t, "y")) ?? 0, numberValue(child(t, "z")) ?? 0]
    : [0, 0, 0];
  const norm = Math.hypot(...rotation);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new E57ModelError("pose rotation is not a usable quaternion");
  return { rotation: rotation.map((v) => v / norm) as [number, number, number, number], translation };
}

function limits(el: XmlElement | undefined, min: string, max: string): [number, number] | undefined {
  const a = numberValue(child(el, min));
  const b = numberValue(child(el, max));
  return a === undefined || b === undefined ? undefined : [a, b];
}

export function parseDocument(root: XmlElement): E57Document {
  if (root.name !== "e57Root") throw new E57ModelError(`root element is <${root.name}>, not <e57Root>`);
  const crs = str(child(root, "coordinateMetadata"))?.trim();
  const scans: E57ScanInfo[] = [];
  const data3D = child(root, "data3D");
  for (const sc of data3D?.children ?? []) {
    const index = scans.length;
    const points = child(sc, "points");
    if (!points || points.attrs.type !== "CompressedVector") {
      throw new E57ModelError(`data3D scan ${index} has no points CompressedVector`);
    }
    const proto = child(points, "prototype");
    if (!proto) throw new E57ModelError(`data3D scan ${index} has no prototype`);
    const codecs = child(points, "codecs");
    if (codecs && codecs.children.length > 0) {
      throw new E57ModelError(`data3D scan ${index} uses codecs other than bitpack, which are not supported`);
    }
    const fields = proto.children.map(parseField);
    const cb = child(sc, "cartesianBounds");
    const cartesianBounds = cb
      ? ["xMinimum", "yMinimum", "zMinimum", "xMaximum", "yMaximum", "zMaximum"].map(
          (n) => numberValue(child(cb, n)) ?? NaN,
        )
      : undefined;
    const cl = child(sc, "colorLimits");
    const red = limits(cl, "colorRedMinimum", "colorRedMaximum");
    const green = limits(cl, "colorGreenMinimum", "colorGreenMaximum");
    const blue = limits(cl, "colorBlueMinimum", "colorBlueMaximum");
    const recordCount = parseNum(points.attrs.recordCount ?? "", "recordCount");
    const fileOffset = parseNum(points.attrs.fileOffset ?? "", "fileOffset");
    if (!Number.isSafeInteger(recordCount) || recordCount < 0) throw new E57ModelError("bad recordCount");
    if (!Number.isSafeInteger(fileOffset) || fileOffset < 0) throw new E57ModelError("bad fileOffset");
    scans.push({
      index,
      name: str(child(sc, "name")),
      guid: str(child(sc, "guid")),
      description: str(child(sc, "description")),
      pointCount: recordCount,
      pose: parsePose(child(sc, "pose")),
      fields,
      cartesianBounds,
      intensityLimits: limits(child(sc, "intensityLimits"), "intensityMinimum", "intensityMaximum"),
      colorLimits: red && green && blue ? { red, green, blue } : undefined,
      sectionOffset: fileOffset,
    });
  }
  return {
    guid: str(child(root, "guid")),
    libraryVersion: str(child(root, "e57LibraryVersion")),
    coordinateMetadata: crs ? crs : undefined,
    scans,
  };
}
