/**
 * 3D Tiles (1.0 and 1.1) meshes: tileset.json with b3dm or glb contents, external tilesets followed. Only
 * the finest level is sampled: the contents of leaf tiles, and with ADD refinement every content (an ADD
 * child adds to its parent instead of replacing it). Tile transforms are applied (and b3dm RTC_CENTER);
 * contents are glTF (Y-up, turned Z-up as the 3D Tiles spec prescribes). The result is in the tileset's
 * frame, which for georeferenced tilesets is ECEF (EPSG:4978), in metres.
 * Tiles are loaded one at a time when the batches are read (memory: one tile's document).
 */
import { FormatError } from "../io/byte-source.js";
import { documentMesh, isGlb, multiplyMat4, readGltfDocument } from "./gltf.js";
import { emptyBounds, type MeshMaterial, type MeshReader, type MeshTexture, type RelatedFileResolver, type TriangleBatch } from "./model.js";
import { dirname, joinPath } from "./paths.js";

const utf8 = new TextDecoder("utf-8");

interface TileJson {
  transform?: number[];
  refine?: string;
  content?: { uri?: string; url?: string };
  contents?: { uri?: string; url?: string }[];
  children?: TileJson[];
}

interface ContentRef {
  path: string;
  matrix: Float64Array | undefined;
}

