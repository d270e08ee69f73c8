/**
 * LAS writer (pure: bytes out, no I/O).
 *
 * Design: the LAS header comes first in the file but holds the point count, counts by return and bounds,
 * which are only known once every point was seen. `LasWriter` therefore separates the two:
 *  - `encode(chunk)` turns a chunk into record bytes (and accumulates the header statistics);
 *  - `measure(chunk)` accumulates the statistics only (a first pass that keeps no bytes);
 *  - `header()` returns the header + VLR bytes (exactly `headerLength` bytes) for the statistics so far.
 * Records start at byte `headerLength`, a length fixed at construction (it depends only on the options),
 * so a caller may write the records first and the header last, or measure in a first pass and stream
 * header + records in a second one. `writeLasStream` does the latter (memory: one chunk);
 * `encodeLas` keeps everything in memory (tests, small clouds).
 *
 * Positions: with `i32` positions whose scale/offset equal the writer's, the integers are copied as is
 * (LAS -> LAS is bit-exact); otherwise positions are re-quantised as round((x - offset) / scale).
 */
import { chunkBounds, type ColumnName, type ExtraAttribute, type PointChunk, type PointSchema } from "../chunk.js";
import { GLOBAL_ENCODING_WKT } from "./header.js";
import type { RecordBlock } from "./reader.js";
import { PDRF_BASE_LENGTH, pdrfHasGpsTime, pdrfHasNir, pdrfHasRgb, pdrfIsExtended, TYPE_CODE, TYPE_SIZE, writeScalar } from "./records.js";

/** How an extra attribute is stored (defaults: the attribute's type, scale 1, offset 0). */
export interface ExtraBytesSpec {
  name: string;
  type?: ExtraAttribute["type"];
  scale?: number;
  valueOffset?: number;
  noData?: number;
  description?: string;
}

export interface LasWriterOptions {
  schema: PointSchema;
  /** Point data record format; default: the smallest of 0-3 / 6-8 that holds the schema's columns. */
  pdrf?: number;
  /** Minor version; default 2 for formats 0-5, 4 for 6-10 (which need 1.4). */
  minorVersion?: number;
  /** Quantisation; default: the first i32 chunk's, or derived from the first chunk's bounds. */
  scale?: readonly [number, number, number];
  offset?: readonly [number, number, number];
  /** WKT (written as a LASF_Projection 2112 VLR) or "EPSG:n" (written as GeoTIFF keys). */
  crs?: string;
  /** Storage of extra attributes (keeps a source's type/scale/offset); unknown names use defaults. */
  extraBytes?: ExtraBytesSpec[];
  /** Global encoding bit 0 (GPS time is adjusted standard time); other bits are set by the writer. */
  gpsTimeStandard?: boolean;
  fileSourceId?: number;
  systemIdentifier?: string;
  generatingSoftware?: string;
  /** Creation date written to the header (default: today, UTC). */
  creationDate?: Date;
}

/** The smallest standard format holding the columns (6-8 when 1.4-only columns are present). */
export function chooseLasFormat(schema: PointSchema): number {
  const has = (c: ColumnName) => schema.columns.includes(c);
  const rgb = has("red") || has("green") || has("blue");
  if (has("nir") || has("scannerChannel")) return has("nir") ? 8 : rgb ? 7 : 6;
  const gps = has("gpsTime");
  return rgb ? (gps ? 3 : 2) : gps ? 1 : 0;
}

/**
 * Scale and offset that keep the precision of double coordinates: 1e-5 of the extent's order of
 * magnitude (0.1 mm for a 10 m scan), at most 1 mm, but coarse enough for the extent to fit in 32-bit integers.
 * Offsets are the bounds' minimum rounded down to a multiple of 1000 scale steps.
 */
