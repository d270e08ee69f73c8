/**
 * LAZ reader: decompresses one LAZ chunk at a time with laz-perf's WASM ChunkDecoder (formats 0..3 and
 * 6..8), reading each chunk's bytes through the ByteSource, then decodes the records with the LAS
 * record decoder. Memory: one compressed chunk plus two output blocks of `chunkPoints` records.
 */
import { createLazPerf } from "laz-perf";
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { readLasHeader, type LasHeader } from "../las/header.js";
import { throwIfAborted } from "../las/abort.js";
import { LasReader, type LasReadOptions, type RecordBlockSource } from "../las/reader.js";
import { parseLaszipVlr, readChunkTable, VARIABLE_CHUNK_SIZE, type LazChunk, type LaszipVlr } from "./chunk-table.js";

/** The part of the laz-perf module we use (its typings need @types/emscripten, which we do not ship). */
export interface LazPerfModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  ChunkDecoder: new () => {
    open(pdrf: number, recordLength: number, ptr: number): void;
    getPoint(ptr: number): void;
    delete(): void;
  };
  LASZip: new () => {
    open(ptr: number, length: number): void;
    getPoint(ptr: number): void;
    getCount(): number;
    getPointLength(): number;
    getPointFormat(): number;
    delete(): void;
  };
}

let lazPerfPromise: Promise<LazPerfModule> | undefined;

/** The laz-perf WASM module, instantiated once per process. */
export function lazPerf(): Promise<LazPerfModule> {
  lazPerfPromise ??= (createLazPerf as () => Promise<LazPerfModule>)();
  return lazPerfPromise;
}

/**
 * After the WASM failed (an Emscripten abort leaves the instance unusable, and a failed decode may have
 * grown its memory), later readers get a fresh instance; readers still holding the old one keep it.
 */
function discardLazPerf(): void {
  lazPerfPromise = undefined;
}

/** Layers per laszip item in a layered (LAS 1.4) chunk: POINT14 9, RGB14 1, RGBNIR14 2, WAVEPACKET14 1, BYTE14 one per byte. */
function layerCount(items: LaszipVlr["items"]): number | undefined {
  let n = 0;
  for (const it of items) {
    if (it.type === 10) n += 9;
    else if (it.type === 11 || it.type === 13) n += 1;
    else if (it.type === 12) n += 2;
    else if (it.type === 14) n += it.size;
    else return undefined;
  }
  return n;
}

/**
 * Checks a layered chunk's own header (first point raw, point count, layer sizes) before laz-perf sees
 * it: the decoder allocates what the layer sizes say, so corrupt sizes must not reach it.
 */
function checkLayeredChunk(bytes: Uint8Array, c: number, ch: LazChunk, lz: LaszipVlr, rl: number, last: boolean, file: string): void {
  const layers = layerCount(lz.items);
  if (layers === undefined) throw new FormatError(`laszip items ${lz.items.map((i) => i.type).join(",")} are not LAS 1.4 layered items`, file, ch.start);
  const headEnd = rl + 4 + 4 * layers;
  if (headEnd > bytes.byteLength) throw new FormatError(`LAZ chunk ${c} (${bytes.byteLength} bytes) is shorter than its own header`, file, ch.start);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = v.getUint32(rl, true);
  const countOk = count === ch.pointCount || (last && count > ch.pointCount && (lz.chunkSize === VARIABLE_CHUNK_SIZE || count <= lz.chunkSize));
  if (!countOk) throw new FormatError(`LAZ chunk ${c} says ${count} points where ${ch.pointCount} are expected`, file, ch.start + rl);
  let total = headEnd;
  for (let i = 0; i < layers; i++) total += v.getUint32(rl + 4 + 4 * i, true);
  if (total > bytes.byteLength) {
    throw new FormatError(`LAZ chunk ${c} layer sizes add up to ${total} bytes, more than the chunk's ${bytes.byteLength}`, file, ch.start + rl + 4);
  }
}

/** Formats the laz-perf WASM can decompress. */
export const LAZ_DECODABLE_FORMATS: readonly number[] = [0, 1, 2, 3, 6, 7, 8];

export function isLazHeader(h: LasHeader): boolean {
  return h.compressedFlag || h.vlrs.some((r) => r.userId === "laszip encoded" && r.recordId === 22204);
}

/** Cleanup after a WASM failure must not hide the FormatError that reports it. */
function safely(f: () => void): void {
  try {
    f();
  } catch {
    discardLazPerf();
  }
}

/** Grows-only scratch allocation in the WASM heap. */
class WasmBuffer {
  ptr = 0;
  size = 0;
  constructor(private readonly m: LazPerfModule) {}
  ensure(size: number): number {
    if (size > this.size) {
      if (this.ptr) this.m._free(this.ptr);
      this.ptr = this.m._malloc(size);
      if (!this.ptr) throw new Error(`laz-perf: cannot allocate ${size} bytes`);
      this.size = size;
    }
    return this.ptr;
  }
  free(): void {
    if (this.ptr) this.m._free(this.ptr);
    this.ptr = this.size = 0;
  }
}

