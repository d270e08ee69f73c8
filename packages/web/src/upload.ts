/**
 * What a drop or a file picker hands over, as files named by their path inside the reality data: a dropped
 * folder is walked (its files keep their relative paths, the folder itself is not part of them).
 */

export interface StagedFile {
  /** Blob name in the container, `/`-separated. */
  name: string;
  file: File;
}

export interface Staged {
  files: StagedFile[];
  /** A name for the reality data: the folder's or the first file's. */
  displayName: string;
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    // readEntries answers in batches (100 in Chrome) until an empty one.
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return resolve(out);
        out.push(...batch);
        next();
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: StagedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ name: `${prefix}${entry.name}`, file });
  } else if (entry.isDirectory) {
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader())) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

/** Must be called during the drop event: a DataTransfer is emptied once its event is over. */
export function collectDrop(dt: DataTransfer): () => Promise<Staged> {
  const entries = [...dt.items].filter((i) => i.kind === "file").map((i) => i.webkitGetAsEntry?.() ?? null);
  const files = [...dt.files];
  return async () => {
    if (entries.length > 0 && entries.every((e) => e !== null)) {
      const list = entries as FileSystemEntry[];
      // One folder dropped: its content is the reality data.
      if (list.length === 1 && list[0].isDirectory) {
        const out: StagedFile[] = [];
        for (const child of await readAll((list[0] as FileSystemDirectoryEntry).createReader())) await walk(child, "", out);
        return { files: out, displayName: list[0].name };
      }
      const out: StagedFile[] = [];
      for (const e of list) await walk(e, "", out);
      return { files: out, displayName: list[0].name };
    }
    return fromFileList(files);
  };
}

/** Files of an `<input type="file">` (with `webkitdirectory`, their relative paths less the chosen folder). */
export function fromFileList(files: File[]): Staged {
  const rel = files.map((f) => f.webkitRelativePath || f.name);
  const folder = rel.length > 0 && rel.every((r) => r.includes("/")) ? rel[0].split("/")[0] : undefined;
  return {
    files: files.map((file, i) => ({ file, name: folder ? rel[i].slice(folder.length + 1) : rel[i] })),
    displayName: folder ?? files[0]?.name ?? "upload",
  };
}

const BY_EXTENSION: Record<string, string> = {
  laz: "LAZ", las: "LAS", e57: "E57", ply: "PLY", opc: "OPC", pod: "PointCloud", pnts: "PNTS",
  tif: "Orthophoto", tiff: "Orthophoto", jpg: "Orthophoto", jpeg: "Orthophoto", jp2: "Orthophoto", png: "Orthophoto",
  geojson: "GeoJSON", shp: "SHP", kml: "KML", obj: "OBJ", glb: "GLB", gltf: "GLTF", "3mx": "3MX", "3sm": "3SM",
};
/** Companion files that do not decide the type (world files, shapefile parts, materials, textures of a mesh). */
const COMPANIONS = new Set(["wld", "tfw", "jgw", "pgw", "aux", "xml", "prj", "dbf", "shx", "cpg", "mtl", "txt", "json", "bin", "3mxb"]);

/** The reality data type the files most likely are: by extension, `ContextScene` for a scene document, else Unstructured. */
export function guessType(names: string[]): string {
  const base = names.map((n) => n.slice(n.lastIndexOf("/") + 1).toLowerCase());
  if (base.includes("tileset.json")) return "Cesium3DTiles";
  if (base.some((n) => n === "contextscene.xml" || n === "contextscene.json")) return "ContextScene";
  const types = new Set<string>();
  for (const n of base) {
    const ext = n.includes(".") ? n.slice(n.lastIndexOf(".") + 1) : "";
    const t = BY_EXTENSION[ext];
    if (t) types.add(t);
    else if (!COMPANIONS.has(ext)) return "Unstructured";
  }
  if (types.size === 1) return [...types][0];
  if (types.size === 0 && base.some((n) => n.endsWith(".json"))) return "GeoJSON";
  return "Unstructured";
}

export const REALITY_DATA_TYPES = [
  "LAZ", "LAS", "E57", "PLY", "OPC", "PointCloud", "PNTS", "Orthophoto", "OrthophotoDSM", "GeoJSON", "SHP", "KML",
  "ContextScene", "Cesium3DTiles", "OBJ", "GLB", "GLTF", "3MX", "3SM", "Unstructured",
];
