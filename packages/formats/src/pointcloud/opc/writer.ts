/**
 * OPC (Orbit point cloud) writer, pure and streaming. Byte layout: shared/spec/formats.md §1 (from the
 * reader in @itwin/core-orbitgt).
 *
 * An OPC file is a container of named parts; per level, the geometry of all points is one part and each
 * attribute's values another, all in the same point order (grouped by tile, tiles in `compareOpcTiles`
 * order). So a level is written in passes: the geometry pass, then one pass per attribute, each handing
 * the level's tiles again in the same order. Memory: one tile's bytes plus the level's tile and block
 * records (16 + 24 bytes each). The part table at offset 0 is known only at the end: `finish()` returns
 * it as a patch over the placeholder `header()` wrote.
 *
 * Stream layout: container header (part table) · file record · for each level: geometry data, attribute
 * point data (one part per attribute), tile directory, block directory, level directory, geometry
 * definition · attribute definitions (their min/max are known last).
 */
import { compareOpcTiles, OPC_CELLS, OPC_STEPS, opcBlockOf, type OpcLayout, type OpcPoints, opcTileSize } from "./layout.js";
import { patchedBytes, patchedStream } from "../../io/patched.js";

/** The attributes an OPC file can carry, in the order they are written. */
export type OpcAttribute = "color" | "intensity" | "classification" | "weight";
/** A pass over a level's tiles: the geometry, or one attribute. */
export type OpcPass = "geometry" | OpcAttribute;

export interface OpcWriterOptions {
  layout: OpcLayout;
  /**
   * Attributes to write (each needs its column in every tile; `weight` defaults to 1 where absent).
   * `color` and `intensity` are Orbit's standard attributes (viewers show them); `classification` (int1)
   * and `weight` (int4, level-0 points a point stands for) are extra attributes.
   */
  attributes: readonly OpcAttribute[];
  /** Horizontal CRS as an EPSG code (iTwin.js resolves it); none: not geolocated. */
  epsg?: number;
  /** File creation time, milliseconds since 1970 (default 0: the same input gives the same bytes). */
  creationTime?: number;
}

/** Bytes to write over the file already written, at an absolute offset. */
export interface OpcPatch {
  offset: number;
  bytes: Uint8Array;
}

const ATTRIBUTE_ORDER: readonly OpcAttribute[] = ["color", "intensity", "classification", "weight"];

/** Orbit attribute types (AttributeTypes): value sizes in bytes. */
const TYPE_INT1 = 2;
const TYPE_INT2 = 3;
const TYPE_INT4 = 4;
const TYPE_COLOR = 8;

interface AttributeSpec {
  name: string;
  description: string;
  type: number;
  size: number;
}

const ATTRIBUTES: Record<OpcAttribute, AttributeSpec> = {
  color: { name: "Color", description: "RGB colour", type: TYPE_COLOR, size: 3 },
  intensity: { name: "Intensity", description: "Return intensity", type: TYPE_INT2, size: 2 },
  classification: { name: "Classification", description: "ASPRS classification", type: TYPE_INT1, size: 1 },
  weight: { name: "Weight", description: "The weight of a multi-resolution point", type: TYPE_INT4, size: 4 },
};

/** The reader loads only this much as the container header. */
const MAX_HEADER_BYTES = 60 * 1024;
const CONTAINER_FIXED = 12;
const FILE_RECORD_FIXED = 4 + 4 + 4 + 4 + 4 + 8 + 8;
const TILE_RECORD = 16;
const BLOCK_RECORD = 24;
const DIRECTORY_RECORD = 16;
const GEOMETRY_RECORD = 96;
/** A point may lie this many level-0 steps (or cells above level 0) outside its tile: rounding, not error. */
const OUTSIDE_TOLERANCE = 1;