export function chooseScaleOffset(bounds: ArrayLike<number>): { scale: [number, number, number]; offset: [number, number, number] } {
  const scale: [number, number, number] = [0, 0, 0];
  const offset: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    let lo = bounds[a];
    let hi = bounds[a + 3];
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) lo = hi = 0;
    const range = Math.max(hi - lo, 1e-9);
    const fit = 10 ** Math.ceil(Math.log10(range / 2e9));
    const fine = Math.min(1e-3, 10 ** (Math.floor(Math.log10(range)) - 5));
    const s = Math.max(fit, fine);
    scale[a] = Number(s.toPrecision(1));
    const step = scale[a] * 1000;
    offset[a] = Math.floor(lo / step) * step;
    if (Math.abs(offset[a]) < 1e-12) offset[a] = 0;
  }
  return { scale, offset };
}

interface ResolvedExtra {
  name: string;
  type: ExtraAttribute["type"];
  scale: number;
  valueOffset: number;
  noData?: number;
  description: string;
  offset: number;
}

const GEO_MODEL_PROJECTED = 1;
const GEO_MODEL_GEOGRAPHIC = 2;

function asciiInto(dst: Uint8Array, at: number, s: string, max: number): void {
  for (let i = 0; i < Math.min(s.length, max); i++) dst[at + i] = s.charCodeAt(i) & 0x7f;
}

/** A whole VLR: 54-byte header (user id, record id, length, description) + payload. */
export function vlrBytes(userId: string, recordId: number, description: string, data: Uint8Array): Uint8Array {
  if (data.byteLength > 0xffff) throw new RangeError(`VLR ${userId}/${recordId} payload of ${data.byteLength} bytes exceeds 65535`);
  const out = new Uint8Array(54 + data.byteLength);
  const v = new DataView(out.buffer);
  asciiInto(out, 2, userId, 16);
  v.setUint16(18, recordId, true);
  v.setUint16(20, data.byteLength, true);
  asciiInto(out, 22, description, 32);
  out.set(data, 54);
  return out;
}

/**
 * GeoTIFF keys for "EPSG:h" or "EPSG:h+v". Without a CRS database the kind of h is guessed from the
 * EPSG numbering: 4000-4999 are geographic CRSs, the rest projected.
 */
function geoKeysForEpsg(crs: string): Uint8Array | undefined {
  const m = /^EPSG:(\d+)(?:\+(\d+))?$/i.exec(crs.trim());
  if (!m) return undefined;
  const h = Number(m[1]);
  const vert = m[2] ? Number(m[2]) : undefined;
  const geographic = h >= 4000 && h < 5000;
  const keys: [number, number][] = [
    [1024, geographic ? GEO_MODEL_GEOGRAPHIC : GEO_MODEL_PROJECTED],
    [1025, 1],
    [geographic ? 2048 : 3072, h],
  ];
  if (vert !== undefined) keys.push([4096, vert]);
  const out = new Uint8Array(8 + 8 * keys.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 1, true);
  v.setUint16(2, 1, true);
  v.setUint16(4, 0, true);
  v.setUint16(6, keys.length, true);
  keys.forEach(([id, val], i) => {
    v.setUint16(8 + 8 * i, id, true);
    v.setUint16(8 + 8 * i + 2, 0, true);
    v.setUint16(8 + 8 * i + 4, 1, true);
    v.setUint16(8 + 8 * i + 6, val, true);
  });
  return out;
}

export class LasWriter {
  readonly pdrf: number;
  readonly minorVersion: number;
  readonly recordLength: number;
  /** Bytes of header + VLRs: the records start here. */
  readonly headerLength: number;
  readonly extra: readonly ResolvedExtra[];
  private scale: [number, number, number] | undefined;
  private offset: [number, number, number] | undefined;
  private readonly vlrs: Uint8Array[];
  private globalEncoding: number;
  private readonly headerSize: number;
  private count = 0;
  private readonly byReturn = new Array<number>(15).fill(0);
  private readonly min = [Infinity, Infinity, Infinity];
  private readonly max = [-Infinity, -Infinity, -Infinity];
  private ints = [new Int32Array(0), new Int32Array(0), new Int32Array(0)];

