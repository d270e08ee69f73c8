/**
 * Streaming GeoJSON reader (RFC 7946, and the 2008 draft's `crs` member). The file is scanned byte by
 * byte for the structure of its root object only: each element of `features` is cut out and handed to
 * `JSON.parse` alone, so memory holds one block and one batch, whatever the file's size.
 *
 * A `crs` member may follow `features`; the last 64 KiB are looked at first, and only when they mention
 * one is the file scanned once more (without parsing) to find it before features are read.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { BlockReader, geometryProblem, type FeatureBatch, type Geometry, type PropertyValue, type VectorFeature, type VectorReader } from "../feature.js";

export interface GeoJsonReadOptions {
  /** Features per batch (about). */
  batchSize?: number;
  /** Bytes read at a time. */
  blockSize?: number;
  /** Largest single feature, and largest root Feature or Geometry file, read whole. */
  maxObjectBytes?: number;
}

const WGS84 = "EPSG:4326";
const TAIL = 64 * 1024;

/** CRS text of a legacy `crs` member; undefined for none; throws for one that names no CRS we can use. */
export function legacyCrsText(crs: unknown, file: string): string | undefined {
  if (crs === null || crs === undefined) return undefined;
  const c = crs as { type?: unknown; properties?: { name?: unknown; code?: unknown } };
  let text: string | undefined;
  if (c.type === "name" && typeof c.properties?.name === "string") text = c.properties.name;
  else if (c.type === "EPSG" && (typeof c.properties?.code === "number" || typeof c.properties?.code === "string")) text = `EPSG:${c.properties.code}`;
  if (text === undefined) throw new FormatError(`its crs member ${JSON.stringify(crs).slice(0, 120)} names no CRS (a "name" crs is expected)`, file, 0);
  // OGC's CRS84 is WGS 84 in longitude/latitude order, which is how GeoJSON positions are read anyway.
  if (/^urn:ogc:def:crs:OGC:[^:]*:CRS84$|^CRS84$|^OGC:CRS84$/i.test(text.trim())) return WGS84;
  return text.trim();
}

const enum S {
  Start,
  KeyOrEnd,
  Key,
  Colon,
  Value,
  AfterValue,
  FeatureOrEnd,
  FeatureNext,
  InFeature,
  AfterFeature,
  Composite,
  StringValue,
  Scalar,
  Done,
}

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const decoder = new TextDecoder("utf-8", { fatal: false });

interface ScanEvents {
  /** Members whose value should be kept (others are skipped). */
  capture: ReadonlySet<string>;
  /** True to cut out features; false to skip them. */
  features: boolean;
  member(key: string, value: Uint8Array[] | undefined, offset: number): void;
  feature(parts: Uint8Array[], offset: number): void;
  /** When `features` opens, before its first element. */
  featuresStart?(): void;
}

/** Byte-level scanner of a root JSON object; fed block by block. */
class RootScanner {
  private state = S.Start;
  private depth = 0;
  private inString = false;
  private escape = false;
  private key = "";
  private keyParts: Uint8Array[] = [];
  private capParts: Uint8Array[] = [];
  private capStart = -1;
  private capOffset = 0;
  private capBytes = 0;
  private capturing = false;
  sawFeatures = false;
  private first = true;

  constructor(
    private readonly file: string,
    private readonly ev: ScanEvents,
    private readonly maxObjectBytes: number,
  ) {}

  get done(): boolean {
    return this.state === S.Done;
  }

  private fail(message: string, offset: number): never {
    throw new FormatError(message, this.file, offset);
  }

  private begin(block: Uint8Array, i: number, base: number, keep: boolean): void {
    this.capturing = keep;
    this.capStart = i;
    this.capOffset = base + i;
    this.capParts = [];
    this.capBytes = 0;
  }

  private finish(block: Uint8Array, end: number): Uint8Array[] {
    const parts = this.capParts;
    parts.push(block.subarray(this.capStart, end));
    this.capParts = [];
    this.capStart = -1;
    return parts;
  }

