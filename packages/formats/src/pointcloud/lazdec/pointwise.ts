/**
 * Decoder of LASzip point-wise chunks (compressor 2, item version 2: POINT10, GPSTIME11, RGB12, BYTE;
 * WAVEPACKET13 v1 for formats 4 and 5), the mirror of `../lazenc/pointwise-items.ts`. The items share
 * one arithmetic stream after the chunk's first record, which is stored raw.
 *
 * Wave packets (formats 4, 5) are decoded only to keep the stream in step: their record bytes stay 0
 * (the waveforms themselves live outside the point records).
 */
import { BASE_RECORD_LENGTH } from "../laz/coder/layout.js";
import { SymbolModel, symbolModels } from "../laz/coder/models.js";
import {
  clampU8,
  GPS_MULTI,
  GPS_MULTI_CODE_FULL_V2,
  GPS_MULTI_MINUS,
  GPS_MULTI_TOTAL_V2,
  GPS_MULTI_UNCHANGED,
  i32,
  Medians5,
  NUMBER_RETURN_LEVEL,
  NUMBER_RETURN_MAP,
  RgbModels,
  u16,
  writeI32,
  yContext,
  zContext,
} from "../laz/coder/predictors.js";
import { ArithmeticDecoder, IntegerDecompressor } from "./arithmetic.js";
import { RecordStreamDecoder, type StreamEnd } from "./chunk-decoder.js";

const TWO32 = 4294967296;

/**
 * floor(sum / 2^32) for a uint32 plus an int32 (sum in [-2^31, 2^33)): the carry into the high half of
 * a 64-bit value, without a division.
 */
export function carry32(sum: number): number {
  return sum >= TWO32 ? 1 : sum < 0 ? -1 : 0;
}
const WAVE_PACKET_LENGTH = 29;

/** POINT10 v2 and its context models. */
class Point10Decoder {
  private lastX = 0;
  private lastY = 0;
  /** Intensity of the previous record as LASzip keeps it (0 after the raw first point). */
  private lastInt = 0;
  private lastBits = 0;
  private lastClass = 0;
  private lastScan = 0;
  private lastUser = 0;
  private lastPsid = 0;
  private readonly lastIntensity = new Int32Array(16);
  private readonly lastHeight = new Int32Array(8);
  private readonly xMedian = new Medians5();
  private readonly yMedian = new Medians5();
  private readonly mChanged = new SymbolModel(64, true);
  private readonly mScan = symbolModels(2, 256, true);
  // 256 contexts each, created on first use (most never are)
  private readonly mBitByte: (SymbolModel | undefined)[] = new Array<SymbolModel | undefined>(256).fill(undefined);
  private readonly mClass: (SymbolModel | undefined)[] = new Array<SymbolModel | undefined>(256).fill(undefined);
  private readonly mUser: (SymbolModel | undefined)[] = new Array<SymbolModel | undefined>(256).fill(undefined);
  private readonly icIntensity = new IntegerDecompressor(16, 4);
  private readonly icPsid = new IntegerDecompressor(16, 1);
  private readonly icDx = new IntegerDecompressor(32, 2);
  private readonly icDy = new IntegerDecompressor(32, 22);
  private readonly icZ = new IntegerDecompressor(32, 20);

  first(b: Uint8Array, o: number): void {
    this.lastX = i32(b, o);
    this.lastY = i32(b, o + 4);
    // LASzip forgets the first point's intensity: predictions start from 0
    this.lastInt = 0;
    this.lastBits = b[o + 14];
    this.lastClass = b[o + 15];
    this.lastScan = b[o + 16];
    this.lastUser = b[o + 17];
    this.lastPsid = u16(b, o + 18);
  }