  constructor(readonly options: LasWriterOptions) {
    const pdrf = options.pdrf ?? chooseLasFormat(options.schema);
    if (!Number.isInteger(pdrf) || pdrf < 0 || pdrf > 10) throw new RangeError(`invalid point data record format ${pdrf}`);
    this.pdrf = pdrf;
    this.minorVersion = pdrf >= 6 ? 4 : (options.minorVersion ?? 2);
    if (this.minorVersion < 0 || this.minorVersion > 4) throw new RangeError(`invalid LAS minor version ${this.minorVersion}`);
    if (pdrf >= 4 && pdrf <= 5 && this.minorVersion < 3) this.minorVersion = 3;
    this.headerSize = this.minorVersion >= 4 ? 375 : this.minorVersion === 3 ? 235 : 227;
    if (options.scale) this.scale = [...options.scale];
    if (options.offset) this.offset = [...options.offset];
    if ((this.scale === undefined) !== (this.offset === undefined)) throw new RangeError("give both scale and offset, or neither");

    // Extra attributes follow the standard fields in schema order.
    let at = PDRF_BASE_LENGTH[pdrf];
    const extra: ResolvedExtra[] = [];
    for (const a of options.schema.extra) {
      const spec = options.extraBytes?.find((s) => s.name === a.name);
      const type = spec?.type ?? a.type;
      extra.push({
        name: a.name,
        type,
        scale: spec?.scale ?? 1,
        valueOffset: spec?.valueOffset ?? 0,
        noData: spec?.noData,
        description: spec?.description ?? a.description ?? "",
        offset: at,
      });
      at += TYPE_SIZE[type];
    }
    this.extra = extra;
    this.recordLength = at;
    if (at > 0xffff) throw new RangeError(`record length ${at} exceeds 65535`);

    this.globalEncoding = options.gpsTimeStandard ? 1 : 0;
    const vlrs: Uint8Array[] = [];
    const crs = options.crs?.trim();
    if (crs) {
      const keys = geoKeysForEpsg(crs);
      if (keys) vlrs.push(vlrBytes("LASF_Projection", 34735, "GeoTIFF GeoKeyDirectoryTag", keys));
      else {
        const wkt = new TextEncoder().encode(crs + "\0");
        vlrs.push(vlrBytes("LASF_Projection", 2112, "OGC WKT coordinate system", wkt));
        if (this.minorVersion >= 4) this.globalEncoding |= GLOBAL_ENCODING_WKT;
      }
    }
    if (extra.length > 0) vlrs.push(vlrBytes("LASF_Spec", 4, "Extra bytes", this.extraBytesPayload()));
    this.vlrs = vlrs;
    this.headerLength = this.headerSize + vlrs.reduce((n, v) => n + v.byteLength, 0);
  }

  private extraBytesPayload(): Uint8Array {
    const out = new Uint8Array(192 * this.extra.length);
    const v = new DataView(out.buffer);
    this.extra.forEach((e, i) => {
      const d = 192 * i;
      out[d + 2] = TYPE_CODE[e.type];
      let options = 0;
      if (e.noData !== undefined) {
        options |= 1;
        if (e.type === "f32" || e.type === "f64") v.setFloat64(d + 40, e.noData, true);
        else if (e.type.startsWith("u")) v.setBigUint64(d + 40, BigInt(Math.max(0, Math.round(e.noData))), true);
        else v.setBigInt64(d + 40, BigInt(Math.round(e.noData)), true);
      }
      if (e.scale !== 1) {
        options |= 8;
        v.setFloat64(d + 112, e.scale, true);
      }
      if (e.valueOffset !== 0) {
        options |= 16;
        v.setFloat64(d + 136, e.valueOffset, true);
      }
      out[d + 3] = options;
      asciiInto(out, d + 4, e.name, 32);
      asciiInto(out, d + 160, e.description, 32);
    });
    return out;
  }

  get pointCount(): number {
    return this.count;
  }

  /** Scale and offset in use (fixed by the options or by the first chunk). */
  get quantisation(): { scale: [number, number, number]; offset: [number, number, number] } | undefined {
    return this.scale && this.offset ? { scale: [...this.scale], offset: [...this.offset] } : undefined;
  }