/** A little-endian writer into a buffer of known size. */
class Out {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): void {
    this.bytes[this.at++] = v;
  }
  i32(v: number): void {
    this.view.setInt32(this.at, v, true);
    this.at += 4;
  }
  i64(v: number): void {
    this.view.setBigInt64(this.at, BigInt(v), true);
    this.at += 8;
  }
  f64(v: number): void {
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }
  /** i32 length, then UTF-16LE code units. */
  string(s: string): void {
    this.i32(s.length);
    for (let i = 0; i < s.length; i++) {
      this.view.setUint16(this.at, s.charCodeAt(i), true);
      this.at += 2;
    }
  }
  /** A value of an attribute type (colour: 24-bit little-endian). */
  value(type: number, v: number): void {
    if (type === TYPE_COLOR) {
      this.u8(v & 0xff);
      this.u8((v >> 8) & 0xff);
      this.u8((v >> 16) & 0xff);
    } else if (type === TYPE_INT1) this.u8(v);
    else if (type === TYPE_INT2) {
      this.view.setUint16(this.at, v, true);
      this.at += 2;
    } else this.i32(v);
  }
}

const stringBytes = (s: string): number => 4 + 2 * s.length;

/** Widens [minX, minY, minZ, maxX, maxY, maxZ] on axis `a` to hold `v`. */
/** The bytes of u16 values, little-endian (the array's own on little-endian hosts). */
function littleEndian16(values: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  for (let i = 0; i < bytes.length; i += 2) {
    const t = bytes[i];
    bytes[i] = bytes[i + 1];
    bytes[i + 1] = t;
  }
  return bytes;
}

/** Growable int32 columns (tile and block records of a level). */
class Records {
  data: Float64Array;
  length = 0;
  constructor(readonly width: number) {
    this.data = new Float64Array(width * 64);
  }
  push(...values: number[]): void {
    if ((this.length + 1) * this.width > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(values, this.length * this.width);
    this.length++;
  }
  get(i: number, k: number): number {
    return this.data[i * this.width + k];
  }
  set(i: number, k: number, v: number): void {
    this.data[i * this.width + k] = v;
  }
}

interface LevelState {
  /** x, y, z, pointCount per tile, in file order. */
  tiles: Records;
  /** bx, by, bz, tileCount, pointCount per block. */
  blocks: Records;
  points: number;
  min: [number, number, number];
  max: [number, number, number];
  /** Index into `passes` of the pass under way, and the next tile it expects (attribute passes). */
  pass: number;
  cursor: number;
  ended: boolean;
}

interface Part {
  offset: number;
  length: number;
}

/**
 * Push-style OPC writer: every method returns the bytes to append to the file, in call order.
 *
 * ```ts
 * const w = new OpcWriter({ layout, attributes: ["color", "intensity"], epsg: 32633 });
 * out(w.header());
 * for (let level = 0; level < layout.levelCount; level++) {
 *   for (const pass of w.passes) for (const t of tilesInOrder(level)) out(w.addTile(level, pass, t.x, t.y, t.z, t.points));
 *   out(w.endLevel(level));
 * }
 * const { bytes, patches } = w.finish(); out(bytes); // then write each patch at patch.offset
 * ```
 */
export class OpcWriter {
  readonly layout: OpcLayout;
  readonly attributes: readonly OpcAttribute[];
  /** The passes of each level, in the order they must come: geometry, then the attributes. */
  readonly passes: readonly OpcPass[];
  private readonly creationTime: number;
  private readonly crs: string;
  private readonly partNames: string[];
  private readonly parts = new Map<string, Part>();
  private readonly headerBytes: number;
  private readonly levels: (LevelState | undefined)[];
  /** Per attribute: min and max of the values written (all levels). */
  private readonly range: Float64Array;
  private position = 0;
  /** The level being written: a level's parts must be contiguous, so levels come one at a time. */
  private openLevel = -1;
  private started = false;
  private finished = false;

