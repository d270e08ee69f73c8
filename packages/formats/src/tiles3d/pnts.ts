/**
 * 3D Tiles 1.0 Point Cloud (`.pnts`) writer and reader.
 *
 * Layout written (every section 8-aligned, as the spec requires):
 * ```
 * header (28 B): "pnts", u32 version 1, u32 byteLength, u32 featureTableJSONByteLength,
 *                u32 featureTableBinaryByteLength, u32 batchTableJSONByteLength, u32 batchTableBinaryByteLength
 * feature table JSON (padded with spaces): POINTS_LENGTH, RTC_CENTER,
 *                POSITION (f32 vec3) | POSITION_QUANTIZED (u16 vec3) + QUANTIZED_VOLUME_OFFSET/SCALE, RGB (u8 vec3)
 * feature table binary: positions, then RGB, each starting 8-aligned, zero padded
 * batch table JSON + binary (only with intensity or classification): "Intensity" UNSIGNED_SHORT SCALAR,
 *                "Classification" UNSIGNED_BYTE SCALAR (the names Cesium ion and CesiumJS styles use)
 * ```
 * Quantised positions: `POSITION = q * QUANTIZED_VOLUME_SCALE / 65535 + QUANTIZED_VOLUME_OFFSET`, relative to
 * RTC_CENTER like float positions. The reader checks the layout strictly (it serves the tileset checker).
 */
import { FormatError } from "../io/byte-source.js";
import { checkContent, pad8, paddedJson, positionBounds, quantisationFits, type PointTileContent } from "./content.js";

export const PNTS_HEADER_LENGTH = 28;
export const PNTS_INTENSITY = "Intensity";
export const PNTS_CLASSIFICATION = "Classification";

export function encodePnts(c: PointTileContent): Uint8Array {
  checkContent(c);
  const n = c.count;
  const { min, max } = positionBounds(c.positions, n);
  const quantised = quantisationFits(c, min, max);

  const featureJson: Record<string, unknown> = { POINTS_LENGTH: n, RTC_CENTER: [...c.rtcCenter] };
  let positionBytes: Uint8Array;
  if (quantised) {
    const scale = [0, 1, 2].map((a) => max[a] - min[a]);
    const q = new Uint16Array(3 * n);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < 3; a++) {
        const s = scale[a];
        q[3 * i + a] = s > 0 ? Math.round(((c.positions[3 * i + a] - min[a]) / s) * 65535) : 0;
      }
    }
    featureJson.POSITION_QUANTIZED = { byteOffset: 0 };
    featureJson.QUANTIZED_VOLUME_OFFSET = min;
    featureJson.QUANTIZED_VOLUME_SCALE = scale;
    positionBytes = new Uint8Array(q.buffer);
  } else {
    featureJson.POSITION = { byteOffset: 0 };
    positionBytes = new Uint8Array(c.positions.buffer, c.positions.byteOffset, 12 * n);
  }
  const featureParts: Array<[number, Uint8Array]> = [[0, positionBytes]];
  let featureBinaryLength = pad8(positionBytes.byteLength);
  if (c.rgb) {
    featureJson.RGB = { byteOffset: featureBinaryLength };
    featureParts.push([featureBinaryLength, c.rgb]);
    featureBinaryLength = pad8(featureBinaryLength + c.rgb.byteLength);
  }

  const batchJson: Record<string, unknown> = {};
  const batchParts: Array<[number, Uint8Array]> = [];
  let batchBinaryLength = 0;
  if (c.intensity) {
    batchJson[PNTS_INTENSITY] = { byteOffset: batchBinaryLength, componentType: "UNSIGNED_SHORT", type: "SCALAR" };
    batchParts.push([batchBinaryLength, new Uint8Array(c.intensity.buffer, c.intensity.byteOffset, 2 * n)]);
    batchBinaryLength = pad8(batchBinaryLength + 2 * n);
  }
  if (c.classification) {
    batchJson[PNTS_CLASSIFICATION] = { byteOffset: batchBinaryLength, componentType: "UNSIGNED_BYTE", type: "SCALAR" };
    batchParts.push([batchBinaryLength, c.classification]);
    batchBinaryLength = pad8(batchBinaryLength + n);
  }

  const featureJsonBytes = paddedJson(featureJson, PNTS_HEADER_LENGTH);
  const featureBinaryStart = PNTS_HEADER_LENGTH + featureJsonBytes.byteLength;
  const batchJsonStart = featureBinaryStart + featureBinaryLength;
  const batchJsonBytes = batchParts.length > 0 ? paddedJson(batchJson, batchJsonStart) : new Uint8Array(0);
  const batchBinaryStart = batchJsonStart + batchJsonBytes.byteLength;
  const byteLength = batchBinaryStart + batchBinaryLength;

  const out = new Uint8Array(byteLength);
  const view = new DataView(out.buffer);
  out.set([0x70, 0x6e, 0x74, 0x73], 0); // "pnts"
  view.setUint32(4, 1, true);
  view.setUint32(8, byteLength, true);
  view.setUint32(12, featureJsonBytes.byteLength, true);
  view.setUint32(16, featureBinaryLength, true);
  view.setUint32(20, batchJsonBytes.byteLength, true);
  view.setUint32(24, batchBinaryLength, true);
  out.set(featureJsonBytes, PNTS_HEADER_LENGTH);
  for (const [offset, bytes] of featureParts) out.set(bytes, featureBinaryStart + offset);
  out.set(batchJsonBytes, batchJsonStart);
  for (const [offset, bytes] of batchParts) out.set(bytes, batchBinaryStart + offset);
  return out;
}