  /** Integer coordinates of a chunk in this writer's quantisation; updates bounds, counts by return. */
  private quantise(chunk: PointChunk): [Int32Array, Int32Array, Int32Array] {
    const p = chunk.positions;
    const n = chunk.count;
    if (!this.scale || !this.offset) {
      if (p.kind === "i32") {
        this.scale = [...p.scale];
        this.offset = [...p.offset];
      } else {
        const q = chooseScaleOffset(chunkBounds(chunk));
        this.scale = q.scale;
        this.offset = q.offset;
      }
    }
    const s = this.scale;
    const o = this.offset;
    let out: [Int32Array, Int32Array, Int32Array];
    if (p.kind === "i32" && p.scale[0] === s[0] && p.scale[1] === s[1] && p.scale[2] === s[2] && p.offset[0] === o[0] && p.offset[1] === o[1] && p.offset[2] === o[2]) {
      out = [p.x.subarray(0, n), p.y.subarray(0, n), p.z.subarray(0, n)];
    } else {
      if (this.ints[0].length < n) this.ints = [new Int32Array(n), new Int32Array(n), new Int32Array(n)];
      out = [this.ints[0].subarray(0, n), this.ints[1].subarray(0, n), this.ints[2].subarray(0, n)];
      const src = [p.x, p.y, p.z];
      for (let a = 0; a < 3; a++) {
        const d = out[a];
        const c = src[a];
        const sa = s[a];
        const oa = o[a];
        const ps = p.kind === "i32" ? p.scale[a] : 1;
        const po = p.kind === "i32" ? p.offset[a] : 0;
        for (let i = 0; i < n; i++) {
          const x = c[i] * ps + po;
          // Division (not multiplication by 1/scale) keeps round trips exact for decimal scales.
          const q = Math.round((x - oa) / sa);
          if (!(q >= -2147483648 && q <= 2147483647)) {
            throw new RangeError(`coordinate ${x} does not fit LAS integers with scale ${sa} and offset ${oa} (axis ${"xyz"[a]})`);
          }
          d[i] = q;
        }
      }
    }
    for (let a = 0; a < 3; a++) {
      const d = out[a];
      let lo = this.min[a];
      let hi = this.max[a];
      for (let i = 0; i < n; i++) {
        const q = d[i];
        if (q < lo) lo = q;
        if (q > hi) hi = q;
      }
      this.min[a] = lo;
      this.max[a] = hi;
    }
    const rn = chunk.returnNumber;
    if (rn) {
      const max = pdrfIsExtended(this.pdrf) ? 15 : 7;
      for (let i = 0; i < n; i++) {
        const r = rn[i] & max;
        if (r >= 1 && r <= 15) this.byReturn[r - 1]++;
      }
    }
    this.count += n;
    return out;
  }

  /** Accumulates the header statistics of a chunk without encoding it (first pass). */
  measure(chunk: PointChunk): void {
    this.quantise(chunk);
  }

  /**
   * Accumulates the header statistics of `count` records already in this writer's record format and
   * quantisation (records copied from a source as they are): integer X/Y/Z and the return number.
   */
  measureRecords(bytes: Uint8Array, count: number): void {
    if (!this.scale || !this.offset) throw new Error("LasWriter.measureRecords needs the scale and offset in the options");
    const rl = this.recordLength;
    if (bytes.byteLength < count * rl) throw new RangeError(`${count} records of ${rl} bytes need ${count * rl} bytes, not ${bytes.byteLength}`);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const mask = pdrfIsExtended(this.pdrf) ? 15 : 7;
    const min = this.min;
    const max = this.max;
    const byReturn = this.byReturn;
    let x0 = min[0], y0 = min[1], z0 = min[2], x1 = max[0], y1 = max[1], z1 = max[2];
    for (let i = 0, p = 0; i < count; i++, p += rl) {
      const x = v.getInt32(p, true);
      const y = v.getInt32(p + 4, true);
      const z = v.getInt32(p + 8, true);
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (z < z0) z0 = z;
      if (z > z1) z1 = z;
      const r = bytes[p + 14] & mask;
      if (r >= 1) byReturn[r - 1]++;
    }
    min[0] = x0;
    min[1] = y0;
    min[2] = z0;
    max[0] = x1;
    max[1] = y1;
    max[2] = z1;
    this.count += count;
  }

