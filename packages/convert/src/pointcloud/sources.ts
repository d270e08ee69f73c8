/**
 * Point-cloud inputs of a job: every file of the input datasets, recognised by its content (never by its
 * name alone), opened with the matching reader. An E57 file gives one source per scan. Only headers (and
 * the first few KiB of text files) are read here; points are read later, chunk by chunk.
 */
import {
  looksLikeE57,
  looksLikeLas,
  openE57,
  openPly,
  openLasOrLaz,
  openPts,
  openXyz,
  type ColumnName,
  type LasExtraBytesSpec,
  type LasReader,
  type PointChunk,
  type PointSchema,
} from "@realconv/formats";
import { lazReadOptions, type LazWorkerPool } from "../parallel/laz-pool.js";
import { ConversionError, throwIfAborted, type InputDataset, type InputFile } from "../contract/runner.js";

export type SourceFormat = "LAS" | "LAZ" | "E57" | "PLY" | "PTS" | "XYZ" | "ContextScene" | "Mesh";

/** One point cloud to read: a whole file, or one scan of an E57 file. */
export interface PointSource {
  readonly file: InputFile;
  /** For messages: the file path, plus the scan for E57 scans. */
  readonly label: string;
  /** Output path without extension: the input's path without its extension (+ "-<scan>" for E57 scans). */
  readonly baseName: string;
  readonly format: SourceFormat;
  readonly schema: PointSchema;
  /** How the extra attributes are stored in the source (LAS extra bytes keep their type/scale/offset). */
  readonly extraBytes: readonly LasExtraBytesSpec[];
  /** CRS the file states (WKT or "EPSG:n"), undefined when it says none. */
  readonly crs: string | undefined;
  /**
   * Points announced by the file (PTS: its first count line, later scan blocks add theirs); undefined when
   * it does not say (XYZ, E57 scans whose invalid points are dropped). Only a LAS/LAZ source's count is
   * what its chunks give whatever the file says (../pointcloud/output.ts writes one pass on it).
   */
  readonly pointCount: number | undefined;
  /** Points expected, for progress before a first pass has counted them. */
  readonly estimatedCount: number;
  /** Reader warnings (filled while reading for some formats). */
  readonly warnings: readonly string[];
  /** The LAS/LAZ reader, for LAS-specific options (bit-exact LAS -> LAS, common quantisation). */
  readonly las?: LasReader;
  /**
   * The points; may be called again for another pass (same points each time). `only`: the columns the
   * caller keeps (and whether it keeps extra attributes); a source may then leave the others out.
   */
  chunks(signal: AbortSignal, only?: { columns: readonly ColumnName[]; extra: boolean }): AsyncIterable<PointChunk>;
}

const TEXT_SNIFF_BYTES = 4096;

function invalid(file: InputFile, why: string): ConversionError {
  return new ConversionError("InputData_Invalid", "Invalid input data", `The file %1 ${why}`, [file.path || file.name]);
}

function isNumber(token: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token);
}

/**
 * PTS or XYZ by content: text (no control bytes but tab/CR/LF) with a line of at least three numbers in
 * its first KiBs. A first line holding only an integer is a PTS point count; otherwise the extension
 * decides (".pts" -> PTS, anything else XYZ), since both are plain "x y z ..." lines.
 */
export function sniffText(head: Uint8Array, fileName: string): { kind: "PTS" | "XYZ"; bytesPerLine: number } | undefined {
  const complete = head.lastIndexOf(10);
  const text = head.subarray(0, complete >= 0 ? complete : head.length);
  for (const b of text) if ((b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127) return undefined;
  const lines = new TextDecoder("utf-8", { fatal: false }).decode(text).split("\n");
  let first: string[] | undefined;
  let numeric = 0;
  let numericBytes = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("//")) continue;
    const tokens = line.split(/[\s,;]+/).filter((t) => t !== "");
    first ??= tokens;
    if (tokens.length >= 3 && tokens.every(isNumber)) {
      numeric++;
      numericBytes += raw.length + 1;
    }
  }
  if (!first || numeric === 0) return undefined;
  const countLine = first.length === 1 && /^\d+$/.test(first[0]);
  const kind = countLine || /\.pts$/i.test(fileName) ? "PTS" : "XYZ";
  return { kind, bytesPerLine: numericBytes / numeric };
}