  decode(dec: ArithmeticDecoder, out: Uint8Array, o: number): void {
    const changed = dec.decodeSymbol(this.mChanged.t, 0);
    let bits = this.lastBits;
    let intensity = this.lastInt;
    let m: number;
    let l: number;
    if (changed !== 0) {
      if (changed & 32) {
        bits = dec.decodeSymbol((this.mBitByte[bits] ??= new SymbolModel(256, true)).t, 0);
        this.lastBits = bits;
      }
      const nr = ((bits >>> 3) & 7) * 8 + (bits & 7);
      m = NUMBER_RETURN_MAP[nr];
      l = NUMBER_RETURN_LEVEL[nr];
      if (changed & 16) {
        intensity = this.icIntensity.decompress(dec, this.lastIntensity[m], m < 3 ? m : 3);
        this.lastIntensity[m] = intensity;
      } else {
        intensity = this.lastIntensity[m];
      }
      this.lastInt = intensity;
      if (changed & 8) this.lastClass = dec.decodeSymbol((this.mClass[this.lastClass] ??= new SymbolModel(256, true)).t, 0);
      if (changed & 4) this.lastScan = (this.lastScan + dec.decodeSymbol(this.mScan[(bits >>> 6) & 1].t, 0)) & 0xff;
      if (changed & 2) this.lastUser = dec.decodeSymbol((this.mUser[this.lastUser] ??= new SymbolModel(256, true)).t, 0);
      if (changed & 1) this.lastPsid = this.icPsid.decompress(dec, this.lastPsid, 0);
    } else {
      const nr = ((bits >>> 3) & 7) * 8 + (bits & 7);
      m = NUMBER_RETURN_MAP[nr];
      l = NUMBER_RETURN_LEVEL[nr];
    }

    const single = ((bits >>> 3) & 7) === 1 ? 1 : 0;
    const dx = this.icDx.decompress(dec, this.xMedian.get(m), single);
    const x = (this.lastX + dx) | 0;
    this.lastX = x;
    this.xMedian.add(m, dx);
    const kx = this.icDx.k;
    const dy = this.icDy.decompress(dec, this.yMedian.get(m), yContext(single, kx));
    const y = (this.lastY + dy) | 0;
    this.lastY = y;
    this.yMedian.add(m, dy);
    const z = this.icZ.decompress(dec, this.lastHeight[l], zContext(single, kx, this.icDy.k));
    this.lastHeight[l] = z;

    writeI32(out, o, x);
    writeI32(out, o + 4, y);
    writeI32(out, o + 8, z);
    out[o + 12] = intensity;
    out[o + 13] = intensity >> 8;
    out[o + 14] = bits;
    out[o + 15] = this.lastClass;
    out[o + 16] = this.lastScan;
    out[o + 17] = this.lastUser;
    const psid = this.lastPsid;
    out[o + 18] = psid;
    out[o + 19] = psid >> 8;
  }
}

/** GPSTIME11 v2: 4 sequences, 64-bit times as (hi, lo) int32 halves. */
class GpsTime11Decoder {
  private last = 0;
  private next = 0;
  private readonly lo = new Int32Array(4);
  private readonly hi = new Int32Array(4);
  private readonly lastDiff = new Int32Array(4);
  private readonly extremeCounter = new Int32Array(4);
  private readonly mMulti = new SymbolModel(GPS_MULTI_TOTAL_V2, true);
  private readonly m0Diff = new SymbolModel(6, true);
  private readonly ic = new IntegerDecompressor(32, 9);

  first(b: Uint8Array, o: number): void {
    this.lo[0] = i32(b, o);
    this.hi[0] = i32(b, o + 4);
  }