/** The glTF of a tile content (b3dm unwrapped, its RTC_CENTER as a translation), or why it is skipped. */
export function tileGlb(bytes: Uint8Array, name: string): { glb: Uint8Array; rtc?: [number, number, number] } | string {
  if (isGlb(bytes)) return { glb: bytes };
  const magic = utf8.decode(bytes.subarray(0, 4));
  if (magic !== "b3dm") return magic === "pnts" || magic === "i3dm" || magic === "cmpt" ? `${magic} content is not a mesh sampled here` : "unknown tile content";
  if (bytes.length < 28) throw new FormatError("b3dm header truncated", name, 0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let ftJson = dv.getUint32(12, true);
  let ftBin = dv.getUint32(16, true);
  let btJson = dv.getUint32(20, true);
  let btBin = dv.getUint32(24, true);
  let header = 28;
  // Legacy b3dm headers (batchLength/batchTableByteLength at 20/24): a "length" past the file means legacy.
  if (btJson >= 570425344) {
    header = 20;
    btJson = ftJson;
    btBin = 0;
    ftJson = ftBin = 0;
  }
  let rtc: [number, number, number] | undefined;
  if (ftJson > 0) {
    try {
      const ft = JSON.parse(utf8.decode(bytes.subarray(header, header + ftJson))) as { RTC_CENTER?: number[] };
      if (Array.isArray(ft.RTC_CENTER) && ft.RTC_CENTER.length === 3) rtc = [ft.RTC_CENTER[0], ft.RTC_CENTER[1], ft.RTC_CENTER[2]];
    } catch {
      throw new FormatError("b3dm feature table JSON is not valid", name, header);
    }
  }
  const start = header + ftJson + ftBin + btJson + btBin;
  if (start >= bytes.length) throw new FormatError("b3dm without its glTF", name, start);
  return { glb: bytes.subarray(start), rtc };
}

/** Reads a tileset.json; tiles and external tilesets come from `related` (paths relative to the tileset). */
export async function openTileset(bytes: Uint8Array, name: string, related: RelatedFileResolver): Promise<MeshReader> {
  const warnings: string[] = [];
  const contents: ContentRef[] = [];
  const visitTileset = async (json: { root?: TileJson; asset?: unknown }, dir: string, parent: Float64Array | undefined, file: string, depth: number) => {
    if (!json || typeof json !== "object" || !json.root || !json.asset) throw new FormatError("not a 3D Tiles tileset (no asset or root)", file, 0);
    if (depth > 16) throw new FormatError("external tilesets nested too deep", file, 0);
    const walk = async (tile: TileJson, matrix: Float64Array | undefined, refine: string) => {
      let m = matrix;
      if (Array.isArray(tile.transform) && tile.transform.length === 16) m = m ? multiplyMat4(m, tile.transform) : Float64Array.from(tile.transform);
      const r = (tile.refine ?? refine).toUpperCase();
      const children = Array.isArray(tile.children) ? tile.children : [];
      const list = [...(tile.content ? [tile.content] : []), ...(Array.isArray(tile.contents) ? tile.contents : [])];
      const finest = children.length === 0 || r === "ADD";
      for (const c of list) {
        const uri = c.uri ?? c.url;
        if (!uri) continue;
        const path = joinPath(dir, uri.split("?")[0]);
        if (/\.json$/i.test(path)) {
          const sub = await related(path);
          if (!sub) throw new FormatError(`the external tileset ${uri} is missing`, file, 0);
          let parsed;
          try {
            parsed = JSON.parse(utf8.decode(sub));
          } catch (e) {
            throw new FormatError(`external tileset ${uri}: ${(e as Error).message}`, file, 0);
          }
          await visitTileset(parsed, dirname(path), m, path, depth + 1);
        } else if (finest) {
          contents.push({ path, matrix: m });
        }
      }
      for (const child of children) await walk(child, m, r);
    };
    await walk(json.root, parent, "REPLACE");
  };
  let json;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw new FormatError(`not JSON: ${(e as Error).message}`, name, 0);
  }
  await visitTileset(json, "", undefined, name, 0);
  const materials: MeshMaterial[] = [];
  const textures: MeshTexture[] = [];
  const load = async (c: ContentRef, tableMaterials: MeshMaterial[], tableTextures: MeshTexture[], tileWarnings: string[]) => {
    const data = await related(c.path);
    if (!data) throw new FormatError(`the tile ${c.path} is missing`, name, 0);
    const glb = tileGlb(data, c.path);
    if (typeof glb === "string") {
      tileWarnings.push(`${c.path}: ${glb}; skipped`);
      return undefined;
    }
    const doc = await readGltfDocument(glb.glb, c.path, async () => undefined);
    let m = c.matrix;
    if (glb.rtc) {
      const t = new Float64Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, glb.rtc[0], glb.rtc[1], glb.rtc[2], 1]);
      m = m ? multiplyMat4(m, t) : t;
    }
    return documentMesh(doc, c.path, m, tableMaterials, tableTextures, tileWarnings);
  };
  // Counts, bounds and the material table (textures included) from a first read of every tile.
  let triangleCount = 0;
  const bounds = emptyBounds();
  const firstMaterial: number[] = [];
  for (const c of contents) {
    firstMaterial.push(materials.length);
    const mesh = await load(c, materials, textures, warnings);
    if (!mesh) continue;
    triangleCount += mesh.triangleCount;
    for (let a = 0; a < 3; a++) {
      bounds[a] = Math.min(bounds[a], mesh.bounds[a]);
      bounds[a + 3] = Math.max(bounds[a + 3], mesh.bounds[a + 3]);
    }
  }
  if (triangleCount === 0) throw new FormatError("no triangles in the finest tiles", name, 0);
  return {
    name,
    format: "3DTiles",
    triangleCount,
    bounds,
    materials,
    textures,
    crs: contents.some((c) => c.matrix !== undefined) || bounds[3] > 6e6 || bounds[0] < -6e6 ? "EPSG:4978" : undefined,
    metresPerUnit: 1,
    warnings,
    batches: async function* (signal?: AbortSignal): AsyncGenerator<TriangleBatch> {
      for (let k = 0; k < contents.length; k++) {
        // Each tile's materials land where the first read put them.
        const tileMaterials: MeshMaterial[] = [];
        const mesh = await load(contents[k], tileMaterials, [], []);
        if (!mesh) continue;
        for await (const b of mesh.batches(signal)) {
          if (b.materials) for (let t = 0; t < b.count; t++) if (b.materials[t] >= 0) b.materials[t] += firstMaterial[k];
          yield b;
        }
      }
    },
  };
}