  constructor(options: OpcWriterOptions) {
    const layout = options.layout;
    if (!Number.isInteger(layout.levelCount) || layout.levelCount < 2) throw new RangeError(`an OPC file needs at least 2 levels, not ${layout.levelCount}`);
    if (!layout.tileSize.every((t) => t > 0) || !Number.isInteger(layout.blockSize) || layout.blockSize < 1) throw new RangeError("OPC layout: invalid tile or block size");
    this.layout = layout;
    for (const a of options.attributes) if (!ATTRIBUTE_ORDER.includes(a)) throw new RangeError(`unknown OPC attribute ${a}`);
    this.attributes = ATTRIBUTE_ORDER.filter((a) => options.attributes.includes(a));
    this.passes = ["geometry", ...this.attributes];
    if (options.epsg !== undefined && !(Number.isInteger(options.epsg) && options.epsg > 0)) throw new RangeError(`invalid EPSG code ${options.epsg}`);
    this.crs = options.epsg === undefined ? "" : String(options.epsg);
    this.creationTime = options.creationTime ?? 0;
    this.levels = new Array(layout.levelCount).fill(undefined);
    this.range = new Float64Array(2 * this.attributes.length);
    for (let a = 0; a < this.attributes.length; a++) {
      this.range[2 * a] = Infinity;
      this.range[2 * a + 1] = -Infinity;
    }

    const names = ["file"];
    for (let l = 0; l < layout.levelCount; l++) {
      names.push(`${l}.directory`, `${l}.block.directory`, `${l}.tile.directory`, `${l}.geometry.definition`, `${l}.geometry.data`);
      this.attributes.forEach((_, a) => names.push(`${l}.attribute.${a}.pointdata`));
    }
    this.attributes.forEach((_, a) => names.push(`attribute.${a}.definition`));
    this.partNames = names;
    this.headerBytes = CONTAINER_FIXED + names.reduce((n, s) => n + 16 + stringBytes(s), 0);
    if (this.headerBytes > MAX_HEADER_BYTES) {
      throw new RangeError(`the OPC part table (${this.headerBytes} bytes for ${layout.levelCount} levels) exceeds the ${MAX_HEADER_BYTES} bytes readers load`);
    }
  }

  /** The container header (part table as a placeholder, see `finish`) and the file record. */
  header(): Uint8Array {
    if (this.started) throw new Error("OpcWriter.header: called twice");
    this.started = true;
    const fileRecord = new Out(FILE_RECORD_FIXED + stringBytes(this.crs));
    fileRecord.i32(0); // options: none
    fileRecord.string(this.crs);
    fileRecord.i32(this.layout.levelCount);
    fileRecord.i32(this.attributes.length);
    fileRecord.i32(this.layout.blockSize);
    // The level-0 resolution across (exposed by readers as "metricCellSize").
    fileRecord.f64(this.layout.tileSize[0] / OPC_STEPS);
    fileRecord.i64(this.creationTime);
    const out = new Uint8Array(this.headerBytes + fileRecord.bytes.length);
    out.set(this.containerHeader(), 0);
    this.position = this.headerBytes;
    this.part("file", fileRecord.bytes.length);
    out.set(fileRecord.bytes, this.headerBytes);
    this.position = out.length;
    return out;
  }

