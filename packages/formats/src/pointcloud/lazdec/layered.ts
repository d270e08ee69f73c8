/**
 * Decoder of LASzip layered chunks (compressor 3, item version 3) for LAS 1.4 point formats 6-10:
 * POINT14, RGB14, RGBNIR14 (RGB + NIR layers), BYTE14, the mirror of `../lazenc/layered.ts`; the
 * WAVEPACKET14 layer (formats 9, 10) is skipped, its record bytes stay 0.
 *
 * Chunk layout: first record raw, u32 point count, u32 size of every layer (item order), the layers.
 * Each layer is its own arithmetic stream; a layer of size 0 means its values never changed in the
 * chunk (the last value repeats).
 */
import { BASE_RECORD_LENGTH } from "../laz/coder/layout.js";
import { SymbolModel, symbolModels } from "../laz/coder/models.js";
import {
  ChannelValues,
  flags6,
  GPS_MULTI,
  GPS_MULTI_CODE_FULL_V3,
  GPS_MULTI_MINUS,
  Last14,
  NirModels,
  NUMBER_RETURN_LEVEL_8CTX,
  NUMBER_RETURN_MAP_6CTX,
  Point14Context,
  RgbModels,
  u16,
  writeI32,
  yContext,
  zContext,
} from "../laz/coder/predictors.js";
import { ArithmeticDecoder, IntegerDecompressor } from "./arithmetic.js";
import { LazChunkError, RecordStreamDecoder, type StreamEnd } from "./chunk-decoder.js";
import { carry32, decodeRgb } from "./pointwise.js";

const WAVE_PACKET_LENGTH = 29;
const POINT14_LAYERS = 9;
const WAVE_LAYER = "wave packet layer";

type Context = Point14Context<IntegerDecompressor>;

const integerDecompressor = (bits: number, contexts: number) => new IntegerDecompressor(bits, contexts);

/** One layer of the chunk: its stream (undefined when empty or skipped) and where its bytes end. */
class Layer {
  readonly dec: ArithmeticDecoder | undefined;

  constructor(
    readonly name: string,
    chunk: Uint8Array,
    readonly start: number,
    readonly size: number,
    skipped: boolean,
  ) {
    if (size > 0 && !skipped) {
      this.dec = new ArithmeticDecoder();
      this.dec.start(chunk, start, start + size);
    }
  }

  end(): StreamEnd | undefined {
    return this.dec ? { stream: this.name, end: this.dec.pos, expected: this.start + this.size, atFlush: this.dec.atFlush } : undefined;
  }
}

