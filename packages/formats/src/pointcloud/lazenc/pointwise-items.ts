/**
 * Item compressors of LASzip's point-wise scheme, item version 2: POINT10 (20 bytes), GPSTIME11
 * (8 bytes), RGB12 (6 bytes), BYTE (n extra bytes). Each item sees the raw record bytes at an
 * offset; the first point of a chunk is stored raw by the caller and only primes the predictors.
 */
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
  yContext,
  zContext,
} from "../laz/coder/predictors.js";
import { ArithmeticEncoder, IntegerCompressor } from "./arithmetic.js";

export interface PointwiseItemCompressor {
  /** Bytes of the record this item covers. */
  readonly size: number;
  /** Primes the predictors with the chunk's first record (stored raw by the caller). */
  first(rec: Uint8Array, off: number): void;
  compress(enc: ArithmeticEncoder, rec: Uint8Array, off: number): void;
}

export class Point10V2Compressor implements PointwiseItemCompressor {
  readonly size = 20;
  private lastX = 0;
  private lastY = 0;
  private lastBits = 0;
  private lastClass = 0;
  private lastScanAngle = 0;
  private lastUserData = 0;
  private lastPsid = 0;
  private readonly lastIntensity = new Uint16Array(16);
  private readonly lastHeight = new Int32Array(8);
  private readonly xMedian = new Medians5();
  private readonly yMedian = new Medians5();
  private readonly mChanged = new SymbolModel(64, false);
  private readonly mScanAngle = symbolModels(2, 256, false);
  // 3 × 256 context models of 256 symbols: created on first use (most are never used)
  private readonly mBitByte: (SymbolModel | undefined)[] = new Array(256).fill(undefined);
  private readonly mClass: (SymbolModel | undefined)[] = new Array(256).fill(undefined);
  private readonly mUserData: (SymbolModel | undefined)[] = new Array(256).fill(undefined);
  private readonly icIntensity = new IntegerCompressor(16, 4);
  private readonly icPsid = new IntegerCompressor(16, 1);
  private readonly icDx = new IntegerCompressor(32, 2);
  private readonly icDy = new IntegerCompressor(32, 22);
  private readonly icZ = new IntegerCompressor(32, 20);

  first(rec: Uint8Array, o: number): void {
    this.lastX = i32(rec, o);
    this.lastY = i32(rec, o + 4);
    this.lastBits = rec[o + 14];
    this.lastClass = rec[o + 15];
    this.lastScanAngle = rec[o + 16];
    this.lastUserData = rec[o + 17];
    this.lastPsid = u16(rec, o + 18);
  }