export interface DecodedPnts extends PointTileContent {
  quantised: boolean;
  /** Every batch table property (SCALAR..VEC4 binary properties), by name. */
  batchProperties: Record<string, ArrayLike<number>>;
}

const COMPONENT_TYPES: Record<string, { size: number; read: (buffer: ArrayBuffer, offset: number, length: number) => ArrayLike<number> }> = {
  BYTE: { size: 1, read: (b, o, l) => new Int8Array(b, o, l) },
  UNSIGNED_BYTE: { size: 1, read: (b, o, l) => new Uint8Array(b, o, l) },
  SHORT: { size: 2, read: (b, o, l) => new Int16Array(b, o, l) },
  UNSIGNED_SHORT: { size: 2, read: (b, o, l) => new Uint16Array(b, o, l) },
  INT: { size: 4, read: (b, o, l) => new Int32Array(b, o, l) },
  UNSIGNED_INT: { size: 4, read: (b, o, l) => new Uint32Array(b, o, l) },
  FLOAT: { size: 4, read: (b, o, l) => new Float32Array(b, o, l) },
  DOUBLE: { size: 8, read: (b, o, l) => new Float64Array(b, o, l) },
};
const TYPE_SIZES: Record<string, number> = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 };

/**
 * Reads a `.pnts`, checking the header, the lengths and the 8-byte alignments exactly; throws a FormatError
 * naming `file` and the byte at fault.
 */