  /** Scans one block starting at file offset `base`; the last block is followed by `end(base)`. */
  feed(block: Uint8Array, base: number): void {
    let i = 0;
    const n = block.byteLength;
    if (this.first && n >= 3 && block[0] === 0xef && block[1] === 0xbb && block[2] === 0xbf) i = 3;
    this.first = false;
    while (i < n) {
      const c = block[i];
      switch (this.state) {
        case S.Start:
          if (isWs(c)) break;
          if (c !== 0x7b) this.fail("not a GeoJSON object (the file does not start with '{')", base + i);
          this.state = S.KeyOrEnd;
          break;
        case S.KeyOrEnd:
        case S.AfterValue:
          if (isWs(c)) break;
          if (c === 0x7d) {
            this.state = S.Done;
            return;
          }
          if (this.state === S.AfterValue) {
            if (c !== 0x2c) this.fail(`expected ',' or '}' after a member, found '${String.fromCharCode(c)}'`, base + i);
            this.state = S.KeyOrEnd;
            break;
          }
          if (c !== 0x22) this.fail(`expected a member name, found '${String.fromCharCode(c)}'`, base + i);
          this.state = S.Key;
          this.keyParts = [];
          this.capStart = i;
          this.escape = false;
          break;
        case S.Key: {
          // Keys are short: scan to the closing quote.
          let j = i;
          for (; j < n; j++) {
            const d = block[j];
            if (this.escape) this.escape = false;
            else if (d === 0x5c) this.escape = true;
            else if (d === 0x22) break;
          }
          if (j === n) {
            i = n;
            continue;
          }
          this.keyParts.push(block.subarray(this.capStart, j + 1));
          this.capStart = -1;
          this.key = JSON.parse(decoder.decode(concat(this.keyParts))) as string;
          this.state = S.Colon;
          i = j;
          break;
        }
        case S.Colon:
          if (isWs(c)) break;
          if (c !== 0x3a) this.fail("expected ':' after a member name", base + i);
          this.state = S.Value;
          break;
        case S.Value:
          if (isWs(c)) break;
          if (this.key === "features" && c === 0x5b) {
            this.sawFeatures = true;
            this.ev.featuresStart?.();
            this.state = S.FeatureOrEnd;
            break;
          }
          this.begin(block, i, base, this.ev.capture.has(this.key));
          if (c === 0x7b || c === 0x5b) {
            this.depth = 1;
            this.inString = false;
            this.escape = false;
            this.state = S.Composite;
          } else if (c === 0x22) {
            this.escape = false;
            this.state = S.StringValue;
          } else this.state = S.Scalar;
          break;
        case S.FeatureOrEnd:
        case S.FeatureNext:
          if (isWs(c)) break;
          if (c === 0x5d && this.state === S.FeatureOrEnd) {
            this.state = S.AfterValue;
            break;
          }
          if (c !== 0x7b) this.fail(`an element of features is not an object (found '${String.fromCharCode(c)}')`, base + i);
          this.begin(block, i, base, this.ev.features);
          this.depth = 1;
          this.inString = false;
          this.escape = false;
          this.state = S.InFeature;
          break;
        case S.AfterFeature:
          if (isWs(c)) break;
          if (c === 0x2c) this.state = S.FeatureNext;
          else if (c === 0x5d) this.state = S.AfterValue;
          else this.fail(`expected ',' or ']' between features, found '${String.fromCharCode(c)}'`, base + i);
          break;
        case S.InFeature:
        case S.Composite: {
          // The hot loop: strings, escapes and nesting only.
          let depth = this.depth;
          let inString = this.inString;
          let escape = this.escape;
          let j = i;
          for (; j < n; j++) {
            const d = block[j];
            if (inString) {
              if (escape) escape = false;
              else if (d === 0x5c) escape = true;
              else if (d === 0x22) inString = false;
            } else if (d === 0x22) inString = true;
            else if (d === 0x7b || d === 0x5b) depth++;
            else if (d === 0x7d || d === 0x5d) {
              if (--depth === 0) break;
            }
          }
          this.depth = depth;
          this.inString = inString;
          this.escape = escape;
          if (j === n) {
            i = n;
            continue;
          }
          const offset = this.capOffset;
          if (this.state === S.InFeature) {
            this.state = S.AfterFeature;
            if (this.capturing) this.ev.feature(this.finish(block, j + 1), offset);
            else this.capStart = -1;
          } else {
            this.state = S.AfterValue;
            this.ev.member(this.key, this.capturing ? this.finish(block, j + 1) : undefined, offset);
            this.capStart = -1;
          }
          i = j;
          break;
        }
        case S.StringValue: {
          let j = i;
          for (; j < n; j++) {
            const d = block[j];
            if (this.escape) this.escape = false;
            else if (d === 0x5c) this.escape = true;
            else if (d === 0x22) break;
          }
          if (j === n) {
            i = n;
            continue;
          }
          this.state = S.AfterValue;
          this.ev.member(this.key, this.capturing ? this.finish(block, j + 1) : undefined, this.capOffset);
          this.capStart = -1;
          i = j;
          break;
        }
        case S.Scalar:
          if (isWs(c) || c === 0x2c || c === 0x7d) {
            this.ev.member(this.key, this.capturing ? this.finish(block, i) : undefined, this.capOffset);
            this.capStart = -1;
            this.state = S.AfterValue;
            continue;
          }
          break;
        case S.Done:
          if (!isWs(c)) this.fail("unexpected content after the root object", base + i);
          break;
      }
      i++;
    }
    if (this.state === S.Key) {
      if (this.capStart >= 0) this.keyParts.push(block.subarray(this.capStart, n));
      this.capStart = 0;
    } else if (this.capStart >= 0 && (this.state === S.InFeature || this.state === S.Composite || this.state === S.StringValue || this.state === S.Scalar)) {
      this.spill(block, n);
    }
  }

