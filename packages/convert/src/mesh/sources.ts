/**
 * Mesh inputs of a job: the meshes in each input reality data (OBJ, PLY with faces, glTF/GLB, 3D Tiles
 * tileset.json, 3MX), recognised by content and extension, with their companion files (MTL, textures,
 * buffers, tiles) resolved inside the same reality data, and their textures decoded (sharp).
 */
import { FormatError, isGlb, looksLikeLas, open3mx, openGltf, openObj, openPlyMesh, openTileset, plyHasFaces, UnsupportedMeshEncoding, type MeshReader, type MeshTexture, type RelatedFileResolver } from "./formats.js";
import { ConversionError, throwIfAborted, type InputDataset, type InputFile } from "../contract/runner.js";
import type { DecodedTexture } from "./sampler.js";

/** One mesh to sample, with its decoded textures. */
export interface MeshInput {
  readonly file: InputFile;
  readonly label: string;
  readonly reader: MeshReader;
  /** Its textures, decoded when first used. */
  readonly textures: TextureCache;
  /** Reader warnings; texture decoding adds its own. */
  readonly warnings: string[];
}

/** Normalises a path inside a reality data: "/" separators, no "." or empty parts, ".." resolved. */
export function normalisePath(path: string): string {
  const out: string[] = [];
  for (const part of path.replace(/\\/g, "/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

function dirOf(path: string): string {
  const p = normalisePath(path);
  const k = p.lastIndexOf("/");
  return k < 0 ? "" : p.slice(0, k);
}

/** Files of a reality data by path, with a case-insensitive fallback (meshes made on Windows). */
class FileIndex {
  private readonly exact = new Map<string, InputFile>();
  private readonly folded = new Map<string, InputFile>();
  constructor(files: readonly InputFile[]) {
    for (const f of files) {
      const p = normalisePath(f.path || f.name);
      this.exact.set(p, f);
      if (!this.folded.has(p.toLowerCase())) this.folded.set(p.toLowerCase(), f);
    }
  }
  get(path: string): InputFile | undefined {
    const p = normalisePath(path);
    return this.exact.get(p) ?? this.folded.get(p.toLowerCase());
  }
  /** A resolver for files named relative to `from`; an absolute URL or a path outside the reality data is not found. */
  resolver(from: InputFile): RelatedFileResolver {
    const base = dirOf(from.path || from.name);
    return async (relative) => {
      if (/^[a-z][a-z0-9+.-]*:/i.test(relative)) return undefined;
      let rel = relative;
      try {
        rel = decodeURIComponent(relative);
      } catch {
        // Not URI-encoded: taken as it is.
      }
      const f = this.get(base ? `${base}/${rel}` : rel) ?? this.get(rel.split(/[\\/]/).pop() ?? rel);
      return f ? readWhole(f) : undefined;
    };
  }
}

export async function readWhole(file: InputFile): Promise<Uint8Array> {
  return file.size > 0 ? file.read(0, file.size) : new Uint8Array(0);
}

export type MeshKind = "OBJ" | "PLY" | "glTF" | "3DTiles" | "3MX";

/** The kind of mesh a file is, from its first bytes and its name; undefined for companions and other files. */
export async function meshKindOf(file: InputFile): Promise<MeshKind | undefined> {
  const name = (file.path || file.name).toLowerCase();
  const head = await file.read(0, Math.min(file.size, 512));
  if (isGlb(head)) return "glTF";
  if (head[0] === 0x70 && head[1] === 0x6c && head[2] === 0x79) return (await plyHasFaces(file)) ? "PLY" : undefined;
  if (name.endsWith(".obj")) return "OBJ";
  if (name.endsWith(".gltf")) return "glTF";
  if (name.endsWith(".3mx")) return "3MX";
  if (name.endsWith(".json")) {
    const text = new TextDecoder().decode(head);
    if (/"asset"\s*:/.test(text) && /"root"\s*:|"geometricError"\s*:/.test(text)) return "3DTiles";
  }
  return undefined;
}

function damaged(file: InputFile, e: unknown): ConversionError {
  if (e instanceof UnsupportedMeshEncoding) {
    return new ConversionError("UnsupportedFormat", "Unsupported format", "The mesh %1 cannot be sampled: %2", [file.path || file.name, e.message]);
  }
  const why = e instanceof FormatError ? e.message : e instanceof Error ? e.message : String(e);
  return new ConversionError("InputData_Invalid", "Invalid input data", "The mesh %1 cannot be read: %2", [file.path || file.name, why]);
}

async function decodeTexture(bytes: Uint8Array, repeat: boolean): Promise<DecodedTexture> {
  // sharp (native) is loaded only for meshes with textures.
  const sharp = (await import("sharp")).default;
  const { data, info } = await sharp(bytes, { limitInputPixels: 1 << 28 }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), repeat };
}

/** Decoded textures kept while they fit a byte budget (least recently used ones dropped), decoded on demand. */
export class TextureCache {
  private readonly decoded = new Map<number, DecodedTexture | undefined>();
  private bytes = 0;
  /** Textures that could not be decoded, with why (reported once). */
  readonly failures: string[] = [];
  private readonly failed = new Set<number>();
  constructor(
    private readonly textures: readonly MeshTexture[],
    private readonly budgetBytes = 512 << 20,
  ) {}
  /** Makes sure the given textures are decoded; the returned table serves them by index. */
  async ensure(indices: Iterable<number>): Promise<readonly (DecodedTexture | undefined)[]> {
    for (const i of indices) {
      if (i < 0 || i >= this.textures.length || this.failed.has(i)) continue;
      const hit = this.decoded.get(i);
      if (hit) {
        this.decoded.delete(i);
        this.decoded.set(i, hit);
        continue;
      }
      const t = this.textures[i];
      try {
        const d = await decodeTexture(t.bytes, t.repeat);
        this.decoded.set(i, d);
        this.bytes += d.rgba.byteLength;
      } catch (e) {
        this.failed.add(i);
        this.failures.push(`texture ${t.name} cannot be decoded (${(e as Error).message}); the material colour is used instead`);
      }
      for (const [k, v] of this.decoded) {
        if (this.bytes <= this.budgetBytes || this.decoded.size <= 1) break;
        if (k === i) continue;
        this.decoded.delete(k);
        this.bytes -= v?.rgba.byteLength ?? 0;
      }
    }
    return this.table;
  }
  private get table(): (DecodedTexture | undefined)[] {
    const out: (DecodedTexture | undefined)[] = new Array(this.textures.length);
    for (const [k, v] of this.decoded) out[k] = v;
    return out;
  }
}

/** Opens one mesh file with the reader of its kind. */
export async function openMesh(file: InputFile, kind: MeshKind, related: RelatedFileResolver): Promise<MeshReader> {
  switch (kind) {
    case "OBJ":
      return openObj(file, related);
    case "PLY":
      return openPlyMesh(file, related);
    case "glTF":
      return openGltf(await readWhole(file), file.path || file.name, related);
    case "3DTiles":
      return openTileset(await readWhole(file), file.path || file.name, related);
    case "3MX":
      return open3mx(await readWhole(file), file.path || file.name, related);
  }
}

/** Every mesh of the datasets, in dataset and file order; a dataset without one, or a damaged mesh, fails naming it. */
export async function openMeshInputs(datasets: readonly InputDataset[], signal: AbortSignal): Promise<MeshInput[]> {
  const out: MeshInput[] = [];
  for (const ds of datasets) {
    const files = await ds.files();
    const index = new FileIndex(files);
    const root = ds.rootDocument ? index.get(ds.rootDocument) : undefined;
    const candidates: { file: InputFile; kind: MeshKind }[] = [];
    for (const file of root ? [root] : files) {
      throwIfAborted(signal);
      const kind = await meshKindOf(file);
      if (kind) candidates.push({ file, kind });
    }
    // A tileset's tiles and a 3MX's nodes are read through their root, never on their own.
    const hasRoot = candidates.some((c) => c.kind === "3DTiles" || c.kind === "3MX");
    const chosen = hasRoot ? candidates.filter((c) => c.kind === "3DTiles" || c.kind === "3MX") : candidates;
    const roots = chosen.filter((c) => c.kind !== "3DTiles" || !isReferencedTileset(c.file, chosen));
    if (roots.length === 0) {
      const point = files.find((f) => f.size >= 4);
      const isCloud = point ? looksLikeLas(await point.read(0, Math.min(point.size, 512))) : false;
      throw new ConversionError("InputData_Invalid", "Invalid input data", "The input reality data %1 holds no mesh this job samples (OBJ, PLY with faces, glTF/GLB, 3D Tiles, 3MX)%2.", [
        ds.id,
        isCloud ? "; it holds a point cloud" : files.length > 0 ? `; its files: ${files.slice(0, 5).map((f) => f.path || f.name).join(", ")}` : "; it has no files",
      ]);
    }
    for (const { file, kind } of roots) {
      throwIfAborted(signal);
      let reader: MeshReader;
      try {
        reader = await openMesh(file, kind, index.resolver(file));
      } catch (e) {
        if (e instanceof ConversionError) throw e;
        throw damaged(file, e);
      }
      out.push({ file, label: file.path || file.name, reader, textures: new TextureCache(reader.textures), warnings: reader.warnings });
    }
  }
  return out;
}

/** External tilesets a tileset refers to are read through it. */
function isReferencedTileset(file: InputFile, all: readonly { file: InputFile; kind: MeshKind }[]): boolean {
  const name = normalisePath(file.path || file.name);
  const tilesets = all.filter((c) => c.kind === "3DTiles");
  // The shallowest tileset.json is the root; deeper ones are taken as external tilesets of it.
  const depth = (p: string) => p.split("/").length;
  const min = Math.min(...tilesets.map((c) => depth(normalisePath(c.file.path || c.file.name))));
  return depth(name) > min;
}

/** Re-raises reader failures met while sampling as job failures naming the file. */
export function asJobError(input: MeshInput, e: unknown): unknown {
  if (e instanceof FormatError) return damaged(input.file, e);
  return e;
}