/** POINT14 v3 over its 9 layers; hands the other items the scanner channel (0 unless it switched on this record). */
class Point14Decoder {
  /** Channel handed to the other items for the current record. */
  channel = 0;
  private current = 0;
  private contexts: (Context | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly lastValues = [new Last14(), new Last14(), new Last14(), new Last14()];
  private readonly xy: ArithmeticDecoder;
  private readonly z: ArithmeticDecoder;
  // the other layers' streams, undefined where a layer is empty (its value never changed in the chunk)
  private readonly dClass: ArithmeticDecoder | undefined;
  private readonly dFlags: ArithmeticDecoder | undefined;
  private readonly dIntensity: ArithmeticDecoder | undefined;
  private readonly dAngle: ArithmeticDecoder | undefined;
  private readonly dUser: ArithmeticDecoder | undefined;
  private readonly dSource: ArithmeticDecoder | undefined;
  private readonly dGps: ArithmeticDecoder | undefined;

  constructor(layers: readonly Layer[]) {
    // the XY and Z layers always hold the point stream; empty ones (corrupt) read as zeros
    this.xy = layers[0].dec ?? emptyStream();
    this.z = layers[1].dec ?? emptyStream();
    this.dClass = layers[2].dec;
    this.dFlags = layers[3].dec;
    this.dIntensity = layers[4].dec;
    this.dAngle = layers[5].dec;
    this.dUser = layers[6].dec;
    this.dSource = layers[7].dec;
    this.dGps = layers[8].dec;
  }

  first(rec: Uint8Array, o: number): void {
    const last = this.lastValues[0];
    last.read(rec, o);
    this.current = (last.flags >>> 4) & 3;
    this.channel = this.current;
    this.lastValues[this.current].copyFrom(last);
    this.contexts[this.current] = new Point14Context(true, integerDecompressor, last);
  }

  decode(out: Uint8Array, o: number): void {
    const cc = this.current;
    const lastCC = this.lastValues[cc];
    const lastR0 = lastCC.bits & 15;
    const lpr = (lastR0 === 1 ? 1 : 0) + (lastR0 >= lastCC.bits >>> 4 ? 2 : 0) + (lastCC.gpsChange ? 4 : 0);
    const xy = this.xy;
    const prev = this.contexts[cc]!;
    const cv = xy.decodeSymbol(prev.changedValues[lpr].t, 0);
    let last = lastCC;
    this.channel = 0;
    if (cv & 64) {
      const sc = (cc + xy.decodeSymbol(prev.scannerChannel.t, 0) + 1) & 3;
      last = this.lastValues[sc];
      if (!this.contexts[sc]) {
        this.contexts[sc] = new Point14Context(true, integerDecompressor, lastCC);
        last.copyFrom(lastCC);
      }
      this.current = sc;
      this.channel = sc;
    }
    const C = this.contexts[this.current]!;
    const gpsChanged = (cv & 16) !== 0;
    const lastN = last.bits >>> 4;
    const lastR = last.bits & 15;
    const n = cv & 4 ? xy.decodeSymbol(C.nrModel(lastN).t, 0) : lastN;
    let r: number;
    switch (cv & 3) {
      case 0:
        r = lastR;
        break;
      case 1:
        r = (lastR + 1) & 15;
        break;
      case 2:
        r = (lastR + 15) & 15;
        break;
      default:
        r = gpsChanged ? xy.decodeSymbol(C.rnModel(lastR).t, 0) : (lastR + xy.decodeSymbol(C.returnNumberGpsSame.t, 0) + 2) & 15;
    }
    const m = NUMBER_RETURN_MAP_6CTX[n * 16 + r];
    const l = NUMBER_RETURN_LEVEL_8CTX[n * 16 + r];
    const cpr = (r === 1 ? 2 : 0) + (r >= n ? 1 : 0);
    const g = gpsChanged ? 1 : 0;
    const idx = (m << 1) | g;
    const single = n === 1 ? 1 : 0;

    const dx = C.icDx.decompress(xy, C.xMedian.get(idx), single);
    C.xMedian.add(idx, dx);
    const x = (last.x + dx) | 0;
    const kx = C.icDx.k;
    const dy = C.icDy.decompress(xy, C.yMedian.get(idx), yContext(single, kx));
    C.yMedian.add(idx, dy);
    const y = (last.y + dy) | 0;
    const z = C.icZ.decompress(this.z, C.lastZ[l], zContext(single, kx, C.icDy.k));
    C.lastZ[l] = z;

    const dClass = this.dClass;
    const cls = dClass ? dClass.decodeSymbol(C.classModel(((last.cls & 0x1f) << 1) + (cpr === 3 ? 1 : 0)).t, 0) : last.cls;
    const lastF = flags6(last.flags);
    const dFlags = this.dFlags;
    const f = dFlags ? dFlags.decodeSymbol(C.flagsModel(lastF).t, 0) : lastF;
    const flags = (f & 0x0f) | (this.current << 4) | (((f >>> 4) & 1) << 6) | (((f >>> 5) & 1) << 7);
    let intensity = last.intensity;
    const dIntensity = this.dIntensity;
    if (dIntensity) {
      const ii = (cpr << 1) | g;
      intensity = C.icIntensity.decompress(dIntensity, C.lastIntensity[ii], cpr);
      C.lastIntensity[ii] = intensity;
    }
    let angle = last.angle;
    const dAngle = this.dAngle;
    if (cv & 8 && dAngle) angle = (C.icScanAngle.decompress(dAngle, last.angle, g) << 16) >> 16;
    const dUser = this.dUser;
    const user = dUser ? dUser.decodeSymbol(C.userModel(last.user >>> 2).t, 0) : last.user;
    let psid = last.psid;
    const dSource = this.dSource;
    if (cv & 32 && dSource) psid = C.icSourceId.decompress(dSource, last.psid, 0);
    const dGps = this.dGps;
    if (gpsChanged && dGps) {
      this.decodeGps(C, dGps);
      last.gpsLo = C.seqLo[C.seqLast];
      last.gpsHi = C.seqHi[C.seqLast];
    }

    last.x = x;
    last.y = y;
    last.z = z;
    last.intensity = intensity;
    last.bits = (n << 4) | r;
    last.flags = flags;
    last.cls = cls;
    last.user = user;
    last.angle = angle;
    last.psid = psid;
    last.gpsChange = gpsChanged;
    writeI32(out, o, x);
    writeI32(out, o + 4, y);
    writeI32(out, o + 8, z);
    out[o + 12] = intensity;
    out[o + 13] = intensity >> 8;
    out[o + 14] = last.bits;
    out[o + 15] = flags;
    out[o + 16] = cls;
    out[o + 17] = user;
    out[o + 18] = angle;
    out[o + 19] = angle >> 8;
    out[o + 20] = psid;
    out[o + 21] = psid >> 8;
    writeI32(out, o + 22, last.gpsLo);
    writeI32(out, o + 26, last.gpsHi);
  }

  /** GPS time v3: a multiple of the last difference, a new sequence, or a switch to another one. */
  private decodeGps(C: Context, dec: ArithmeticDecoder): void {
    const ic = C.icGps;
    // a valid stream switches sequence at most once per point; the bound keeps garbage finite
    for (let guard = 0; guard < 8; guard++) {
      const last = C.seqLast;
      const lastDiff = C.seqDiff[last];
      if (lastDiff === 0) {
        const multi = dec.decodeSymbol(C.gpsNoDiff.t, 0);
        if (multi === 0) {
          const diff = ic.decompress(dec, 0, 0);
          C.seqDiff[last] = diff;
          C.seqExtreme[last] = 0;
          addTime(C, last, diff);
        } else if (multi === 1) {
          this.newSequence(C, dec);
        } else {
          C.seqLast = (last + multi - 1) & 3;
          continue;
        }
      } else {
        const multi = dec.decodeSymbol(C.gpsMulti.t, 0);
        let diff: number;
        if (multi === 1) {
          diff = ic.decompress(dec, lastDiff, 1);
          C.seqExtreme[last] = 0;
        } else if (multi === 0) {
          diff = ic.decompress(dec, 0, 7);
          bumpExtreme(C, last, diff);
        } else if (multi < GPS_MULTI) {
          diff = ic.decompress(dec, Math.imul(multi, lastDiff), multi < 10 ? 2 : 3);
        } else if (multi === GPS_MULTI) {
          diff = ic.decompress(dec, Math.imul(GPS_MULTI, lastDiff), 4);
          bumpExtreme(C, last, diff);
        } else if (multi < GPS_MULTI_CODE_FULL_V3) {
          const neg = GPS_MULTI - multi;
          if (neg > GPS_MULTI_MINUS) {
            diff = ic.decompress(dec, Math.imul(neg, lastDiff), 5);
          } else {
            diff = ic.decompress(dec, Math.imul(GPS_MULTI_MINUS, lastDiff), 6);
            bumpExtreme(C, last, diff);
          }
        } else if (multi === GPS_MULTI_CODE_FULL_V3) {
          this.newSequence(C, dec);
          return;
        } else {
          C.seqLast = (last + multi - GPS_MULTI_CODE_FULL_V3) & 3;
          continue;
        }
        addTime(C, last, diff);
      }
      return;
    }
  }

  /** New sequence: high half predicted from the current sequence, low half raw. */
  private newSequence(C: Context, dec: ArithmeticDecoder): void {
    const hi = C.icGps.decompress(dec, C.seqHi[C.seqLast], 8);
    const lo = dec.readInt();
    C.seqNext = (C.seqNext + 1) & 3;
    const s = C.seqNext;
    C.seqLast = s;
    C.seqHi[s] = hi;
    C.seqLo[s] = lo;
    C.seqDiff[s] = 0;
    C.seqExtreme[s] = 0;
  }
}

function bumpExtreme(C: Context, s: number, diff: number): void {
  if (++C.seqExtreme[s] > 3) {
    C.seqDiff[s] = diff;
    C.seqExtreme[s] = 0;
  }
}

/** 64-bit time of sequence s plus a signed 32-bit difference. */
function addTime(C: Context, s: number, diff: number): void {
  const sum = (C.seqLo[s] >>> 0) + diff;
  C.seqLo[s] = sum | 0;
  C.seqHi[s] = (C.seqHi[s] + carry32(sum)) | 0;
}

/** A stream over no bytes (reads zeros), for layers a corrupt chunk left empty. */
function emptyStream(): ArithmeticDecoder {
  const d = new ArithmeticDecoder();
  d.start(new Uint8Array(0), 0);
  return d;
}

/** RGB14 v3: RGB v2 per scanner channel. */
class Rgb14Decoder {
  private readonly models: (RgbModels | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly values = new ChannelValues(3);

  constructor(private readonly layer: Layer) {}

  first(rec: Uint8Array, o: number, c: number): void {
    const lo = this.values.start(c);
    const last = this.values.last;
    last[lo] = u16(rec, o);
    last[lo + 1] = u16(rec, o + 2);
    last[lo + 2] = u16(rec, o + 4);
  }

  decode(out: Uint8Array, o: number, c: number): void {
    const lo = this.values.select(c);
    const last = this.values.last;
    const dec = this.layer.dec;
    if (dec) {
      decodeRgb(dec, (this.models[this.values.used] ??= new RgbModels(true)), last, lo, out, o);
    } else {
      for (let i = 0; i < 3; i++) {
        out[o + 2 * i] = last[lo + i];
        out[o + 2 * i + 1] = last[lo + i] >>> 8;
      }
    }
  }
}

/** NIR14 v3: byte deltas per scanner channel. */
class Nir14Decoder {
  private readonly models: (NirModels | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly values = new ChannelValues(1);

  constructor(private readonly layer: Layer) {}

  first(rec: Uint8Array, o: number, c: number): void {
    this.values.last[this.values.start(c)] = u16(rec, o);
  }

  decode(out: Uint8Array, o: number, c: number): void {
    const li = this.values.select(c);
    let v = this.values.last[li];
    const dec = this.layer.dec;
    if (dec) {
      const m = (this.models[this.values.used] ??= new NirModels(true));
      const sym = dec.decodeSymbol(m.bytesUsed.t, 0);
      const lo = sym & 1 ? (dec.decodeSymbol(m.lower.t, 0) + v) & 0xff : v & 0xff;
      const hi = sym & 2 ? (dec.decodeSymbol(m.upper.t, 0) + (v >>> 8)) & 0xff : v >>> 8;
      v = lo | (hi << 8);
      this.values.last[li] = v;
    }
    out[o] = v;
    out[o + 1] = v >>> 8;
  }
}

/** BYTE14 v3: one layer per extra byte, byte deltas per scanner channel. */
class Byte14Decoder {
  private readonly models: (SymbolModel[] | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly values: ChannelValues;

  constructor(private readonly layers: readonly Layer[]) {
    this.values = new ChannelValues(layers.length);
  }

  first(rec: Uint8Array, o: number, c: number): void {
    this.values.last.set(rec.subarray(o, o + this.layers.length), this.values.start(c));
  }

  decode(out: Uint8Array, o: number, c: number): void {
    const n = this.layers.length;
    const lo = this.values.select(c);
    const models = (this.models[this.values.used] ??= symbolModels(n, 256, true));
    const last = this.values.last;
    for (let i = 0; i < n; i++) {
      const dec = this.layers[i].dec;
      if (dec) last[lo + i] = (last[lo + i] + dec.decodeSymbol(models[i].t, 0)) & 0xff;
      out[o + i] = last[lo + i];
    }
  }
}

const POINT14_LAYER_NAMES = ["XY layer", "Z layer", "classification layer", "flags layer", "intensity layer", "scan angle layer", "user data layer", "point source layer", "GPS time layer"];

/** All layers, item states and models of one layered chunk (one decoder per chunk). */
export class LayeredChunkDecoder extends RecordStreamDecoder {
  /** Points the chunk says it holds. */
  readonly pointCount: number;
  private readonly layers: Layer[] = [];
  private readonly point14: Point14Decoder;
  private readonly rgb: Rgb14Decoder | null;
  private readonly nir: Nir14Decoder | null;
  private readonly extra: Byte14Decoder | null;
  private readonly hasWave: boolean;
  private readonly waveOff: number;
  private readonly extraOff: number;