  decode(dec: ArithmeticDecoder, out: Uint8Array, o: number): void {
    const lastDiff = this.lastDiff;
    const ic = this.ic;
    // a valid stream switches sequence at most once per point; the bound keeps garbage finite
    for (let guard = 0; guard < 8; guard++) {
      const last = this.last;
      if (lastDiff[last] === 0) {
        const multi = dec.decodeSymbol(this.m0Diff.t, 0);
        if (multi === 1) {
          const diff = ic.decompress(dec, 0, 0);
          lastDiff[last] = diff;
          this.addTime(last, diff);
          this.extremeCounter[last] = 0;
        } else if (multi === 2) {
          this.newSequence(dec, last);
        } else if (multi > 2) {
          this.last = (last + multi - 2) & 3;
          continue;
        }
      } else {
        const multi = dec.decodeSymbol(this.mMulti.t, 0);
        if (multi === 1) {
          this.addTime(last, ic.decompress(dec, lastDiff[last], 1));
          this.extremeCounter[last] = 0;
        } else if (multi < GPS_MULTI_UNCHANGED) {
          let diff: number;
          if (multi === 0) {
            diff = ic.decompress(dec, 0, 7);
            this.bumpExtreme(last, diff);
          } else if (multi < GPS_MULTI) {
            diff = ic.decompress(dec, Math.imul(multi, lastDiff[last]), multi < 10 ? 2 : 3);
          } else if (multi === GPS_MULTI) {
            diff = ic.decompress(dec, Math.imul(GPS_MULTI, lastDiff[last]), 4);
            this.bumpExtreme(last, diff);
          } else {
            const neg = GPS_MULTI - multi;
            if (neg > GPS_MULTI_MINUS) {
              diff = ic.decompress(dec, Math.imul(neg, lastDiff[last]), 5);
            } else {
              diff = ic.decompress(dec, Math.imul(GPS_MULTI_MINUS, lastDiff[last]), 6);
              this.bumpExtreme(last, diff);
            }
          }
          this.addTime(last, diff);
        } else if (multi === GPS_MULTI_CODE_FULL_V2) {
          this.newSequence(dec, last);
        } else if (multi > GPS_MULTI_CODE_FULL_V2) {
          this.last = (last + multi - GPS_MULTI_CODE_FULL_V2) & 3;
          continue;
        }
      }
      break;
    }
    writeI32(out, o, this.lo[this.last]);
    writeI32(out, o + 4, this.hi[this.last]);
  }

  /** After several extreme multipliers in a row, the new difference becomes the reference. */
  private bumpExtreme(last: number, diff: number): void {
    if (++this.extremeCounter[last] > 3) {
      this.lastDiff[last] = diff;
      this.extremeCounter[last] = 0;
    }
  }

  /** 64-bit time of sequence s plus a signed 32-bit difference. */
  private addTime(s: number, diff: number): void {
    const sum = (this.lo[s] >>> 0) + diff;
    this.lo[s] = sum | 0;
    this.hi[s] = (this.hi[s] + carry32(sum)) | 0;
  }

  /** New sequence: high half predicted from the current one, low half raw. */
  private newSequence(dec: ArithmeticDecoder, last: number): void {
    const next = (this.next + 1) & 3;
    this.next = next;
    this.hi[next] = this.ic.decompress(dec, this.hi[last], 8);
    this.lo[next] = dec.readInt();
    this.last = next;
    this.lastDiff[next] = 0;
    this.extremeCounter[next] = 0;
  }
}

/** RGB12 v2 into `out` at `o`, predicted from `last[li..li + 2]` (updated); shared with RGB14. */
export function decodeRgb(dec: ArithmeticDecoder, m: RgbModels, last: Uint16Array, li: number, out: Uint8Array, o: number): void {
  const lr = last[li];
  const lg = last[li + 1];
  const lb = last[li + 2];
  const sym = dec.decodeSymbol(m.byteUsed.t, 0);
  let r: number;
  let g: number;
  let b: number;
  if (sym & 1) r = (dec.decodeSymbol(m.rgbDiff0.t, 0) + (lr & 0xff)) & 0xff;
  else r = lr & 0xff;
  if (sym & 2) r |= ((dec.decodeSymbol(m.rgbDiff1.t, 0) + (lr >>> 8)) & 0xff) << 8;
  else r |= lr & 0xff00;
  if (sym & 64) {
    let diff = (r & 0xff) - (lr & 0xff);
    if (sym & 4) g = (dec.decodeSymbol(m.rgbDiff2.t, 0) + clampU8(diff + (lg & 0xff))) & 0xff;
    else g = lg & 0xff;
    if (sym & 16) {
      const corr = dec.decodeSymbol(m.rgbDiff4.t, 0);
      diff = ((diff + (g & 0xff) - (lg & 0xff)) / 2) | 0;
      b = (corr + clampU8(diff + (lb & 0xff))) & 0xff;
    } else b = lb & 0xff;
    diff = (r >>> 8) - (lr >>> 8);
    if (sym & 8) g |= ((dec.decodeSymbol(m.rgbDiff3.t, 0) + clampU8(diff + (lg >>> 8))) & 0xff) << 8;
    else g |= lg & 0xff00;
    if (sym & 32) {
      const corr = dec.decodeSymbol(m.rgbDiff5.t, 0);
      diff = ((diff + (g >>> 8) - (lg >>> 8)) / 2) | 0;
      b |= ((corr + clampU8(diff + (lb >>> 8))) & 0xff) << 8;
    } else b |= lb & 0xff00;
  } else {
    g = r;
    b = r;
  }
  last[li] = r;
  last[li + 1] = g;
  last[li + 2] = b;
  out[o] = r;
  out[o + 1] = r >>> 8;
  out[o + 2] = g;
  out[o + 3] = g >>> 8;
  out[o + 4] = b;
  out[o + 5] = b >>> 8;
}