  compress(enc: ArithmeticEncoder, rec: Uint8Array, o: number): void {
    const x = i32(rec, o);
    const y = i32(rec, o + 4);
    const z = i32(rec, o + 8);
    const intensity = u16(rec, o + 12);
    const bits = rec[o + 14];
    const cls = rec[o + 15];
    const scanAngle = rec[o + 16];
    const userData = rec[o + 17];
    const psid = u16(rec, o + 18);

    const r = bits & 7;
    const n = (bits >>> 3) & 7;
    const m = NUMBER_RETURN_MAP[n * 8 + r];
    const l = NUMBER_RETURN_LEVEL[n * 8 + r];

    // which attributes other than x/y/z changed (intensity against the per-return-context memory)
    const changed =
      ((bits !== this.lastBits ? 1 : 0) << 5) |
      ((intensity !== this.lastIntensity[m] ? 1 : 0) << 4) |
      ((cls !== this.lastClass ? 1 : 0) << 3) |
      ((scanAngle !== this.lastScanAngle ? 1 : 0) << 2) |
      ((userData !== this.lastUserData ? 1 : 0) << 1) |
      (psid !== this.lastPsid ? 1 : 0);
    enc.encodeSymbol(this.mChanged, changed);

    if (changed & 32) enc.encodeSymbol((this.mBitByte[this.lastBits] ??= new SymbolModel(256, false)), bits);
    if (changed & 16) {
      this.icIntensity.compress(enc, this.lastIntensity[m], intensity, m < 3 ? m : 3);
      this.lastIntensity[m] = intensity;
    }
    if (changed & 8) enc.encodeSymbol((this.mClass[this.lastClass] ??= new SymbolModel(256, false)), cls);
    if (changed & 4) {
      // context: scan direction flag of the current point; symbol: byte difference modulo 256
      enc.encodeSymbol(this.mScanAngle[(bits >>> 6) & 1], (scanAngle - this.lastScanAngle) & 0xff);
    }
    if (changed & 2) enc.encodeSymbol((this.mUserData[this.lastUserData] ??= new SymbolModel(256, false)), userData);
    if (changed & 1) this.icPsid.compress(enc, this.lastPsid, psid, 0);

    const single = n === 1 ? 1 : 0;
    const dx = (x - this.lastX) | 0;
    this.icDx.compress(enc, this.xMedian.get(m), dx, single);
    this.xMedian.add(m, dx);

    const kx = this.icDx.k;
    const dy = (y - this.lastY) | 0;
    this.icDy.compress(enc, this.yMedian.get(m), dy, yContext(single, kx));
    this.yMedian.add(m, dy);

    this.icZ.compress(enc, this.lastHeight[l], z, zContext(single, kx, this.icDy.k));
    this.lastHeight[l] = z;

    this.lastX = x;
    this.lastY = y;
    this.lastBits = bits;
    this.lastClass = cls;
    this.lastScanAngle = scanAngle;
    this.lastUserData = userData;
    this.lastPsid = psid;
  }
}

/**
 * LASzip's multiplier between two GPS time differences: float32 ratio, then I32_QUANTIZE (+-0.5 in
 * double precision, truncation). Out-of-range casts give INT_MIN as on x86 (what LASzip binaries
 * produce); decoders only read the resulting symbol, so any choice decodes, this one matches LASzip.
 */
export function gpsMultiplier(diff: number, lastDiff: number): number {
  const q = Math.fround(Math.fround(diff) / Math.fround(lastDiff));
  const r = q >= 0 ? q + 0.5 : q - 0.5;
  return r >= 2147483648 || r <= -2147483649 ? -2147483648 : Math.trunc(r);
}

/**
 * GPS time (a double) handled as its 64-bit pattern, split in 32-bit halves (no BigInt). Up to four
 * interleaved time sequences are tracked; a difference that fits 32 bits is predicted from the last
 * difference times a small multiplier.
 */
export class GpsTime11V2Compressor implements PointwiseItemCompressor {
  readonly size = 8;
  private last = 0;
  private next = 0;
  private readonly lastLo = new Int32Array(4);
  private readonly lastHi = new Int32Array(4);
  private readonly lastDiff = new Int32Array(4);
  private readonly extremeCounter = new Int32Array(4);
  private readonly mMulti = new SymbolModel(GPS_MULTI_TOTAL_V2, false);
  private readonly m0Diff = new SymbolModel(6, false);
  private readonly ic = new IntegerCompressor(32, 9);
  /** Result of `diff`: whether the 64-bit difference fits in an int32, and its low 32 bits. */
  private fits = false;
  private diff32 = 0;

  first(rec: Uint8Array, o: number): void {
    this.lastLo[0] = i32(rec, o);
    this.lastHi[0] = i32(rec, o + 4);
  }

  /** 64-bit (hi, lo) minus sequence `s`, wrapping. */
  private diff(hi: number, lo: number, s: number): void {
    const bl = this.lastLo[s] >>> 0;
    const al = lo >>> 0;
    const dlo = (al - bl) | 0;
    const dhi = (hi - this.lastHi[s] - (al < bl ? 1 : 0)) | 0;
    this.diff32 = dlo;
    this.fits = dhi === dlo >> 31;
  }

  compress(enc: ArithmeticEncoder, rec: Uint8Array, o: number): void {
    const lo = i32(rec, o);
    const hi = i32(rec, o + 4);
    this.compressValue(enc, hi, lo);
  }