  constructor(
    readonly pointFormat: number,
    recordLength: number,
    private readonly chunk: Uint8Array,
  ) {
    super(recordLength);
    const base = pointFormat >= 6 ? BASE_RECORD_LENGTH[pointFormat] : undefined;
    if (base === undefined) throw new RangeError(`layered LAZ decoder handles point formats 6-10, not ${pointFormat}`);
    if (!Number.isInteger(recordLength) || recordLength < base || recordLength > base + 0xffff) {
      throw new RangeError(`record length ${recordLength} invalid for point format ${pointFormat}`);
    }
    const hasRgb = pointFormat === 7 || pointFormat === 8 || pointFormat === 10;
    const hasNir = pointFormat === 8 || pointFormat === 10;
    const hasWave = pointFormat >= 9;
    const extraBytes = recordLength - base;
    const names = [...POINT14_LAYER_NAMES];
    if (hasRgb) names.push("RGB layer");
    if (hasNir) names.push("NIR layer");
    if (hasWave) names.push(WAVE_LAYER);
    for (let i = 0; i < extraBytes; i++) names.push(`extra byte ${i} layer`);

    // the chunk's own header, checked before anything is decoded: corrupt sizes must not drive the work
    const headEnd = recordLength + 4 + 4 * names.length;
    if (headEnd > chunk.length) throw new LazChunkError(`(${chunk.length} bytes) is shorter than its own header (${headEnd} bytes)`, 0);
    const v = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pointCount = v.getUint32(recordLength, true);
    let at = headEnd;
    for (let i = 0; i < names.length; i++) {
      const size = v.getUint32(recordLength + 4 + 4 * i, true);
      if (size > chunk.length - at) {
        throw new LazChunkError(`has its ${names[i]} (${size} bytes at ${at}) running past the chunk's ${chunk.length} bytes`, recordLength + 4 + 4 * i);
      }
      this.layers.push(new Layer(names[i], chunk, at, size, names[i] === WAVE_LAYER));
      at += size;
    }
    let next = POINT14_LAYERS;
    this.point14 = new Point14Decoder(this.layers.slice(0, POINT14_LAYERS));
    this.rgb = hasRgb ? new Rgb14Decoder(this.layers[next++]) : null;
    this.nir = hasNir ? new Nir14Decoder(this.layers[next++]) : null;
    if (hasWave) next++;
    this.extra = extraBytes > 0 ? new Byte14Decoder(this.layers.slice(next)) : null;
    this.waveOff = base - WAVE_PACKET_LENGTH;
    this.extraOff = base;
    this.hasWave = hasWave;
  }

