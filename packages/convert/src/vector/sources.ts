/**
 * Vector inputs of a job: every file of the input datasets, recognised by content and extension, opened
 * with its reader. GeoJSON, shapefile sets (.shp with .dbf/.prj/.cpg beside it), KML, KMZ and zip archives
 * (unpacked into scratch), GeoPackage (every feature table) and FlatGeobuf. Companion and unrelated
 * files are skipped, the latter with a warning.
 */
import { openFlatGeobuf, openGeoJson, openKml, openShapefile, FormatError, type VectorReader } from "@realconv/formats";
import { ConversionError, throwIfAborted, type InputDataset, type InputFile, type JobMessage, type ScratchSpace } from "../contract/runner.js";
import { copyToScratch, ScratchUse, unpackZip } from "./archive.js";
import { openGeoPackage } from "./geopackage.js";

export interface VectorSource {
  reader: VectorReader;
  /** The file's path in its dataset, for messages. */
  label: string;
}

export interface OpenedSources {
  sources: VectorSource[];
  close(): void;
}

const COMPANIONS = new Set(["shx", "dbf", "prj", "cpg", "qix", "sbn", "sbx", "qmd", "xml", "fix", "shp.xml", "aux", "lyr"]);
const ZIP = [0x50, 0x4b, 0x03, 0x04];
const SQLITE = "SQLite format 3\0";
const FGB = [0x66, 0x67, 0x62];

type Kind = "geojson" | "shp" | "kml" | "zip" | "gpkg" | "fgb" | "companion" | "unknown";

const extOf = (name: string) => /\.([^./]+)$/.exec(name.toLowerCase())?.[1] ?? "";
const stemOf = (path: string) => path.toLowerCase().replace(/\.[^./]+$/, "");

function startsWith(b: Uint8Array, sig: readonly number[]): boolean {
  return sig.every((v, i) => b[i] === v);
}

async function kindOf(file: InputFile): Promise<Kind> {
  const head = await file.read(0, Math.min(file.size, 512));
  const ext = extOf(file.name);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head).replace(/^\uFEFF/, "").trimStart();
  const label = file.path || file.name;
  const isZip = startsWith(head, ZIP) || (head.byteLength === 22 && head[0] === 0x50 && head[1] === 0x4b);
  const isSqlite = new TextDecoder("latin1").decode(head.subarray(0, 16)) === SQLITE;
  switch (ext) {
    case "geojson":
    case "json":
      return "geojson";
    case "shp":
      return "shp";
    case "kml":
      return "kml";
    case "kmz":
    case "zip":
      if (!isZip) throw new FormatError(`not a zip archive (${ext === "kmz" ? "a KMZ file is a zipped KML" : "bad signature"})`, label, 0);
      return "zip";
    case "gpkg":
      if (!isSqlite) throw new FormatError("not a GeoPackage (a GeoPackage is a SQLite database; the SQLite signature is missing)", label, 0);
      return "gpkg";
    case "fgb":
      return "fgb";
  }
  if (COMPANIONS.has(ext) || file.name.toLowerCase().endsWith(".shp.xml")) return "companion";
  if (isZip) return "zip";
  if (isSqlite) return "gpkg";
  if (startsWith(head, FGB) && head[4] === 0x66) return "fgb";
  if (text.startsWith("{")) return "geojson";
  if (text.startsWith("<") && /<(\w+:)?kml[\s>]/.test(text)) return "kml";
  return "unknown";
}

async function textOf(file: InputFile | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  return new TextDecoder("utf-8").decode(await file.read(0, Math.min(file.size, 1 << 20)));
}

/** Opens every vector file of the datasets (zip archives unpacked into scratch); `close` releases them. */
export async function openVectorSources(
  datasets: readonly InputDataset[],
  scratch: ScratchSpace,
  signal: AbortSignal,
  warn: (m: JobMessage) => void,
): Promise<OpenedSources> {
  const use = new ScratchUse(scratch);
  const sources: VectorSource[] = [];
  const closers: (() => void)[] = [];
  const close = () => {
    for (const c of closers.splice(0)) c();
  };
  const openFiles = async (files: InputFile[], inArchive: boolean) => {
    const byStem = new Map<string, InputFile>();
    for (const f of files) byStem.set(`${stemOf(f.path || f.name)}.${extOf(f.name)}`, f);
    const sibling = (f: InputFile, ext: string) => byStem.get(`${stemOf(f.path || f.name)}.${ext}`);
    for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      throwIfAborted(signal);
      const label = file.path || file.name;
      switch (await kindOf(file)) {
        case "geojson":
          sources.push({ label, reader: openGeoJson(file) });
          break;
        case "kml":
          sources.push({ label, reader: openKml(file) });
          break;
        case "fgb":
          sources.push({ label, reader: openFlatGeobuf(file) });
          break;
        case "shp": {
          const dbf = sibling(file, "dbf");
          if (!sibling(file, "shx")) warn({ code: "InputData_Warning", title: "Input data warning", message: "The shapefile %1 has no .shx index beside it; it was read without one.", params: [label] });
          sources.push({
            label,
            reader: openShapefile({ shp: file, dbf, prj: await textOf(sibling(file, "prj")), cpg: await textOf(sibling(file, "cpg")), layer: file.name.replace(/\.[^.]*$/, "") }),
          });
          break;
        }
        case "zip":
          await openFiles(await unpackZip(file, use, signal), true);
          break;
        case "gpkg": {
          const reader = openGeoPackage(await copyToScratch(file, use, signal), label);
          closers.push(() => reader.close());
          sources.push({ label, reader });
          break;
        }
        case "companion":
          break;
        case "unknown":
          // Archives carry other files (a KMZ's images): only loose files are reported.
          if (!inArchive) warn({ code: "InputData_Warning", title: "Input data warning", message: "The file %1 is not a vector format realconv reads; it was skipped.", params: [label] });
      }
    }
  };
  try {
    for (const d of datasets) await openFiles(await d.files(), false);
  } catch (e) {
    close();
    throw e;
  }
  if (sources.length === 0) {
    close();
    throw new ConversionError("InputData_Invalid", "Invalid input data", "No vector file (GeoJSON, shapefile, KML/KMZ, GeoPackage, FlatGeobuf) was found in %1.", [datasets.map((d) => d.id).join(", ")]);
  }
  return { sources, close };
}