function lasSource(file: InputFile, reader: LasReader): PointSource {
  const label = file.path || file.name;
  return {
    file,
    label,
    baseName: stripExtension(label),
    format: reader.compression === "las" ? "LAS" : "LAZ",
    schema: reader.schema,
    extraBytes: reader.extraBytes.map((e) => ({ name: e.name, type: e.type, scale: e.scale, valueOffset: e.valueOffset, noData: e.noData, description: e.description })),
    crs: reader.crs,
    pointCount: reader.pointCount,
    estimatedCount: reader.pointCount,
    warnings: reader.warnings,
    las: reader,
    chunks: (signal, only) => reader.chunks(signal, only),
  };
}

export function stripExtension(path: string): string {
  return path.replace(/\\/g, "/").replace(/^\/+/, "").replace(/\.[^./]*$/, "") || "pointcloud";
}

/** A file-name-safe scan name: path separators and reserved characters become "_". */
function safeName(s: string): string {
  return s.trim().replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "_").replace(/^\.+/, "_");
}

/** Opens one file as point sources (one per E57 scan), by its first bytes; LAZ chunks decompress on `threads`. */
export async function openSources(file: InputFile, threads?: LazWorkerPool): Promise<PointSource[]> {
  const label = file.path || file.name;
  const head = file.size > 0 ? await file.read(0, Math.min(file.size, TEXT_SNIFF_BYTES)) : new Uint8Array(0);
  if (looksLikeLas(head)) return [lasSource(file, await openLasOrLaz(file, lazReadOptions(threads)))];
  if (looksLikeE57(head)) {
    const reader = await openE57(file);
    const names = reader.scans.map((s, i) => safeName(s.name ?? "") || String(i));
    // Two scans with the same name would write the same output: fall back to their indices.
    const unique = new Set(names.map((n) => n.toLowerCase())).size === names.length;
    return reader.scans.map((scan, i) => {
      const columns = reader.schema.columns.filter((c: ColumnName) => scan.columns.includes(c));
      const schema: PointSchema = { columns, extra: scan.extra };
      return {
        file,
        label: `${label} (scan ${scan.name ?? i})`,
        baseName: `${stripExtension(label)}-${unique ? names[i] : String(i)}`,
        format: "E57" as const,
        schema,
        extraBytes: scan.extra.map((e) => ({ name: e.name, type: e.type, description: e.description })),
        crs: reader.crs,
        pointCount: scan.dropsInvalid ? undefined : scan.pointCount,
        estimatedCount: scan.pointCount,
        warnings: reader.warnings,
        chunks: (signal: AbortSignal) => reader.scanChunks(i, signal),
      };
    });
  }
  const ply = head.length >= 4 && head[0] === 0x70 && head[1] === 0x6c && head[2] === 0x79 && (head[3] === 10 || (head[3] === 13 && head[4] === 10));
  const text = ply ? undefined : sniffText(head, file.name);
  if (!ply && !text) {
    throw invalid(file, "is not a point cloud this conversion reads (LAS, LAZ, E57, PLY, PTS, XYZ/TXT); its content matches none of them.");
  }
  const reader = ply ? await openPly(file) : text!.kind === "PTS" ? await openPts(file) : await openXyz(file);
  const estimated = reader.pointCount ?? Math.max(1, Math.round(file.size / Math.max(1, text?.bytesPerLine ?? 30)));
  return [
    {
      file,
      label,
      baseName: stripExtension(label),
      format: ply ? "PLY" : text!.kind,
      schema: reader.schema,
      extraBytes: reader.schema.extra.map((e) => ({ name: e.name, type: e.type, description: e.description })),
      crs: reader.crs,
      pointCount: reader.pointCount,
      estimatedCount: estimated,
      warnings: reader.warnings,
      chunks: (signal) => reader.chunks(signal),
    },
  ];
}

/** Every point source of the datasets, in dataset and file order. */
export async function openPointSources(
  datasets: readonly InputDataset[],
  signal: AbortSignal,
  threads?: LazWorkerPool,
): Promise<PointSource[]> {
  const out: PointSource[] = [];
  for (const ds of datasets) {
    for (const file of await ds.files()) {
      throwIfAborted(signal);
      out.push(...(await openSources(file, threads)));
    }
  }
  if (out.length === 0) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The input reality data %1 holds no point cloud file.", [
      datasets.map((d) => d.id).join(", "),
    ]);
  }
  return out;
}
