/**
 * The FeatureDB store: one FlatGeobuf file (features in Hilbert order behind a packed Hilbert R-tree, so a
 * bbox query is a few ranged reads) and `featuredb.json`, the manifest the query endpoint reads (its
 * collection, CRS, extent, layers, property types).
 *
 * Built in two passes over scratch files, so memory holds per feature only its box, offsets and sort key
 * (about 60 bytes). Features are encoded as they arrive and spooled with their boxes; once all are in,
 * they are sorted by the Hilbert value of their box centre and copied in that order into a second spool
 * (re-encoded when a property's type or the heights changed after they were written: FgbSchemaBuilder's
 * epochs), and the file is streamed out: header, index, features. When some features have heights, all
 * get them (0 where they had none): a FlatGeobuf file has one dimension for all its geometries.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import {
  buildFgbIndex,
  decodeFgbFeature,
  encodeFgbFeature,
  encodeFgbHeader,
  FGB_NODE_SIZE,
  FgbColumnType,
  FgbSchemaBuilder,
  geometryBounds,
  hasHeights,
  hilbertValues,
  type FgbHeaderInfo,
  type GeometryType,
  type VectorFeature,
} from "@realconv/formats";
import { ConversionError, throwIfAborted } from "../contract/runner.js";

export const MANIFEST = "featuredb.json";
export const STORE_FILE = "features.fgb";
export const STORE_FORMAT = "realconv-featuredb";

/** Bytes of memory the builder keeps per feature (boxes, offsets, sort keys). */
export const BYTES_PER_FEATURE = 64;

export interface CollectionManifest {
  id: string;
  title: string;
  file: string;
  crs: string;
  featureCount: number;
  bbox?: number[];
  geometryTypes: GeometryType[];
  layers: { name: string; featureCount: number }[];
  properties: { name: string; type: string }[];
}

export interface StoreManifest {
  format: typeof STORE_FORMAT;
  version: 1;
  collections: CollectionManifest[];
}