export function decodePnts(bytes: Uint8Array, file = "tile.pnts"): DecodedPnts {
  const fail = (message: string, offset: number): never => {
    throw new FormatError(message, file, offset);
  };
  if (bytes.byteLength < PNTS_HEADER_LENGTH) fail(`.pnts is ${bytes.byteLength} bytes, shorter than its 28-byte header`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "pnts") fail(`magic is "${magic}", expected "pnts"`, 0);
  const version = view.getUint32(4, true);
  if (version !== 1) fail(`version is ${version}, expected 1`, 4);
  const byteLength = view.getUint32(8, true);
  if (byteLength !== bytes.byteLength) fail(`header byteLength ${byteLength} differs from the file's ${bytes.byteLength} bytes`, 8);
  if (byteLength % 8 !== 0) fail(`byteLength ${byteLength} is not a multiple of 8`, 8);
  const ftJsonLength = view.getUint32(12, true);
  const ftBinaryLength = view.getUint32(16, true);
  const btJsonLength = view.getUint32(20, true);
  const btBinaryLength = view.getUint32(24, true);
  const ftBinaryStart = PNTS_HEADER_LENGTH + ftJsonLength;
  const btJsonStart = ftBinaryStart + ftBinaryLength;
  const btBinaryStart = btJsonStart + btJsonLength;
  if (btBinaryStart + btBinaryLength !== byteLength) fail(`section lengths add up to ${btBinaryStart + btBinaryLength} bytes, header says ${byteLength}`, 12);
  if (ftBinaryStart % 8 !== 0) fail(`feature table binary starts at ${ftBinaryStart}, not 8-aligned (JSON padding)`, 12);
  if (ftBinaryLength % 8 !== 0) fail(`feature table binary length ${ftBinaryLength} is not a multiple of 8`, 16);
  if (btBinaryStart % 8 !== 0) fail(`batch table binary starts at ${btBinaryStart}, not 8-aligned (JSON padding)`, 20);
  if (btBinaryLength % 8 !== 0) fail(`batch table binary length ${btBinaryLength} is not a multiple of 8`, 24);
  if (btJsonLength === 0 && btBinaryLength !== 0) fail(`batch table binary without batch table JSON`, 24);

  const parseJson = (start: number, length: number, what: string): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + length)));
      if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${what} JSON is not an object`, start);
      return value as Record<string, unknown>;
    } catch (e) {
      if (e instanceof FormatError) throw e;
      return fail(`${what} JSON does not parse: ${(e as Error).message}`, start);
    }
  };
  const ft = parseJson(PNTS_HEADER_LENGTH, ftJsonLength, "feature table");
  // Copy the binary so typed views are aligned whatever the caller's buffer offset.
  const ftBinary = bytes.slice(ftBinaryStart, ftBinaryStart + ftBinaryLength).buffer;
  const count = ft.POINTS_LENGTH;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) return fail(`POINTS_LENGTH ${String(count)} is not a non-negative integer`, PNTS_HEADER_LENGTH);

  const binaryProperty = (name: string, componentSize: number, elementBytes: number): number | undefined => {
    const ref = ft[name] as { byteOffset?: unknown } | undefined;
    if (ref === undefined) return undefined;
    const offset = ref.byteOffset;
    if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) return fail(`${name}.byteOffset ${String(offset)} is not a non-negative integer`, PNTS_HEADER_LENGTH);
    if (offset % componentSize !== 0) fail(`${name}.byteOffset ${offset} is not aligned to its ${componentSize}-byte components`, ftBinaryStart + offset);
    if (offset + elementBytes * count > ftBinaryLength) fail(`${name} (${elementBytes * count} bytes at ${offset}) runs past the feature table binary (${ftBinaryLength} bytes)`, ftBinaryStart + offset);
    return offset;
  };
  const vec3 = (name: string): [number, number, number] | undefined => {
    const v = ft[name];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) return fail(`${name} is not an array of 3 numbers`, PNTS_HEADER_LENGTH);
    return v as [number, number, number];
  };

  const rtcCenter = vec3("RTC_CENTER") ?? [0, 0, 0];
  const positions = new Float32Array(3 * count);
  let quantised = false;
  const positionOffset = binaryProperty("POSITION", 4, 12);
  if (positionOffset !== undefined) {
    positions.set(new Float32Array(ftBinary, positionOffset, 3 * count));
  } else {
    const qOffset = binaryProperty("POSITION_QUANTIZED", 2, 6);
    if (qOffset === undefined) return fail(`feature table has neither POSITION nor POSITION_QUANTIZED`, PNTS_HEADER_LENGTH);
    const offset = vec3("QUANTIZED_VOLUME_OFFSET");
    const scale = vec3("QUANTIZED_VOLUME_SCALE");
    if (!offset || !scale) return fail(`POSITION_QUANTIZED without QUANTIZED_VOLUME_OFFSET and QUANTIZED_VOLUME_SCALE`, PNTS_HEADER_LENGTH);
    const q = new Uint16Array(ftBinary, qOffset, 3 * count);
    for (let i = 0; i < 3 * count; i++) positions[i] = (q[i] * scale[i % 3]) / 65535 + offset[i % 3];
    quantised = true;
  }

  let rgb: Uint8Array | undefined;
  const rgbOffset = binaryProperty("RGB", 1, 3);
  const rgbaOffset = binaryProperty("RGBA", 1, 4);
  const rgb565Offset = binaryProperty("RGB565", 2, 2);
  if (rgbOffset !== undefined) rgb = new Uint8Array(ftBinary, rgbOffset, 3 * count).slice();
  else if (rgbaOffset !== undefined) {
    const rgba = new Uint8Array(ftBinary, rgbaOffset, 4 * count);
    rgb = new Uint8Array(3 * count);
    for (let i = 0; i < count; i++) rgb.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  } else if (rgb565Offset !== undefined) {
    const packed = new Uint16Array(ftBinary, rgb565Offset, count);
    rgb = new Uint8Array(3 * count);
    for (let i = 0; i < count; i++) {
      const p = packed[i];
      rgb[3 * i] = Math.round((((p >> 11) & 31) * 255) / 31);
      rgb[3 * i + 1] = Math.round((((p >> 5) & 63) * 255) / 63);
      rgb[3 * i + 2] = Math.round(((p & 31) * 255) / 31);
    }
  }

  const batchProperties: Record<string, ArrayLike<number>> = {};
  if (btJsonLength > 0) {
    const bt = parseJson(btJsonStart, btJsonLength, "batch table");
    const btBinary = bytes.slice(btBinaryStart, btBinaryStart + btBinaryLength).buffer;
    for (const [name, value] of Object.entries(bt)) {
      const ref = value as { byteOffset?: unknown; componentType?: unknown; type?: unknown };
      if (typeof ref !== "object" || ref === null || Array.isArray(ref) || ref.byteOffset === undefined) continue; // JSON-valued property
      const component = COMPONENT_TYPES[String(ref.componentType)];
      const size = TYPE_SIZES[String(ref.type)];
      if (!component || !size) fail(`batch table ${name} has componentType ${String(ref.componentType)} type ${String(ref.type)}`, btJsonStart);
      const offset = ref.byteOffset;
      if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0 || offset % component.size !== 0) return fail(`batch table ${name}.byteOffset ${String(offset)} is not aligned to ${component.size} bytes`, btJsonStart);
      if (offset + component.size * size * count > btBinaryLength) fail(`batch table ${name} runs past the batch table binary (${btBinaryLength} bytes)`, btBinaryStart + offset);
      batchProperties[name] = component.read(btBinary, offset, size * count);
    }
  }
  const intensityValues = findProperty(batchProperties, PNTS_INTENSITY);
  const classificationValues = findProperty(batchProperties, PNTS_CLASSIFICATION);
  return {
    count,
    positions,
    rtcCenter,
    rgb,
    intensity: intensityValues ? Uint16Array.from(intensityValues) : undefined,
    classification: classificationValues ? Uint8Array.from(classificationValues) : undefined,
    quantised,
    batchProperties,
  };
}

function findProperty(properties: Record<string, ArrayLike<number>>, name: string): ArrayLike<number> | undefined {
  const key = Object.keys(properties).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : properties[key];
}