  private compressValue(enc: ArithmeticEncoder, hi: number, lo: number): void {
    const last = this.last;
    const same = lo === this.lastLo[last] && hi === this.lastHi[last];
    if (this.lastDiff[last] === 0) {
      if (same) {
        enc.encodeSymbol(this.m0Diff, 0);
        return;
      }
      this.diff(hi, lo, last);
      if (this.fits) {
        enc.encodeSymbol(this.m0Diff, 1);
        this.ic.compress(enc, 0, this.diff32, 0);
        this.lastDiff[last] = this.diff32;
        this.extremeCounter[last] = 0;
      } else {
        // maybe it continues one of the other sequences
        for (let i = 1; i < 4; i++) {
          const s = (last + i) & 3;
          this.diff(hi, lo, s);
          if (this.fits) {
            enc.encodeSymbol(this.m0Diff, i + 2);
            this.last = s;
            this.compressValue(enc, hi, lo);
            return;
          }
        }
        enc.encodeSymbol(this.m0Diff, 2);
        this.startSequence(enc, hi, lo);
      }
      this.lastLo[this.last] = lo;
      this.lastHi[this.last] = hi;
      return;
    }

    if (same) {
      enc.encodeSymbol(this.mMulti, GPS_MULTI_UNCHANGED);
      return;
    }
    this.diff(hi, lo, last);
    if (this.fits) {
      const d = this.diff32;
      const lastDiff = this.lastDiff[last];
      const multi = gpsMultiplier(d, lastDiff);
      if (multi === 1) {
        enc.encodeSymbol(this.mMulti, 1);
        this.ic.compress(enc, lastDiff, d, 1);
        this.extremeCounter[last] = 0;
      } else if (multi > 0) {
        if (multi < GPS_MULTI) {
          enc.encodeSymbol(this.mMulti, multi);
          this.ic.compress(enc, Math.imul(multi, lastDiff), d, multi < 10 ? 2 : 3);
        } else {
          enc.encodeSymbol(this.mMulti, GPS_MULTI);
          this.ic.compress(enc, Math.imul(GPS_MULTI, lastDiff), d, 4);
          this.bumpExtreme(last, d);
        }
      } else if (multi < 0) {
        if (multi > GPS_MULTI_MINUS) {
          enc.encodeSymbol(this.mMulti, GPS_MULTI - multi);
          this.ic.compress(enc, Math.imul(multi, lastDiff), d, 5);
        } else {
          enc.encodeSymbol(this.mMulti, GPS_MULTI - GPS_MULTI_MINUS);
          this.ic.compress(enc, Math.imul(GPS_MULTI_MINUS, lastDiff), d, 6);
          this.bumpExtreme(last, d);
        }
      } else {
        enc.encodeSymbol(this.mMulti, 0);
        this.ic.compress(enc, 0, d, 7);
        this.bumpExtreme(last, d);
      }
    } else {
      for (let i = 1; i < 4; i++) {
        const s = (last + i) & 3;
        this.diff(hi, lo, s);
        if (this.fits) {
          enc.encodeSymbol(this.mMulti, GPS_MULTI_CODE_FULL_V2 + i);
          this.last = s;
          this.compressValue(enc, hi, lo);
          return;
        }
      }
      enc.encodeSymbol(this.mMulti, GPS_MULTI_CODE_FULL_V2);
      this.startSequence(enc, hi, lo);
    }
    this.lastLo[this.last] = lo;
    this.lastHi[this.last] = hi;
  }

  /** After several extreme multipliers in a row, adopt the new difference as the reference. */
  private bumpExtreme(last: number, d: number): void {
    if (++this.extremeCounter[last] > 3) {
      this.lastDiff[last] = d;
      this.extremeCounter[last] = 0;
    }
  }

  /** New sequence: high half predicted from the current sequence, low half raw. */
  private startSequence(enc: ArithmeticEncoder, hi: number, lo: number): void {
    this.ic.compress(enc, this.lastHi[this.last], hi, 8);
    enc.writeInt(lo >>> 0);
    this.next = (this.next + 1) & 3;
    this.last = this.next;
    this.lastDiff[this.last] = 0;
    this.extremeCounter[this.last] = 0;
  }
}