  /** Bounds of the points seen so far, [minX, minY, minZ, maxX, maxY, maxZ]; undefined before any. */
  get bounds(): Float64Array | undefined {
    if (this.count === 0 || !this.scale || !this.offset) return undefined;
    const b = new Float64Array(6);
    for (let a = 0; a < 3; a++) {
      b[a] = this.min[a] * this.scale[a] + this.offset[a];
      b[a + 3] = this.max[a] * this.scale[a] + this.offset[a];
    }
    return b;
  }

  /** The header + VLRs announcing `count` points, before their statistics are known (see `statisticsPatches`). */
  provisionalHeader(count: number): Uint8Array {
    const seen = this.count;
    this.count = count;
    try {
      return this.header();
    } finally {
      this.count = seen;
    }
  }

  /**
   * The header fields that depend on the points seen so far (point counts, counts by return, bounds),
   * as patches over a header written earlier. Every other header byte depends on the options only.
   */
  statisticsPatches(): LasHeaderPatch[] {
    const h = this.header();
    const ranges: [number, number][] = [
      [107, 131],
      [179, 227],
    ];
    if (this.minorVersion >= 4) ranges.push([247, 375]);
    return ranges.map(([a, b]) => ({ offset: a, bytes: h.slice(a, b) }));
  }

  /** Encodes a chunk's records (a column the chunk lacks is written as zeros). */
  encode(chunk: PointChunk): Uint8Array {
    const [x, y, z] = this.quantise(chunk);
    const n = chunk.count;
    const rl = this.recordLength;
    const pdrf = this.pdrf;
    const bytes = new Uint8Array(n * rl);
    const v = new DataView(bytes.buffer);
    const ext = pdrfIsExtended(pdrf);
    const { intensity, returnNumber, numberOfReturns, scanFlags, classification, classificationFlags, scannerChannel, scanAngle, userData, pointSourceId } = chunk;
    for (let i = 0, p = 0; i < n; i++, p += rl) {
      v.setInt32(p, x[i], true);
      v.setInt32(p + 4, y[i], true);
      v.setInt32(p + 8, z[i], true);
      if (intensity) v.setUint16(p + 12, intensity[i], true);
      const rnum = returnNumber ? returnNumber[i] : 0;
      const nret = numberOfReturns ? numberOfReturns[i] : 0;
      const sf = scanFlags ? scanFlags[i] : 0;
      const cls = classification ? classification[i] : 0;
      const cf = classificationFlags ? classificationFlags[i] : 0;
      const sa = scanAngle ? scanAngle[i] : 0;
      if (ext) {
        bytes[p + 14] = (rnum & 15) | ((nret & 15) << 4);
        bytes[p + 15] = (cf & 15) | (((scannerChannel ? scannerChannel[i] : 0) & 3) << 4) | ((sf & 3) << 6);
        bytes[p + 16] = cls;
        if (userData) bytes[p + 17] = userData[i];
        // Clamped to the int16 range only (not the spec's +-30000) so out-of-spec sources still copy exactly.
        v.setInt16(p + 18, Math.max(-32768, Math.min(32767, Math.round(sa / 0.006))), true);
        if (pointSourceId) v.setUint16(p + 20, pointSourceId[i], true);
      } else {
        bytes[p + 14] = (rnum & 7) | ((nret & 7) << 3) | ((sf & 3) << 6);
        bytes[p + 15] = (cls & 31) | ((cf & 7) << 5);
        v.setInt8(p + 16, Math.max(-128, Math.min(127, Math.round(sa))));
        if (userData) bytes[p + 17] = userData[i];
        if (pointSourceId) v.setUint16(p + 18, pointSourceId[i], true);
      }
    }
    if (pdrfHasGpsTime(pdrf) && chunk.gpsTime) {
      const t = chunk.gpsTime;
      for (let i = 0, p = ext ? 22 : 20; i < n; i++, p += rl) v.setFloat64(p, t[i], true);
    }
    if (pdrfHasRgb(pdrf)) {
      const o = pdrf === 2 ? 20 : pdrf === 3 || pdrf === 5 ? 28 : 30;
      const cols = [chunk.red, chunk.green, chunk.blue];
      for (let k = 0; k < 3; k++) {
        const c = cols[k];
        if (c) for (let i = 0, p = o + 2 * k; i < n; i++, p += rl) v.setUint16(p, c[i], true);
      }
    }
    if (pdrfHasNir(pdrf) && chunk.nir) {
      const c = chunk.nir;
      for (let i = 0, p = 36; i < n; i++, p += rl) v.setUint16(p, c[i], true);
    }
    for (const e of this.extra) {
      const col = chunk.extra?.[e.name];
      const isFloat = e.type === "f32" || e.type === "f64";
      const plain = e.scale === 1 && e.valueOffset === 0;
      if (col && plain && e.type === "f32") {
        for (let i = 0, p = e.offset; i < n; i++, p += rl) v.setFloat32(p, col[i], true);
        continue;
      }
      if (col && plain && e.type === "f64") {
        for (let i = 0, p = e.offset; i < n; i++, p += rl) v.setFloat64(p, col[i], true);
        continue;
      }
      for (let i = 0, p = e.offset; i < n; i++, p += rl) {
        let val = col ? col[i] : (e.noData ?? 0);
        if (!Number.isFinite(val) && !isFloat) val = e.noData ?? 0;
        if (!plain) val = (val - e.valueOffset) / e.scale;
        writeScalar(v, p, e.type, isFloat ? val : Math.round(val));
      }
    }
    return bytes;
  }

