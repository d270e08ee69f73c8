/**
 * Wavefront OBJ meshes (+ MTL materials and their diffuse textures).
 *
 * Read: `v x y z [w]` and `v x y z r g b` (per-vertex colours 0..1, as MeshLab and PDAL write them), `vt`,
 * `vn`, `f` with any of the `v`, `v/vt`, `v//vn`, `v/vt/vn` corner forms and negative (relative) indices;
 * polygons are fanned into triangles. `usemtl` selects a material from the `mtllib` files (Kd colour and
 * map_Kd texture, both fetched through the resolver). Points, lines, groups and smoothing groups are ignored.
 * OBJ has no unit and no CRS: coordinates are taken as metres unless the caller says otherwise.
 * The file is scanned once in blocks; the mesh is kept as typed arrays and served in de-indexed batches.
 */
import { FormatError, type ByteSource } from "../io/byte-source.js";
import { parseNumber } from "../pointcloud/text/number.js";
import {
  boundsOfVertices,
  GrowableF32,
  GrowableF64,
  GrowableI32,
  GrowableU8,
  indexedBatches,
  type IndexedMesh,
  type MeshMaterial,
  type MeshReader,
  type MeshTexture,
  type RelatedFileResolver,
  type TriangleBatch,
} from "./model.js";

const BLOCK = 4 << 20;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

interface MtlMaterial {
  name: string;
  colour: [number, number, number];
  map?: string;
}

/** Parses an MTL file: newmtl, Kd, map_Kd (its options skipped; the rest of the line is the file name, spaces included). */
export function parseMtl(text: string): MtlMaterial[] {
  const out: MtlMaterial[] = [];
  let current: MtlMaterial | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+)\s*(.*)$/.exec(line)!;
    const key = m[1].toLowerCase();
    const rest = m[2].trim();
    if (key === "newmtl") {
      current = { name: rest, colour: [1, 1, 1] };
      out.push(current);
    } else if (!current) {
      continue;
    } else if (key === "kd") {
      const v = rest.split(/\s+/).map(Number);
      if (v.length >= 3 && v.slice(0, 3).every(Number.isFinite)) current.colour = [v[0], v[1], v[2]];
    } else if (key === "map_kd") {
      current.map = textureFileOf(rest);
    }
  }
  return out;
}