function lazRecordBlocks(src: ByteSource, h: LasHeader, lz: LaszipVlr, chunks: readonly LazChunk[]): RecordBlockSource {
  return async function* (maxPoints, signal) {
    const m = await lazPerf();
    const rl = h.recordLength;
    const compressed = new WasmBuffer(m);
    const out = new WasmBuffer(m);
    let block = new Uint8Array(maxPoints * rl);
    let filled = 0;
    try {
      for (let c = 0; c < chunks.length; c++) {
        throwIfAborted(signal);
        const ch = chunks[c];
        const bytes = await src.read(ch.start, ch.byteLength);
        if (bytes.byteLength < ch.byteLength) {
          throw new FormatError(`LAZ chunk ${c} is truncated (${bytes.byteLength} of ${ch.byteLength} bytes)`, src.name, ch.start + bytes.byteLength);
        }
        if (lz.compressor === 3) checkLayeredChunk(bytes, c, ch, lz, rl, c === chunks.length - 1, src.name);
        // Slack after the chunk: the arithmetic decoder reads a few bytes ahead of what it uses.
        const cptr = compressed.ensure(ch.byteLength + 64);
        m.HEAPU8.fill(0, cptr + ch.byteLength, cptr + ch.byteLength + 64);
        m.HEAPU8.set(bytes, cptr);
        const decoder = new m.ChunkDecoder();
        try {
          try {
            decoder.open(h.pdrf, rl, cptr);
          } catch (e) {
            discardLazPerf();
            throw new FormatError(`LAZ chunk ${c} cannot be opened: ${(e as Error)?.message ?? e}`, src.name, ch.start);
          }
          let left = ch.pointCount;
          while (left > 0) {
            const k = Math.min(left, maxPoints - filled);
            const optr = out.ensure(maxPoints * rl);
            try {
              for (let i = 0; i < k; i++) decoder.getPoint(optr + i * rl);
            } catch (e) {
              discardLazPerf();
              throw new FormatError(`LAZ chunk ${c} is corrupt: ${(e as Error)?.message ?? e}`, src.name, ch.start);
            }
            // HEAPU8 is re-read after the calls: the WASM memory may have grown and moved.
            block.set(m.HEAPU8.subarray(optr, optr + k * rl), filled * rl);
            filled += k;
            left -= k;
            if (filled === maxPoints) {
              yield { bytes: block, count: filled };
              throwIfAborted(signal);
              block = new Uint8Array(maxPoints * rl);
              filled = 0;
            }
          }
        } finally {
          safely(() => decoder.delete());
        }
      }
      if (filled > 0) yield { bytes: block, count: filled };
    } finally {
      safely(() => compressed.free());
      safely(() => out.free());
    }
  };
}

/** A LAS reader whose records come from LAZ chunks; also exposes the laszip VLR and the chunk table. */
export class LazReader extends LasReader {
  constructor(
    src: ByteSource,
    header: LasHeader,
    warnings: string[],
    readonly laszip: LaszipVlr,
    readonly lazChunks: readonly LazChunk[],
    options: LasReadOptions = {},
  ) {
    super(src, header, warnings, "laz", lazRecordBlocks(src, header, laszip, lazChunks), options);
  }
}

/** Opens a LAZ file (LAZ 1.0-1.4, point-wise or layered chunks; COPC files read as plain LAZ). */
export async function openLaz(src: ByteSource, options: LasReadOptions = {}): Promise<LazReader> {
  const warnings: string[] = [];
  const h = await readLasHeader(src, warnings);
  return openLazWithHeader(src, h, warnings, options);
}

export async function openLazWithHeader(src: ByteSource, h: LasHeader, warnings: string[], options: LasReadOptions = {}): Promise<LazReader> {
  const vlr = h.vlrs.find((r) => r.userId === "laszip encoded" && r.recordId === 22204);
  if (!vlr) throw new FormatError("LAZ file without a laszip VLR (user 'laszip encoded', record 22204)", src.name, h.headerSize);
  const lz = parseLaszipVlr(vlr.data, src.name, vlr.dataOffset);
  if (!LAZ_DECODABLE_FORMATS.includes(h.pdrf)) {
    throw new FormatError(
      `LAZ point format ${h.pdrf} (with waveform packets) cannot be decompressed; supported compressed formats are ${LAZ_DECODABLE_FORMATS.join(", ")}`,
      src.name,
      104,
    );
  }
  // The items describe the record the decoder rebuilds; a header disagreeing with them is corrupt.
  const itemBytes = lz.items.reduce((n, it) => n + it.size, 0);
  if (itemBytes !== h.recordLength) {
    throw new FormatError(`point record length ${h.recordLength} differs from the ${itemBytes} bytes of the laszip items`, src.name, 105);
  }
  let chunks: LazChunk[];
  if (lz.compressor === 1) {
    // Point-wise without chunks: the whole point data is one arithmetic-coded stream.
    const end = h.evlrCount > 0 && h.evlrOffset > h.offsetToPointData ? h.evlrOffset : src.size;
    chunks = h.pointCount > 0 ? [{ start: h.offsetToPointData, byteLength: end - h.offsetToPointData, pointCount: h.pointCount }] : [];
  } else if (lz.compressor === 2 || lz.compressor === 3) {
    chunks = h.pointCount > 0 ? await readChunkTable(src, h, lz) : [];
  } else {
    throw new FormatError(`unsupported LAZ compressor ${lz.compressor}`, src.name, vlr.dataOffset);
  }
  return new LazReader(src, h, warnings, lz, chunks, options);
}