/** Growable typed arrays. */
class F64 {
  data = new Float64Array(1024);
  push4(a: number, b: number, c: number, d: number, at: number): void {
    this.ensure(4 * at + 4);
    this.data.set([a, b, c, d], 4 * at);
  }
  set(at: number, v: number): void {
    this.ensure(at + 1);
    this.data[at] = v;
  }
  private ensure(n: number): void {
    if (n <= this.data.length) return;
    const next = new Float64Array(Math.max(n, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }
}

class U16 {
  data = new Uint16Array(1024);
  set(at: number, v: number): void {
    if (at >= this.data.length) {
      const next = new Uint16Array(Math.max(at + 1, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[at] = v;
  }
}

/** Appends to a file through a 4 MiB buffer (features are small: one write call per many of them). */
class SpoolWriter {
  private readonly buf = Buffer.allocUnsafe(4 << 20);
  private pending = 0;
  written = 0;
  constructor(readonly fd: number) {}
  write(b: Uint8Array): void {
    if (this.pending + b.byteLength > this.buf.byteLength) this.flush();
    if (b.byteLength > this.buf.byteLength) {
      this.writeOut(b);
    } else {
      this.buf.set(b, this.pending);
      this.pending += b.byteLength;
    }
    this.written += b.byteLength;
  }
  writeText(text: string): void {
    if (this.pending + 3 * text.length > this.buf.byteLength) {
      this.flush();
      if (3 * text.length > this.buf.byteLength) return this.write(Buffer.from(text));
    }
    const n = this.buf.write(text, this.pending);
    this.pending += n;
    this.written += n;
  }
  flush(): void {
    this.writeOut(this.buf.subarray(0, this.pending));
    this.pending = 0;
  }
  private writeOut(b: Uint8Array): void {
    for (let o = 0; o < b.byteLength; ) o += writeSync(this.fd, b, o, b.byteLength - o);
  }
}

export class FeatureStoreBuilder {
  private count = 0;
  private readonly boxes = new F64();
  private readonly spoolAt = new F64();
  private readonly schema = new FgbSchemaBuilder();
  private readonly epochs = new U16();
  private readonly types = new Set<GeometryType>();
  private readonly layers = new Map<string, number>();
  private readonly extent = [Infinity, Infinity, -Infinity, -Infinity];
  private spool!: SpoolWriter;
  private dir!: string;

  private constructor(
    private readonly memoryBudgetBytes: number,
    private readonly signal: AbortSignal,
  ) {}

  static async create(scratchDir: string, memoryBudgetBytes: number, signal: AbortSignal): Promise<FeatureStoreBuilder> {
    const b = new FeatureStoreBuilder(memoryBudgetBytes, signal);
    b.dir = await mkdtemp(join(scratchDir, "featuredb-"));
    b.spool = new SpoolWriter(openSync(join(b.dir, "spool.jsonl"), "w+"));
    return b;
  }

  get featureCount(): number {
    return this.count;
  }

  add(features: readonly VectorFeature[], layer: string): void {
    if ((this.count + features.length) * BYTES_PER_FEATURE > this.memoryBudgetBytes / 2) {
      throw new ConversionError(
        "InsufficientMemory",
        "Not enough memory",
        "Indexing more than %1 features needs more memory than the %2 MB the conversion may use (REALCONV_MEMORY_MB).",
        [String(this.count), String(Math.round(this.memoryBudgetBytes / 2 ** 20))],
      );
    }
    for (const f of features) {
      const b = geometryBounds(f.geometry);
      if (b) {
        this.boxes.push4(b[0], b[1], b[2], b[3], this.count);
        if (b[0] < this.extent[0]) this.extent[0] = b[0];
        if (b[1] < this.extent[1]) this.extent[1] = b[1];
        if (b[2] > this.extent[2]) this.extent[2] = b[2];
        if (b[3] > this.extent[3]) this.extent[3] = b[3];
      } else this.boxes.push4(Infinity, Infinity, -Infinity, -Infinity, this.count);
      if (f.geometry) this.types.add(f.geometry.type);
      const epoch = this.schema.observe(f.properties, f.geometry !== null && !this.schema.hasZ && hasHeights(f.geometry));
      if (epoch > 0xffff) throw new ConversionError("InputData_Invalid", "Invalid input data", "The properties change type more than %1 times across the features.", ["65535"]);
      this.epochs.set(this.count, epoch);
      this.spoolAt.set(this.count, this.spool.written);
      this.spool.write(encodeFgbFeature(f, this.schema.columns, this.schema.hasZ));
      this.count++;
    }
    this.layers.set(layer, (this.layers.get(layer) ?? 0) + features.length);
  }

  /**
   * Sorts and encodes the features; returns the manifest and the FlatGeobuf file as a stream of parts
   * (`onProgress` gets the fraction of features encoded). `dispose` removes the spools.
   */
  async finish(
    meta: { id: string; title: string; crs: string; epsg?: number; wkt?: string },
    onProgress: (fraction: number) => void,
  ): Promise<{ manifest: StoreManifest; file: AsyncIterable<Uint8Array> }> {
    this.spool.flush();
    const n = this.count;
    const hasIndex = n > 0;
    const extent = this.extent[0] <= this.extent[2] ? this.extent : [0, 0, 0, 0];
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (hasIndex) {
      const keys = hilbertValues(this.boxes.data, n, extent);
      order.sort((a, b) => keys[a] - keys[b] || a - b);
    }
    const specs = this.schema.specs();
    const columns = this.schema.columns;
    const hasZ = this.schema.hasZ;
    const last = this.schema.epoch;
    const decoders = new Map<number, FgbHeaderInfo>();
    const decoderOf = (epoch: number): FgbHeaderInfo => {
      let h = decoders.get(epoch);
      if (!h) {
        const state = this.schema.epochState(epoch);
        h = { name: "", geometryType: "Unknown", hasZ: state.hasZ, columns: state.columns, featuresCount: 0, indexNodeSize: 0, headerEnd: 0 };
        decoders.set(epoch, h);
      }
      return h;
    };
    const encodedPath = join(this.dir, "features.bin");
    const out = new SpoolWriter(openSync(encodedPath, "w"));
    const offsets = new Float64Array(n);
    const sortedBoxes = new Float64Array(4 * n);
    const spoolEnd = this.spool.written;
    let buf = Buffer.alloc(1 << 16);
    for (let k = 0; k < n; k++) {
      const i = order[k];
      const start = this.spoolAt.data[i];
      const end = i + 1 < n ? this.spoolAt.data[i + 1] : spoolEnd;
      const len = end - start;
      if (len > buf.byteLength) buf = Buffer.alloc(len * 2);
      readSync(this.spool.fd, buf, 0, len, start);
      offsets[k] = out.written;
      sortedBoxes.set(this.boxes.data.subarray(4 * i, 4 * i + 4), 4 * k);
      const epoch = this.epochs.data[i];
      if (epoch === last) out.write(buf.subarray(0, len));
      else out.write(encodeFgbFeature(decodeFgbFeature(buf.subarray(4, len), decoderOf(epoch), "spool", start), columns, hasZ));
      if ((k & 4095) === 4095) {
        onProgress(k / n);
        await new Promise((r) => setImmediate(r));
        throwIfAborted(this.signal);
      }
    }
    out.flush();
    closeSync(out.fd);
    closeSync(this.spool.fd);
    const types = [...this.types];
    const header = encodeFgbHeader({
      name: meta.id,
      title: meta.title,
      metadata: JSON.stringify({ layers: Object.fromEntries(this.layers) }),
      geometryType: types.length === 1 ? types[0] : "Unknown",
      hasZ,
      columns: specs,
      featuresCount: n,
      indexNodeSize: hasIndex ? FGB_NODE_SIZE : 0,
      envelope: this.extent[0] <= this.extent[2] ? extent : undefined,
      crs: meta.epsg !== undefined ? { code: meta.epsg } : meta.wkt ? { wkt: meta.wkt } : undefined,
    });
    const index = hasIndex ? buildFgbIndex(sortedBoxes, offsets, n, FGB_NODE_SIZE) : new Uint8Array(0);
    const manifest: StoreManifest = {
      format: STORE_FORMAT,
      version: 1,
      collections: [
        {
          id: meta.id,
          title: meta.title,
          file: STORE_FILE,
          crs: meta.crs,
          featureCount: n,
          ...(this.extent[0] <= this.extent[2] ? { bbox: [...extent] } : {}),
          geometryTypes: types,
          layers: [...this.layers].map(([name, featureCount]) => ({ name, featureCount })),
          properties: specs.map((c) => ({ name: c.name, type: FgbColumnType[c.type] })),
        },
      ],
    };
    async function* file(): AsyncIterable<Uint8Array> {
      yield header;
      for (let o = 0; o < index.byteLength; o += 1 << 20) yield index.subarray(o, o + (1 << 20));
      for await (const part of createReadStream(encodedPath, { highWaterMark: 1 << 20 })) yield part as Uint8Array;
    }
    return { manifest, file: file() };
  }

  async dispose(): Promise<void> {
    try {
      closeSync(this.spool.fd);
    } catch {
      /* already closed */
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