/** Options of map_* statements and how many values each takes. */
const MAP_OPTIONS: Record<string, number> = { "-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1, "-mm": 2, "-o": 3, "-s": 3, "-t": 3, "-texres": 1, "-type": 1 };

function textureFileOf(rest: string): string {
  const words = rest.split(/\s+/);
  let i = 0;
  while (i < words.length && MAP_OPTIONS[words[i].toLowerCase()] !== undefined) {
    const takes = MAP_OPTIONS[words[i].toLowerCase()];
    i++;
    // -o/-s/-t take 1 to 3 numbers.
    let k = 0;
    while (k < takes && i < words.length && (takes === 1 || /^[-+]?[\d.]/.test(words[i]))) {
      i++;
      k++;
    }
  }
  return rest.split(/\s+/).slice(i).join(" ").trim() || rest;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 11 || c === 12;
}

/** Reads an OBJ mesh; MTL files and textures come from `related`. */
export async function openObj(src: ByteSource, related: RelatedFileResolver): Promise<MeshReader> {
  const name = src.name;
  const positions = new GrowableF64(3 * 4096);
  let colours: GrowableU8 | undefined;
  const uvValues = new GrowableF32(2 * 4096);
  const normalValues = new GrowableF32(3 * 4096);
  const corners = new GrowableI32(3 * 8192);
  let uvCorners: GrowableI32 | undefined;
  let normalCorners: GrowableI32 | undefined;
  const faceMaterials = new GrowableI32(8192);
  const mtlLibs: string[] = [];
  const materialIndex = new Map<string, number>();
  const materialNames: string[] = [];
  let currentMaterial = -1;
  let anyMaterial = false;
  const warnings: string[] = [];
  // Per polygon: its corners' three indices, before triangulation.
  const polyV: number[] = [];
  const polyT: number[] = [];
  const polyN: number[] = [];
  let lineNo = 0;
  let filePos = 0;

  const fail = (msg: string, at: number): never => {
    throw new FormatError(`line ${lineNo}: ${msg}`, name, at);
  };

  const handleLine = (b: Uint8Array, start: number, end: number, at: number) => {
    lineNo++;
    let i = start;
    while (i < end && isSpace(b[i])) i++;
    if (i >= end || b[i] === 35 /* # */) return;
    const keyStart = i;
    while (i < end && !isSpace(b[i])) i++;
    const keyEnd = i;
    const k0 = b[keyStart];
    const keyLen = keyEnd - keyStart;
    // Tokens after the keyword.
    const nums = (max: number, out: number[]) => {
      out.length = 0;
      while (out.length < max) {
        while (i < end && isSpace(b[i])) i++;
        if (i >= end) break;
        const s = i;
        while (i < end && !isSpace(b[i])) i++;
        const v = parseNumber(b, s, i);
        if (Number.isNaN(v)) fail(`"${latin1.decode(b.subarray(s, i))}" is not a number`, at + (s - start));
        out.push(v);
      }
      return out;
    };
    if (k0 === 118 /* v */ && keyLen === 1) {
      const v = nums(7, scratch);
      if (v.length < 3) fail("a vertex needs x, y and z", at);
      positions.push(v[0]);
      positions.push(v[1]);
      positions.push(v[2]);
      if (v.length >= 6) {
        const vertex = positions.length / 3 - 1;
        if (!colours) {
          colours = new GrowableU8(4 * Math.max(1024, positions.data.length / 3));
          // Vertices before the first coloured one are white.
          for (let p = 0; p < vertex; p++) for (let c = 0; c < 4; c++) colours.push(255);
        }
        // Colours are 0..1 by convention; some writers use 0..255.
        const scale = v[3] > 1 || v[4] > 1 || v[5] > 1 ? 1 : 255;
        colours.push(clampByte(v[3] * scale));
        colours.push(clampByte(v[4] * scale));
        colours.push(clampByte(v[5] * scale));
        colours.push(255);
      } else if (colours) {
        for (let c = 0; c < 4; c++) colours.push(255);
      }
    } else if (k0 === 118 && keyLen === 2 && b[keyStart + 1] === 116 /* vt */) {
      const v = nums(3, scratch);
      if (v.length < 1) fail("a texture coordinate needs u", at);
      uvValues.push(v[0]);
      uvValues.push(v.length > 1 ? v[1] : 0);
    } else if (k0 === 118 && keyLen === 2 && b[keyStart + 1] === 110 /* vn */) {
      const v = nums(3, scratch);
      if (v.length < 3) fail("a normal needs x, y and z", at);
      normalValues.push(v[0]);
      normalValues.push(v[1]);
      normalValues.push(v[2]);
    } else if (k0 === 102 /* f */ && keyLen === 1) {
      polyV.length = polyT.length = polyN.length = 0;
      const nv = positions.length / 3;
      const nt = uvValues.length / 2;
      const nn = normalValues.length / 3;
      for (;;) {
        while (i < end && isSpace(b[i])) i++;
        if (i >= end) break;
        // v[/vt][/vn]
        const ref = [0, 0, 0];
        let part = 0;
        let s = i;
        while (i <= end) {
          const c = i < end ? b[i] : 32;
          if (c === 47 /* / */ || isSpace(c) || i === end) {
            if (i > s) {
              const idx = parseNumber(b, s, i);
              if (!Number.isInteger(idx) || idx === 0) fail(`bad face index "${latin1.decode(b.subarray(s, i))}"`, at + (s - start));
              ref[part] = idx;
            }
            if (c !== 47) break;
            part++;
            if (part > 2) fail("a face corner has more than three indices", at + (i - start));
            s = i + 1;
          }
          i++;
        }
        const resolve = (idx: number, n: number, what: string) => {
          if (idx === 0) return -1;
          const r = idx > 0 ? idx - 1 : n + idx;
          if (r < 0 || r >= n) fail(`face refers to ${what} ${idx}, but ${n} are defined so far`, at);
          return r;
        };
        if (ref[0] === 0) fail("a face corner needs a vertex index", at);
        polyV.push(resolve(ref[0], nv, "vertex"));
        polyT.push(resolve(ref[1], nt, "texture coordinate"));
        polyN.push(resolve(ref[2], nn, "normal"));
      }
      if (polyV.length < 3) {
        if (polyV.length > 0) warnings.push(`${name}: line ${lineNo}: a face with fewer than 3 corners was skipped`);
        return;
      }
      const hasT = polyT.some((t) => t >= 0);
      const hasN = polyN.some((n) => n >= 0);
      if (hasT && !uvCorners) uvCorners = filled(corners.length);
      if (hasN && !normalCorners) normalCorners = filled(corners.length);
      for (let k = 1; k + 1 < polyV.length; k++) {
        for (const c of [0, k, k + 1]) {
          corners.push(polyV[c]);
          uvCorners?.push(polyT[c]);
          normalCorners?.push(polyN[c]);
        }
        faceMaterials.push(currentMaterial);
      }
    } else if (keyLen === 6 && latin1.decode(b.subarray(keyStart, keyEnd)) === "usemtl") {
      const mtl = utf8.decode(b.subarray(i, end)).trim();
      let m = materialIndex.get(mtl);
      if (m === undefined) {
        m = materialNames.length;
        materialNames.push(mtl);
        materialIndex.set(mtl, m);
      }
      currentMaterial = m;
      anyMaterial = true;
    } else if (keyLen === 6 && latin1.decode(b.subarray(keyStart, keyEnd)) === "mtllib") {
      const rest = utf8.decode(b.subarray(i, end)).trim();
      // Several names may follow; a single name with spaces is tried whole first.
      if (rest) mtlLibs.push(rest);
    }
  };
  const scratch: number[] = [];

  let carry = new Uint8Array(0);
  for (filePos = 0; filePos < src.size; ) {
    const block = await src.read(filePos, Math.min(BLOCK, src.size - filePos));
    if (block.byteLength === 0) throw new FormatError("unexpected end of file", name, filePos);
    const bytes = carry.length > 0 ? concat(carry, block) : block;
    const base = filePos - carry.length;
    filePos += block.byteLength;
    const last = filePos >= src.size;
    let s = 0;
    for (let p = 0; p < bytes.length; p++) {
      if (bytes[p] === 10) {
        handleLine(bytes, s, p, base + s);
        s = p + 1;
      }
    }
    if (last) {
      if (s < bytes.length) handleLine(bytes, s, bytes.length, base + s);
      carry = new Uint8Array(0);
    } else {
      carry = bytes.slice(s);
    }
  }
  const vertexCount = positions.length / 3;
  if (vertexCount === 0 || corners.length === 0) {
    throw new FormatError(vertexCount === 0 ? "no vertices: not an OBJ mesh" : "no faces: an OBJ without faces is not a mesh", name, 0);
  }

  // Materials from the MTL libraries, by name; textures fetched once each.
  const textures: MeshTexture[] = [];
  const textureIndex = new Map<string, number>();
  const byName = new Map<string, MtlMaterial>();
  for (const lib of mtlLibs) {
    const candidates = [lib, ...lib.split(/\s+/)];
    for (const file of new Set(candidates)) {
      const bytes = await related(file);
      if (!bytes) continue;
      for (const m of parseMtl(utf8.decode(bytes))) if (!byName.has(m.name)) byName.set(m.name, m);
      break;
    }
  }
  if (mtlLibs.length > 0 && byName.size === 0) warnings.push(`${name}: material library ${mtlLibs.join(", ")} not found; materials ignored`);
  const materials: MeshMaterial[] = [];
  for (const m of materialNames) {
    const mtl = byName.get(m);
    let texture = -1;
    if (mtl?.map) {
      const known = textureIndex.get(mtl.map);
      if (known !== undefined) {
        texture = known;
      } else {
        const bytes = await related(mtl.map);
        if (bytes) {
          texture = textures.length;
          textures.push({ name: mtl.map, bytes, repeat: true });
          textureIndex.set(mtl.map, texture);
        } else {
          warnings.push(`${name}: texture ${mtl.map} of material ${m} not found; its colour is used instead`);
        }
      }
    }
    materials.push({ name: m, colour: mtl?.colour ?? [1, 1, 1], texture });
  }
  const mesh: IndexedMesh = {
    positions: positions.view(),
    corners: corners.view(),
    vertexColours: colours?.view(),
    uvs: uvCorners ? { values: uvValues.view(), corners: uvCorners.view() } : undefined,
    normals: normalCorners ? { values: normalValues.view(), corners: normalCorners.view() } : undefined,
    materials: anyMaterial && byName.size > 0 ? faceMaterials.view() : undefined,
  };
  const bounds = boundsOfVertices(mesh.positions, mesh.corners);
  return {
    name,
    format: "OBJ",
    triangleCount: mesh.corners.length / 3,
    bounds,
    materials: mesh.materials ? materials : [],
    textures: mesh.materials ? textures : [],
    crs: undefined,
    metresPerUnit: undefined,
    warnings,
    batches: (signal?: AbortSignal): AsyncIterable<TriangleBatch> => indexedBatches(mesh, name, signal),
  };
}

function filled(n: number): GrowableI32 {
  const g = new GrowableI32(Math.max(1024, n * 2));
  for (let k = 0; k < n; k++) g.push(-1);
  return g;
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