  /** Keeps the captured part of a block that ends inside a value. */
  private spill(block: Uint8Array, end: number): void {
    if (this.capStart < 0) return;
    if (this.capturing) {
      const part = block.subarray(this.capStart, end);
      this.capBytes += part.byteLength;
      if (this.capBytes > this.maxObjectBytes) {
        this.fail(`a value of more than ${this.maxObjectBytes} bytes (one feature or member) cannot be read`, this.capOffset);
      }
      this.capParts.push(part);
    }
    this.capStart = 0;
  }

  /** Called once the file is exhausted. */
  end(offset: number): void {
    if (this.state === S.Scalar) {
      this.state = S.AfterValue;
    }
    if (this.state !== S.Done) {
      const where = this.state === S.InFeature || this.state === S.FeatureNext || this.state === S.FeatureOrEnd || this.state === S.AfterFeature ? " inside the features array" : "";
      this.fail(`the file ends before its root object closes${where} (truncated?)`, offset);
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function parseJson(parts: Uint8Array[], file: string, offset: number): unknown {
  try {
    return JSON.parse(decoder.decode(concat(parts)));
  } catch (e) {
    throw new FormatError(`invalid JSON: ${(e as Error).message}`, file, offset);
  }
}

/** A parsed feature object checked and turned into a VectorFeature. */
export function toFeature(value: unknown, file: string, offset: number): VectorFeature {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new FormatError("a feature is not an object", file, offset);
  const f = value as { type?: unknown; geometry?: unknown; properties?: unknown };
  if (f.type !== "Feature") throw new FormatError(`an element of features has type ${JSON.stringify(f.type)}, not "Feature"`, file, offset);
  let geometry: Geometry | null = null;
  if (f.geometry !== null && f.geometry !== undefined) {
    const problem = geometryProblem(f.geometry);
    if (problem) throw new FormatError(`bad geometry: ${problem}`, file, offset);
    geometry = f.geometry as Geometry;
  }
  let properties: Record<string, PropertyValue> = {};
  if (f.properties !== null && f.properties !== undefined) {
    if (typeof f.properties !== "object" || Array.isArray(f.properties)) throw new FormatError("a feature's properties are not an object", file, offset);
    properties = f.properties as Record<string, PropertyValue>;
  }
  return { geometry, properties };
}

function baseName(file: string): string {
  return file.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
}

export function openGeoJson(source: ByteSource, options: GeoJsonReadOptions = {}): VectorReader {
  const batchSize = options.batchSize ?? 2000;
  const blockSize = options.blockSize ?? 1 << 20;
  const maxObjectBytes = options.maxObjectBytes ?? 256 << 20;
  const file = source.name;
  const warnings: string[] = [];

  /** Top-level members found by a scan that skips the features (only when a crs may follow them). */
  async function trailingMembers(signal?: AbortSignal): Promise<Map<string, unknown>> {
    const found = new Map<string, unknown>();
    const tailStart = Math.max(0, source.size - TAIL);
    const tail = decoder.decode(await source.read(tailStart, source.size - tailStart));
    if (!tail.includes('"crs"')) return found;
    const scanner = new RootScanner(
      file,
      {
        capture: new Set(["crs", "name", "type"]),
        features: false,
        member: (key, value, offset) => {
          if (value) found.set(key, parseJson(value, file, offset));
        },
        feature: () => undefined,
      },
      maxObjectBytes,
    );
    const blocks = new BlockReader(source, blockSize);
    for (let pos = 0, b = await blocks.next(); b; pos += b.byteLength, b = await blocks.next()) {
      signal?.throwIfAborted();
      scanner.feed(b, pos);
      if (scanner.done) break;
    }
    return found;
  }

  return {
    name: file,
    size: source.size,
    warnings,
    async *batches(signal?: AbortSignal): AsyncIterable<FeatureBatch> {
      const members = await trailingMembers(signal);
      let crsValue: unknown = members.get("crs");
      let name = typeof members.get("name") === "string" ? (members.get("name") as string) : undefined;
      let rootType = members.get("type");
      let crs: string | undefined;
      let layer = "";
      let started = false;
      let pending: VectorFeature[] = [];
      const scanner = new RootScanner(
        file,
        {
          capture: new Set(["crs", "name", "type"]),
          features: true,
          featuresStart: () => {
            started = true;
            crs = legacyCrsText(crsValue, file) ?? WGS84;
            layer = name ?? baseName(file);
          },
          member: (key, value, offset) => {
            if (!value) return;
            const v = parseJson(value, file, offset);
            if (key === "type") rootType = v;
            else if (key === "name" && typeof v === "string" && !started) name = v;
            else if (key === "crs") {
              if (started && !members.has("crs")) {
                throw new FormatError("a crs member follows the features it applies to and was not found in time", file, offset);
              }
              crsValue = v;
            }
          },
          feature: (parts, offset) => {
            pending.push(toFeature(parseJson(parts, file, offset), file, offset));
          },
        },
        maxObjectBytes,
      );
      const blocks = new BlockReader(source, blockSize);
      let pos = 0;
      for (let b = await blocks.next(); b; b = await blocks.next()) {
        signal?.throwIfAborted();
        scanner.feed(b, pos);
        pos += b.byteLength;
        if (pending.length >= batchSize) {
          yield { layer, crs, features: pending, bytesRead: pos };
          pending = [];
        }
        if (scanner.done) break;
      }
      scanner.end(pos);
      if (pending.length > 0) yield { layer, crs, features: pending, bytesRead: pos };
      if (scanner.sawFeatures) return;
      if (rootType === "FeatureCollection") return;
      // A root Feature or bare Geometry: one feature, read whole.
      if (source.size > maxObjectBytes) throw new FormatError(`a single GeoJSON ${String(rootType)} of ${source.size} bytes is too large to read`, file, 0);
      const root = parseJson([await source.read(0, source.size)], file, 0) as { type?: unknown; crs?: unknown };
      crs = legacyCrsText(root.crs, file) ?? WGS84;
      layer = name ?? baseName(file);
      const feature = root.type === "Feature" ? toFeature(root, file, 0) : toFeature({ type: "Feature", geometry: root, properties: null }, file, 0);
      yield { layer, crs, features: [feature], bytesRead: source.size };
    },
  };
}