  /** Header + VLRs (`headerLength` bytes) describing the points measured or encoded so far. */
  header(): Uint8Array {
    const out = new Uint8Array(this.headerLength);
    const v = new DataView(out.buffer);
    const o = this.options;
    const minor = this.minorVersion;
    asciiInto(out, 0, "LASF", 4);
    v.setUint16(4, o.fileSourceId ?? 0, true);
    v.setUint16(6, this.globalEncoding, true);
    out[24] = 1;
    out[25] = minor;
    asciiInto(out, 26, o.systemIdentifier ?? "OTHER", 32);
    asciiInto(out, 58, o.generatingSoftware ?? "realconv", 32);
    const date = o.creationDate ?? new Date();
    const dayOfYear = Math.floor((Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86400000) + 1;
    v.setUint16(90, dayOfYear, true);
    v.setUint16(92, date.getUTCFullYear(), true);
    v.setUint16(94, this.headerSize, true);
    v.setUint32(96, this.headerLength, true);
    v.setUint32(100, this.vlrs.length, true);
    out[104] = this.pdrf;
    v.setUint16(105, this.recordLength, true);
    const legacyOk = this.pdrf < 6 && this.count <= 0xffffffff;
    if (minor < 4 && !legacyOk) throw new RangeError(`${this.count} points do not fit a LAS 1.${minor} header; use LAS 1.4`);
    v.setUint32(107, legacyOk ? this.count : 0, true);
    for (let i = 0; i < 5; i++) v.setUint32(111 + 4 * i, legacyOk ? this.byReturn[i] : 0, true);
    const s = this.scale ?? [0.001, 0.001, 0.001];
    const off = this.offset ?? [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      v.setFloat64(131 + 8 * a, s[a], true);
      v.setFloat64(155 + 8 * a, off[a], true);
      const empty = this.count === 0;
      v.setFloat64(179 + 16 * a, empty ? 0 : this.max[a] * s[a] + off[a], true);
      v.setFloat64(187 + 16 * a, empty ? 0 : this.min[a] * s[a] + off[a], true);
    }
    if (minor >= 4) {
      v.setBigUint64(247, BigInt(this.count), true);
      for (let i = 0; i < 15; i++) v.setBigUint64(255 + 8 * i, BigInt(this.byReturn[i]), true);
    }
    let at = this.headerSize;
    for (const r of this.vlrs) {
      out.set(r, at);
      at += r.byteLength;
    }
    return out;
  }
}

/**
 * Streams a LAS file in two passes over `chunks` (pass 1 measures, pass 2 encodes): header + VLRs
 * first, then records. Memory: one chunk. `chunks` must yield the same points both times.
 */
export async function* writeLasStream(options: LasWriterOptions, chunks: () => AsyncIterable<PointChunk>): AsyncIterable<Uint8Array> {
  let opts = options;
  if (!opts.scale || !opts.offset) {
    // Quantisation must be fixed before pass 1: take the source's integers, or derive it from all bounds.
    let bounds: Float64Array | undefined;
    let fixed: { scale: readonly [number, number, number]; offset: readonly [number, number, number] } | undefined;
    for await (const c of chunks()) {
      if (c.positions.kind === "i32" && !bounds) {
        fixed = { scale: c.positions.scale, offset: c.positions.offset };
        break;
      }
      bounds = chunkBounds(c, bounds);
    }
    if (!fixed) fixed = chooseScaleOffset(bounds ?? [0, 0, 0, 0, 0, 0]);
    opts = { ...opts, scale: fixed.scale, offset: fixed.offset };
  }
  const measuring = new LasWriter(opts);
  for await (const c of chunks()) measuring.measure(c);
  yield measuring.header();
  const writer = new LasWriter(opts);
  for await (const c of chunks()) yield writer.encode(c);
  if (writer.pointCount !== measuring.pointCount) {
    throw new Error(`the point source changed between passes (${measuring.pointCount} then ${writer.pointCount} points)`);
  }
}

/** Bytes to write over a LAS file already written (absolute offset in the file). */
export interface LasHeaderPatch {
  offset: number;
  bytes: Uint8Array;
}

/**
 * Streams a LAS file in one pass over its points, for sinks that can patch what they wrote: the header
 * first, announcing `count` points (the source's own count), then the records, encoded from `source.chunks`
 * or copied from `source.records` (records already in the writer's format and quantisation, their
 * statistics measured from the raw records); `patches()` then gives the header's point statistics.
 * The quantisation must be in `options`. A source yielding another number of points fails the stream.
 */
export function writeLasOnePass(
  options: LasWriterOptions,
  count: number,
  source: { chunks: () => AsyncIterable<PointChunk> } | { records: () => AsyncIterable<RecordBlock> },
): { stream: AsyncIterable<Uint8Array>; patches: () => LasHeaderPatch[]; bounds: () => Float64Array | undefined } {
  if (!options.scale || !options.offset) throw new Error("writeLasOnePass needs the scale and offset in the options");
  const writer = new LasWriter(options);
  let ended = false;
  async function* stream(): AsyncGenerator<Uint8Array> {
    yield writer.provisionalHeader(count);
    if ("records" in source) {
      const rl = writer.recordLength;
      for await (const b of source.records()) {
        writer.measureRecords(b.bytes, b.count);
        yield b.bytes.byteLength === b.count * rl ? b.bytes : b.bytes.subarray(0, b.count * rl);
      }
    } else {
      for await (const c of source.chunks()) yield writer.encode(c);
    }
    if (writer.pointCount !== count) throw new Error(`the point source announced ${count} points and gave ${writer.pointCount}`);
    ended = true;
  }
  return {
    stream: stream(),
    patches: () => {
      if (!ended) throw new Error("writeLasOnePass: the statistics are known once the stream has ended");
      return writer.statisticsPatches();
    },
    bounds: () => writer.bounds,
  };
}

/** Writes a whole LAS file in memory (one pass; for tests and small clouds). */
export async function encodeLas(options: LasWriterOptions, chunks: AsyncIterable<PointChunk> | Iterable<PointChunk>): Promise<Uint8Array> {
  const w = new LasWriter(options);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of chunks) {
    const b = w.encode(c);
    parts.push(b);
    size += b.byteLength;
  }
  const head = w.header();
  const out = new Uint8Array(head.byteLength + size);
  out.set(head, 0);
  let at = head.byteLength;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