/**
 * RGB v2: flags for which bytes changed, red coded as a byte delta, green and blue predicted from
 * red's delta (clamped to a byte). `last` is [r, g, b].
 */
export function compressRgb(
  enc: ArithmeticEncoder,
  m: RgbModels,
  r: number,
  g: number,
  b: number,
  last: Uint16Array,
  li: number,
): void {
  const lr = last[li];
  const lg = last[li + 1];
  const lb = last[li + 2];
  let sym =
    ((lr & 0xff) !== (r & 0xff) ? 1 : 0) |
    ((lr & 0xff00) !== (r & 0xff00) ? 2 : 0) |
    ((lg & 0xff) !== (g & 0xff) ? 4 : 0) |
    ((lg & 0xff00) !== (g & 0xff00) ? 8 : 0) |
    ((lb & 0xff) !== (b & 0xff) ? 16 : 0) |
    ((lb & 0xff00) !== (b & 0xff00) ? 32 : 0);
  if (r !== g || r !== b) sym |= 64;
  enc.encodeSymbol(m.byteUsed, sym);

  let diffL = 0;
  let diffH = 0;
  if (sym & 1) {
    diffL = (r & 0xff) - (lr & 0xff);
    enc.encodeSymbol(m.rgbDiff0, diffL & 0xff);
  }
  if (sym & 2) {
    diffH = (r >>> 8) - (lr >>> 8);
    enc.encodeSymbol(m.rgbDiff1, diffH & 0xff);
  }
  if (sym & 64) {
    if (sym & 4) {
      const corr = (g & 0xff) - clampU8(diffL + (lg & 0xff));
      enc.encodeSymbol(m.rgbDiff2, corr & 0xff);
    }
    if (sym & 16) {
      diffL = ((diffL + (g & 0xff) - (lg & 0xff)) / 2) | 0;
      const corr = (b & 0xff) - clampU8(diffL + (lb & 0xff));
      enc.encodeSymbol(m.rgbDiff4, corr & 0xff);
    }
    if (sym & 8) {
      const corr = (g >>> 8) - clampU8(diffH + (lg >>> 8));
      enc.encodeSymbol(m.rgbDiff3, corr & 0xff);
    }
    if (sym & 32) {
      diffH = ((diffH + (g >>> 8) - (lg >>> 8)) / 2) | 0;
      const corr = (b >>> 8) - clampU8(diffH + (lb >>> 8));
      enc.encodeSymbol(m.rgbDiff5, corr & 0xff);
    }
  }
}

export class Rgb12V2Compressor implements PointwiseItemCompressor {
  readonly size = 6;
  private readonly last = new Uint16Array(3);
  private readonly m = new RgbModels(false);

  first(rec: Uint8Array, o: number): void {
    this.last[0] = u16(rec, o);
    this.last[1] = u16(rec, o + 2);
    this.last[2] = u16(rec, o + 4);
  }

  compress(enc: ArithmeticEncoder, rec: Uint8Array, o: number): void {
    const r = u16(rec, o);
    const g = u16(rec, o + 2);
    const b = u16(rec, o + 4);
    compressRgb(enc, this.m, r, g, b, this.last, 0);
    this.last[0] = r;
    this.last[1] = g;
    this.last[2] = b;
  }
}

/** Extra bytes v2: each byte's difference to the previous record's byte, one model per byte. */
export class ByteV2Compressor implements PointwiseItemCompressor {
  readonly size: number;
  private readonly last: Uint8Array;
  private readonly m: SymbolModel[];

  constructor(count: number) {
    this.size = count;
    this.last = new Uint8Array(count);
    this.m = symbolModels(count, 256, false);
  }

  first(rec: Uint8Array, o: number): void {
    this.last.set(rec.subarray(o, o + this.size));
  }

  compress(enc: ArithmeticEncoder, rec: Uint8Array, o: number): void {
    const last = this.last;
    for (let i = 0; i < this.size; i++) {
      const v = rec[o + i];
      enc.encodeSymbol(this.m[i], (v - last[i]) & 0xff);
      last[i] = v;
    }
  }
}