  /**
   * The bytes of one tile for `pass` at `level`. Within a level, passes come in `passes` order, each
   * with the same tiles in `compareOpcTiles` order (a tile holds at least one point); `points` must carry
   * the pass's column (positions for the geometry pass). Level-0 positions must lie in their tile: they
   * are stored to `tileSize / 65536`; above level 0 a point snaps to the centre of its 256³ cell (give the
   * output of `thinOpcTile`).
   */
  addTile(level: number, pass: OpcPass, tileX: number, tileY: number, tileZ: number, points: OpcPoints): Uint8Array {
    if (!this.started || this.finished) throw new Error("OpcWriter.addTile: call header() first, and not after finish()");
    if (!Number.isInteger(level) || level < 0 || level >= this.layout.levelCount) throw new RangeError(`OPC level ${level} is outside 0..${this.layout.levelCount - 1}`);
    if (!Number.isInteger(tileX) || !Number.isInteger(tileY) || !Number.isInteger(tileZ)) throw new RangeError("OPC tile indices must be integers");
    const n = points.count;
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw new RangeError(`an OPC tile holds 1..2^31-1 points, not ${n}`);
    const state = this.levelState(level);
    const passIndex = this.passes.indexOf(pass);
    if (passIndex < 0) throw new RangeError(`pass ${pass} is not one of this writer's (${this.passes.join(", ")})`);
    if (passIndex !== state.pass) {
      if (passIndex !== state.pass + 1 || state.cursor !== state.tiles.length) {
        throw new Error(`OPC level ${level}: pass ${pass} out of order (passes: ${this.passes.join(", ")}; each over every tile)`);
      }
      state.pass = passIndex;
      state.cursor = 0;
    }
    if (pass === "geometry") {
      this.checkTileOrder(level, state, tileX, tileY, tileZ);
      const bounds = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
      const bytes = level === 0 ? this.geometry16(tileX, tileY, tileZ, points, bounds) : this.geometry8(level, tileX, tileY, tileZ, points, bounds);
      if (state.tiles.length === 0) this.part(`${level}.geometry.data`, 0);
      this.addTileRecord(state, tileX, tileY, tileZ, n, bounds);
      this.grow(`${level}.geometry.data`, bytes.length);
      state.cursor = state.tiles.length;
      return bytes;
    }
    const t = state.cursor;
    if (t >= state.tiles.length || state.tiles.get(t, 0) !== tileX || state.tiles.get(t, 1) !== tileY || state.tiles.get(t, 2) !== tileZ || state.tiles.get(t, 3) !== n) {
      throw new Error(`OPC level ${level}, pass ${pass}: tile (${tileX}, ${tileY}, ${tileZ}) with ${n} points is not the geometry pass's tile ${t}`);
    }
    state.cursor++;
    const a = this.attributes.indexOf(pass);
    const name = `${level}.attribute.${a}.pointdata`;
    if (t === 0) this.part(name, 0);
    const bytes = this.attributeValues(pass, a, points);
    this.grow(name, bytes.length);
    return bytes;
  }

  /** Ends a level: every pass must have covered its tiles. Returns the level's directories and geometry record. */
  endLevel(level: number): Uint8Array {
    if (!this.started || this.finished) throw new Error("OpcWriter.endLevel: call header() first, and not after finish()");
    const state = this.levelState(level);
    const tiles = state.tiles.length;
    if (tiles > 0 && (state.pass !== this.passes.length - 1 || state.cursor !== tiles)) {
      throw new Error(`OPC level ${level} ended before every pass (${this.passes.join(", ")}) covered its ${tiles} tiles`);
    }
    state.ended = true;
    this.openLevel = -1;
    if (tiles === 0) {
      this.part(`${level}.geometry.data`, 0);
      this.attributes.forEach((_, a) => this.part(`${level}.attribute.${a}.pointdata`, 0));
    }
    const blocks = state.blocks.length;
    const out = new Out(tiles * TILE_RECORD + blocks * BLOCK_RECORD + DIRECTORY_RECORD + GEOMETRY_RECORD);
    for (let t = 0; t < tiles; t++) for (let k = 0; k < 4; k++) out.i32(state.tiles.get(t, k));
    for (let b = 0; b < blocks; b++) {
      for (let k = 0; k < 4; k++) out.i32(state.blocks.get(b, k));
      out.i64(state.blocks.get(b, 4));
    }
    out.i64(state.points);
    out.i32(tiles);
    out.i32(blocks);
    const empty = state.points === 0;
    for (let a = 0; a < 3; a++) {
      out.f64(empty ? 0 : state.min[a]);
      out.f64(empty ? 0 : state.max[a]);
    }
    const size = opcTileSize(this.layout, level);
    for (let a = 0; a < 3; a++) out.f64(this.layout.origin[a]);
    for (let a = 0; a < 3; a++) out.f64(size[a]);
    this.part(`${level}.tile.directory`, tiles * TILE_RECORD);
    this.part(`${level}.block.directory`, blocks * BLOCK_RECORD);
    this.part(`${level}.directory`, DIRECTORY_RECORD);
    this.part(`${level}.geometry.definition`, GEOMETRY_RECORD);
    return out.bytes;
  }