/** WAVEPACKET13 v1: descriptor index, offset (same / contiguous / 32-bit delta / raw 64-bit), size, location, x/y/z. */
class WavePacket13Decoder {
  /** Last packet as LASzip keeps it: [offset lo, offset hi, size, return point, x, y, z] (int32 patterns). */
  private readonly last = new Int32Array(7);
  private lastOffsetCode = 0;
  private lastDiff = 0;
  private readonly mIndex = new SymbolModel(256, true);
  private readonly mOffsetCode = symbolModels(4, 4, true);
  private readonly icOffsetDiff = new IntegerDecompressor(32, 1);
  private readonly icSize = new IntegerDecompressor(32, 1);
  private readonly icReturnPoint = new IntegerDecompressor(32, 1);
  private readonly icXyz = new IntegerDecompressor(32, 3);

  first(b: Uint8Array, o: number): void {
    for (let i = 0; i < 7; i++) this.last[i] = i32(b, o + 1 + 4 * i);
  }

  decode(dec: ArithmeticDecoder): void {
    const last = this.last;
    dec.decodeSymbol(this.mIndex.t, 0);
    const code = dec.decodeSymbol(this.mOffsetCode[this.lastOffsetCode].t, 0);
    this.lastOffsetCode = code;
    if (code === 1) this.addToOffset(last[2]);
    else if (code === 2) {
      this.lastDiff = this.icOffsetDiff.decompress(dec, this.lastDiff, 0);
      this.addToOffset(this.lastDiff);
    } else if (code === 3) {
      last[0] = dec.readInt();
      last[1] = dec.readInt();
    }
    last[2] = this.icSize.decompress(dec, last[2], 0);
    last[3] = this.icReturnPoint.decompress(dec, last[3], 0);
    for (let i = 0; i < 3; i++) last[4 + i] = this.icXyz.decompress(dec, last[4 + i], i);
  }

  /** 64-bit offset plus a signed 32-bit amount. */
  private addToOffset(delta: number): void {
    const sum = (this.last[0] >>> 0) + delta;
    this.last[0] = sum | 0;
    this.last[1] = (this.last[1] + carry32(sum)) | 0;
  }
}

/** BYTE v2 (extra bytes): each byte's difference to the previous record's, one model per byte. */
class ExtraBytesDecoder {
  private readonly last: Uint8Array;
  private readonly models: SymbolModel[];

  constructor(readonly count: number) {
    this.last = new Uint8Array(count);
    this.models = symbolModels(count, 256, true);
  }

  first(b: Uint8Array, o: number): void {
    this.last.set(b.subarray(o, o + this.count));
  }

  decode(dec: ArithmeticDecoder, out: Uint8Array, o: number): void {
    const last = this.last;
    const models = this.models;
    for (let i = 0, n = this.count; i < n; i++) {
      const v = (last[i] + dec.decodeSymbol(models[i].t, 0)) & 0xff;
      last[i] = v;
      out[o + i] = v;
    }
  }
}