  protected records(out: Uint8Array, at: number, count: number): void {
    const rl = this.recordLength;
    let p = at;
    let left = count;
    const point14 = this.point14;
    const rgb = this.rgb;
    const nir = this.nir;
    const extra = this.extra;
    for (; left > 0; left--, p += rl) {
      point14.decode(out, p);
      const c = point14.channel;
      if (rgb !== null) rgb.decode(out, p + 30, c);
      if (nir !== null) nir.decode(out, p + 36, c);
      if (this.hasWave) out.fill(0, p + this.waveOff, p + this.waveOff + WAVE_PACKET_LENGTH);
      if (extra !== null) extra.decode(out, p + this.extraOff, c);
    }
  }

  protected first(out: Uint8Array, o: number): void {
    out.set(this.chunk.subarray(0, this.recordLength), o);
    this.point14.first(out, o);
    const c = this.point14.channel;
    this.rgb?.first(out, o + 30, c);
    this.nir?.first(out, o + 36, c);
    if (this.hasWave) out.fill(0, o + this.waveOff, o + this.waveOff + WAVE_PACKET_LENGTH);
    this.extra?.first(out, o + this.extraOff, c);
  }

  protected ends(): StreamEnd[] {
    const ends: StreamEnd[] = [];
    for (const layer of this.layers) {
      const e = layer.end();
      if (e) ends.push(e);
    }
    return ends;
  }
}