  /**
   * After every level ended: the attribute definitions to append, and the part table to write over the
   * placeholder at offset 0.
   */
  finish(): { bytes: Uint8Array; patches: OpcPatch[] } {
    if (!this.started || this.finished) throw new Error("OpcWriter.finish: call header() first, and only once");
    const open = this.levels.findIndex((s) => !s?.ended);
    if (open >= 0) throw new Error(`OPC level ${open} was not ended`);
    this.finished = true;
    const size = this.attributes.reduce((n, a) => n + stringBytes(ATTRIBUTES[a].name) + stringBytes(ATTRIBUTES[a].description) + 4 + 3 * ATTRIBUTES[a].size, 0);
    const out = new Out(size);
    this.attributes.forEach((attr, a) => {
      const spec = ATTRIBUTES[attr];
      const start = out.at;
      out.string(spec.name);
      out.string(spec.description);
      out.i32(spec.type);
      const lo = this.range[2 * a];
      const hi = this.range[2 * a + 1];
      const written = lo <= hi;
      out.value(spec.type, attr === "weight" ? 1 : 0);
      out.value(spec.type, written ? lo : 0);
      out.value(spec.type, written ? hi : 0);
      this.part(`attribute.${a}.definition`, out.at - start);
    });
    return { bytes: out.bytes, patches: [{ offset: 0, bytes: this.containerHeader() }] };
  }

  private levelState(level: number): LevelState {
    let s = this.levels[level];
    if (!s) {
      s = {
        tiles: new Records(4),
        blocks: new Records(5),
        points: 0,
        min: [Infinity, Infinity, Infinity],
        max: [-Infinity, -Infinity, -Infinity],
        pass: 0,
        cursor: 0,
        ended: false,
      };
      this.levels[level] = s;
    }
    if (s.ended) throw new Error(`OPC level ${level} was already ended`);
    if (this.openLevel !== level) {
      if (this.openLevel >= 0) throw new Error(`OPC level ${level} started before level ${this.openLevel} ended`);
      this.openLevel = level;
    }
    return s;
  }

  private checkTileOrder(level: number, s: LevelState, x: number, y: number, z: number): void {
    const last = s.tiles.length - 1;
    if (last >= 0 && compareOpcTiles(s.tiles.get(last, 0), s.tiles.get(last, 1), s.tiles.get(last, 2), x, y, z, this.layout.blockSize) >= 0) {
      throw new Error(`OPC level ${level}: tile (${x}, ${y}, ${z}) comes after (${s.tiles.get(last, 0)}, ${s.tiles.get(last, 1)}, ${s.tiles.get(last, 2)}): tiles must come once each, in block then tile order`);
    }
  }

  private addTileRecord(s: LevelState, x: number, y: number, z: number, n: number, bounds: number[]): void {
    const bs = this.layout.blockSize;
    s.tiles.push(x, y, z, n);
    const bx = opcBlockOf(x, bs);
    const by = opcBlockOf(y, bs);
    const bz = opcBlockOf(z, bs);
    const b = s.blocks.length - 1;
    if (b >= 0 && s.blocks.get(b, 0) === bx && s.blocks.get(b, 1) === by && s.blocks.get(b, 2) === bz) {
      s.blocks.set(b, 3, s.blocks.get(b, 3) + 1);
      s.blocks.set(b, 4, s.blocks.get(b, 4) + n);
    } else s.blocks.push(bx, by, bz, 1, n);
    s.points += n;
    for (let a = 0; a < 3; a++) {
      s.min[a] = Math.min(s.min[a], bounds[a]);
      s.max[a] = Math.max(s.max[a], bounds[a + 3]);
    }
  }

