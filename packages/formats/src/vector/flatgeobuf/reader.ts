/**
 * FlatGeobuf files through a ByteSource: front-to-back reading (an input format), and random access by
 * the packed R-tree (bbox searches and pages of features in ranged reads, for the feature store's queries).
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { SequentialReader, type FeatureBatch, type VectorFeature, type VectorReader } from "../feature.js";
import { decodeFeature, decodeHeader, headerLength, type HeaderInfo } from "./codec.js";
import { indexBytes, levelBounds, NODE_BYTES, readNode, searchIndex } from "./rtree.js";

/** Reads closer than this are merged into one ranged read. */
const MERGE_GAP = 64 * 1024;

export class FlatGeobufFile {
  private constructor(
    readonly source: ByteSource,
    readonly header: HeaderInfo,
    /** Offset of the first feature. */
    readonly featuresStart: number,
  ) {}

  static async open(source: ByteSource): Promise<FlatGeobufFile> {
    const first = await source.read(0, 12);
    const end = headerLength(first, source.name);
    if (end > source.size) throw new FormatError("the header runs past the end of the file", source.name, 8);
    const header = decodeHeader(await source.read(0, end), source.name);
    const featuresStart = end + indexBytes(header.featuresCount, header.indexNodeSize);
    if (featuresStart > source.size) throw new FormatError("the spatial index runs past the end of the file (truncated?)", source.name, end);
    return new FlatGeobufFile(source, header, featuresStart);
  }

  /** The CRS as the runner reads CRSs: EPSG:n, else the WKT; undefined when the file has none. */
  get crs(): string | undefined {
    const c = this.header.crs;
    if (c?.code) return `EPSG:${c.code}`;
    return c?.wkt;
  }

  get indexed(): boolean {
    return this.header.indexNodeSize > 0 && this.header.featuresCount > 0;
  }

  /** Leaf positions (file order) of features whose boxes intersect [minX, minY, maxX, maxY]. */
  search(rect: readonly number[]): Promise<number[]> {
    if (!this.indexed) throw new Error(`${this.source.name} has no spatial index`);
    return searchIndex(this.header.featuresCount, this.header.indexNodeSize, rect, (offset, length) => this.source.read(this.header.headerEnd + offset, length));
  }

  /** Byte offsets (from the features section) of the features at leaf positions [from, to). */
  async leafOffsets(from: number, to: number): Promise<number[]> {
    const [leafStart] = levelBounds(this.header.featuresCount, this.header.indexNodeSize)[0];
    const bytes = await this.source.read(this.header.headerEnd + (leafStart + from) * NODE_BYTES, (to - from) * NODE_BYTES);
    const out: number[] = [];
    for (let i = 0; i < to - from; i++) out.push(readNode(bytes, i * NODE_BYTES).offset);
    return out;
  }

  /** Features at these offsets (ascending), read in as few ranged reads as their spacing allows. */
  async featuresAt(offsets: readonly number[]): Promise<VectorFeature[]> {
    const out: VectorFeature[] = [];
    let i = 0;
    while (i < offsets.length) {
      let j = i;
      while (j + 1 < offsets.length && offsets[j + 1] - offsets[j] < MERGE_GAP) j++;
      const start = this.featuresStart + offsets[i];
      const lastAt = this.featuresStart + offsets[j];
      const lastSize = await this.sizeAt(lastAt);
      const bytes = await this.source.read(start, lastAt + 4 + lastSize - start);
      for (let k = i; k <= j; k++) {
        const at = this.featuresStart + offsets[k] - start;
        if (at + 4 > bytes.byteLength) throw new FormatError("a feature lies past the end of the file", this.source.name, start + at);
        const size = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
        if (at + 4 + size > bytes.byteLength) throw new FormatError("a feature is cut short", this.source.name, start + at);
        out.push(decodeFeature(bytes.subarray(at + 4, at + 4 + size), this.header, this.source.name, start + at));
      }
      i = j + 1;
    }
    return out;
  }

  private async sizeAt(at: number): Promise<number> {
    const b = await this.source.read(at, 4);
    if (b.byteLength < 4) throw new FormatError("a feature lies past the end of the file", this.source.name, at);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }

  /** Every feature front to back, in batches. */
  async *features(batchSize: number, signal?: AbortSignal): AsyncIterable<{ features: VectorFeature[]; bytesRead: number }> {
    const reader = new SequentialReader(this.source, this.featuresStart);
    let batch: VectorFeature[] = [];
    for (let n = 0; this.header.featuresCount === 0 ? reader.position < this.source.size : n < this.header.featuresCount; n++) {
      const at = reader.position;
      const prefix = await reader.read(4);
      if (prefix.byteLength < 4) {
        if (this.header.featuresCount === 0 && prefix.byteLength === 0) break;
        throw new FormatError(`feature ${n + 1} of ${this.header.featuresCount} is missing (truncated file?)`, this.source.name, at);
      }
      const size = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, true);
      const body = await reader.read(size);
      if (body.byteLength < size) throw new FormatError(`feature ${n + 1} is cut short (truncated file?)`, this.source.name, at);
      batch.push(decodeFeature(body, this.header, this.source.name, at));
      if (batch.length >= batchSize) {
        signal?.throwIfAborted();
        yield { features: batch, bytesRead: reader.position };
        batch = [];
      }
    }
    if (batch.length > 0) yield { features: batch, bytesRead: reader.position };
  }
}

export function openFlatGeobuf(source: ByteSource, options: { batchSize?: number } = {}): VectorReader {
  const layer = source.name.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  return {
    name: source.name,
    size: source.size,
    warnings: [],
    async *batches(signal?: AbortSignal): AsyncIterable<FeatureBatch> {
      const file = await FlatGeobufFile.open(source);
      const name = file.header.name || layer;
      for await (const b of file.features(options.batchSize ?? 2000, signal)) yield { layer: name, crs: file.crs, features: b.features, bytesRead: b.bytesRead };
    },
  };
}