/** All item states and models of one point-wise chunk (models restart with every chunk: one decoder per chunk). */
export class PointwiseChunkDecoder extends RecordStreamDecoder {
  private readonly dec = new ArithmeticDecoder();
  private readonly point10 = new Point10Decoder();
  private readonly gps: GpsTime11Decoder | null;
  private readonly rgb: RgbModels | null;
  private readonly lastRgb = new Uint16Array(3);
  private readonly wave: WavePacket13Decoder | null;
  private readonly extra: ExtraBytesDecoder | null;
  private readonly gpsOff = 20;
  private readonly rgbOff: number;
  private readonly waveOff: number;
  private readonly extraOff: number;

  constructor(
    readonly pointFormat: number,
    recordLength: number,
    private readonly chunk: Uint8Array,
  ) {
    super(recordLength);
    if (!(Number.isInteger(pointFormat) && pointFormat >= 0 && pointFormat <= 5)) {
      throw new RangeError(`point-wise LAZ decoder handles point formats 0-5, not ${pointFormat}`);
    }
    const base = BASE_RECORD_LENGTH[pointFormat];
    if (!Number.isInteger(recordLength) || recordLength < base || recordLength > base + 0xffff) {
      throw new RangeError(`record length ${recordLength} invalid for point format ${pointFormat}`);
    }
    const hasGps = pointFormat !== 0 && pointFormat !== 2;
    const hasRgb = pointFormat === 2 || pointFormat === 3 || pointFormat === 5;
    const hasWave = pointFormat >= 4;
    this.gps = hasGps ? new GpsTime11Decoder() : null;
    this.rgb = hasRgb ? new RgbModels(true) : null;
    this.wave = hasWave ? new WavePacket13Decoder() : null;
    this.rgbOff = hasGps ? 28 : 20;
    this.waveOff = base - WAVE_PACKET_LENGTH;
    this.extraOff = base;
    this.extra = recordLength > base ? new ExtraBytesDecoder(recordLength - base) : null;
  }

  protected records(out: Uint8Array, at: number, count: number): void {
    const rl = this.recordLength;
    let p = at;
    let left = count;
    const dec = this.dec;
    const point10 = this.point10;
    const gps = this.gps;
    const rgb = this.rgb;
    const wave = this.wave;
    const extra = this.extra;
    const gpsOff = this.gpsOff;
    const rgbOff = this.rgbOff;
    const extraOff = this.extraOff;
    for (; left > 0; left--, p += rl) {
      point10.decode(dec, out, p);
      if (gps !== null) gps.decode(dec, out, p + gpsOff);
      if (rgb !== null) decodeRgb(dec, rgb, this.lastRgb, 0, out, p + rgbOff);
      if (wave !== null) {
        wave.decode(dec);
        out.fill(0, p + this.waveOff, p + this.waveOff + WAVE_PACKET_LENGTH);
      }
      if (extra !== null) extra.decode(dec, out, p + extraOff);
    }
  }

  /** The first record is stored raw (a truncated chunk leaves zeros); the stream starts after it. */
  protected first(out: Uint8Array, o: number): void {
    const rl = this.recordLength;
    const raw = Math.min(rl, this.chunk.length);
    out.set(this.chunk.subarray(0, raw), o);
    out.fill(0, o + raw, o + rl);
    this.point10.first(out, o);
    this.gps?.first(out, o + this.gpsOff);
    if (this.rgb) {
      this.lastRgb[0] = u16(out, o + this.rgbOff);
      this.lastRgb[1] = u16(out, o + this.rgbOff + 2);
      this.lastRgb[2] = u16(out, o + this.rgbOff + 4);
    }
    if (this.wave) {
      this.wave.first(out, o + this.waveOff);
      out.fill(0, o + this.waveOff, o + this.waveOff + WAVE_PACKET_LENGTH);
    }
    this.extra?.first(out, o + this.extraOff);
    this.dec.start(this.chunk, rl);
  }

  protected ends(): StreamEnd[] {
    return [{ stream: "point stream", end: this.dec.pos, expected: this.chunk.length, atFlush: this.dec.atFlush }];
  }
}