  /** Level 0: u16 steps of tileSize/65536 from the tile's corner, rounded. */
  private geometry16(tx: number, ty: number, tz: number, p: OpcPoints, bounds: number[]): Uint8Array {
    const size = this.layout.tileSize;
    const step = size.map((s) => s / OPC_STEPS);
    const corner = this.corner(size, tx, ty, tz);
    const n = p.count;
    const out = new Uint16Array(3 * n);
    const xyz = p.xyz;
    for (let a = 0; a < 3; a++) {
      const c = corner[a];
      const st = step[a];
      let lo = bounds[a];
      let hi = bounds[a + 3];
      for (let i = 0; i < n; i++) {
        const f = (xyz[3 * i + a] - c) / st;
        if (!(f >= -OUTSIDE_TOLERANCE && f < OPC_STEPS + OUTSIDE_TOLERANCE)) throw this.firstOutside(0, tx, ty, tz, p, corner, step, OPC_STEPS);
        const l = Math.min(OPC_STEPS - 1, Math.max(0, Math.round(f)));
        out[3 * i + a] = l;
        const v = c + l * st;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      bounds[a] = lo;
      bounds[a + 3] = hi;
    }
    return littleEndian16(out);
  }

  /** Levels above 0: the u8 cell of 256 per tile edge (readers place the point at the cell's centre). */
  private geometry8(level: number, tx: number, ty: number, tz: number, p: OpcPoints, bounds: number[]): Uint8Array {
    const size = opcTileSize(this.layout, level);
    const cell = size.map((s) => s / OPC_CELLS);
    const corner = this.corner(size, tx, ty, tz);
    const n = p.count;
    const out = new Uint8Array(3 * n);
    const xyz = p.xyz;
    for (let a = 0; a < 3; a++) {
      const co = corner[a];
      const ce = cell[a];
      let lo = bounds[a];
      let hi = bounds[a + 3];
      for (let i = 0; i < n; i++) {
        const f = (xyz[3 * i + a] - co) / ce;
        if (!(f >= -OUTSIDE_TOLERANCE && f < OPC_CELLS + OUTSIDE_TOLERANCE)) throw this.firstOutside(level, tx, ty, tz, p, corner, cell, OPC_CELLS);
        const c = Math.min(OPC_CELLS - 1, Math.max(0, Math.floor(f)));
        out[3 * i + a] = c;
        const v = co + (c + 0.5) * ce;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      bounds[a] = lo;
      bounds[a + 3] = hi;
    }
    return out;
  }

  private attributeValues(attr: OpcAttribute, a: number, p: OpcPoints): Uint8Array {
    const n = p.count;
    const out = new Uint8Array(n * ATTRIBUTES[attr].size);
    let lo = this.range[2 * a];
    let hi = this.range[2 * a + 1];
    const missing = (): Error => new RangeError(`OPC attribute ${attr}: the tile has no ${attr} column`);
    if (attr === "color") {
      const rgb = p.rgb;
      if (!rgb) throw missing();
      for (let i = 0; i < n; i++) {
        // Little-endian 0xRRGGBB: blue first.
        const r = rgb[3 * i];
        const g = rgb[3 * i + 1];
        const b = rgb[3 * i + 2];
        out[3 * i] = b;
        out[3 * i + 1] = g;
        out[3 * i + 2] = r;
        const value = (r << 16) | (g << 8) | b;
        if (value < lo) lo = value;
        if (value > hi) hi = value;
      }
    } else if (attr === "intensity") {
      const c = p.intensity;
      if (!c) throw missing();
      const v = new DataView(out.buffer);
      for (let i = 0; i < n; i++) {
        v.setUint16(2 * i, c[i], true);
        if (c[i] < lo) lo = c[i];
        if (c[i] > hi) hi = c[i];
      }
    } else if (attr === "classification") {
      const c = p.classification;
      if (!c) throw missing();
      out.set(c.subarray(0, n));
      for (let i = 0; i < n; i++) {
        if (c[i] < lo) lo = c[i];
        if (c[i] > hi) hi = c[i];
      }
    } else {
      const c = p.weight;
      const v = new DataView(out.buffer);
      for (let i = 0; i < n; i++) {
        const w = c ? Math.min(c[i], 0x7fffffff) : 1;
        v.setInt32(4 * i, w, true);
        if (w < lo) lo = w;
        if (w > hi) hi = w;
      }
    }
    this.range[2 * a] = lo;
    this.range[2 * a + 1] = hi;
    return out;
  }

  private corner(size: readonly number[], tx: number, ty: number, tz: number): [number, number, number] {
    const o = this.layout.origin;
    return [o[0] + tx * size[0], o[1] + ty * size[1], o[2] + tz * size[2]];
  }

  /** The error for the first point (in point order) outside its tile. */
  private firstOutside(level: number, tx: number, ty: number, tz: number, p: OpcPoints, corner: readonly number[], step: readonly number[], steps: number): RangeError {
    for (let i = 0; i < p.count; i++) {
      for (let a = 0; a < 3; a++) {
        const f = (p.xyz[3 * i + a] - corner[a]) / step[a];
        if (!(f >= -OUTSIDE_TOLERANCE && f < steps + OUTSIDE_TOLERANCE)) return this.outside(level, tx, ty, tz, p, i);
      }
    }
    return this.outside(level, tx, ty, tz, p, 0);
  }

  private outside(level: number, tx: number, ty: number, tz: number, p: OpcPoints, i: number): RangeError {
    const xyz = [p.xyz[3 * i], p.xyz[3 * i + 1], p.xyz[3 * i + 2]].join(", ");
    return new RangeError(`OPC level ${level}: point (${xyz}) lies outside tile (${tx}, ${ty}, ${tz})`);
  }

  /** Starts part `name` at the current position with `length` bytes about to be returned. */
  private part(name: string, length: number): void {
    if (!this.parts.has(name)) this.parts.set(name, { offset: this.position, length: 0 });
    this.grow(name, length);
  }

  private grow(name: string, length: number): void {
    this.parts.get(name)!.length += length;
    this.position += length;
  }

  private containerHeader(): Uint8Array {
    const out = new Out(this.headerBytes);
    for (const c of "OPC3") out.u8(c.charCodeAt(0));
    out.u8(2); // container version
    out.at += 3;
    out.i32(this.partNames.length);
    for (const name of this.partNames) {
      const p = this.parts.get(name);
      out.i64(p ? p.offset : 0);
      out.i64(p ? p.length : 0);
      out.string(name);
    }
    return out.bytes;
  }
}

/** Tiles of a level in `compareOpcTiles` order, for one pass (called once per pass, the same tiles each time). */
export type OpcTileSource = (level: number, pass: OpcPass) => AsyncIterable<OpcTile> | Iterable<OpcTile>;

export interface OpcTile {
  x: number;
  y: number;
  z: number;
  points: OpcPoints;
}

/**
 * Streams a whole OPC file: levels 0..levelCount-1, each in `passes` order over `tiles(level, pass)`.
 * Write `stream` as it comes, then `patches()` (known once the stream has ended) over it.
 */
export function writeOpc(options: OpcWriterOptions, tiles: OpcTileSource): { stream: AsyncIterable<Uint8Array>; patches: () => OpcPatch[] } {
  const writer = new OpcWriter(options);
  return patchedStream("writeOpc", async function* () {
    yield writer.header();
    for (let level = 0; level < writer.layout.levelCount; level++) {
      for (const pass of writer.passes) {
        for await (const t of tiles(level, pass)) yield writer.addTile(level, pass, t.x, t.y, t.z, t.points);
      }
      yield writer.endLevel(level);
    }
    const end = writer.finish();
    yield end.bytes;
    return end.patches;
  });
}

/** A whole OPC file in memory, patches applied (tests, small clouds). */
export async function encodeOpc(options: OpcWriterOptions, tiles: OpcTileSource): Promise<Uint8Array> {
  const { stream, patches } = writeOpc(options, tiles);
  return patchedBytes(stream, patches);
}
