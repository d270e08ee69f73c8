/**
 * Pure-TypeScript decoder for LASzip point-wise chunks (compressor 2, item version 2: POINT10,
 * GPSTIME11, RGB12, BYTE), the mirror of `../lazenc/pointwise-items.ts`. One call decodes a whole
 * chunk into raw LAS records, so there is no per-point call across a WASM boundary.
 *
 * Entropy coder: LASzip's 32-bit range decoder. `value` and `length` are uint32 quantities kept as
 * plain (double) numbers: every product is < 2^32 and `value < length` always holds (for any input
 * bytes), so all arithmetic is exact without masking. Symbol models sit in flat Int32Array tables
 * with LASzip's decoder lookup table; no allocation happens per point.
 *
 * Corrupt input: bytes past the end of the chunk read as 0, every loop is bounded, so garbage in
 * gives garbage records but always terminates.
 */

import { NUMBER_RETURN_LEVEL, NUMBER_RETURN_MAP } from "../lazenc/tables.js";

const AC_MIN_LENGTH = 0x01000000;
const DM_LENGTH_SHIFT = 15;
const DM_MAX_COUNT = 1 << DM_LENGTH_SHIFT;
const BM_LENGTH_SHIFT = 13;
const BM_MAX_COUNT = 1 << BM_LENGTH_SHIFT;
const TWO32 = 4294967296;
/**
 * Decoder lookup tables 16x finer than LASzip's (its size is the `bits` below): a bucket then rarely
 * holds more than one symbol boundary, so the search after the lookup is mostly empty. Measured ~10%
 * faster overall than LASzip's size; the table only speeds the search, the decoded symbol is the same.
 */
const TABLE_EXTRA_BITS = 4;

/**
 * Symbol model layout at offset o of an Int32Array:
 *   o+0 symbols until update, o+1 total count, o+2 update cycle, o+3 symbol count n,
 *   o+4 decoder-table shift, then dist[n] (cumulative, scaled to 2^15), count[n],
 *   then the decoder table (tableSize + 2 entries): first symbol whose range may hold dv >> shift.
 */
const M_UNTIL = 0;
const M_TOTAL = 1;
const M_CYCLE = 2;
const M_N = 3;
const M_SHIFT = 4;
const M_HEAD = 5;

function tableBits(n: number): number {
  let bits = 3;
  while (n > 1 << (bits + 2)) bits++;
  return Math.min(DM_LENGTH_SHIFT, bits + TABLE_EXTRA_BITS);
}

/** Int32 slots one model of n symbols takes. */
export function modelSlots(n: number): number {
  return M_HEAD + 2 * n + (1 << tableBits(n)) + 2;
}

/** Initialises a model as LASzip's ArithmeticModel::init (the encoder's models start identically). */
export function initModel(t: Int32Array, o: number, n: number): void {
  t[o + M_N] = n;
  t[o + M_SHIFT] = DM_LENGTH_SHIFT - tableBits(n);
  t[o + M_TOTAL] = 0;
  const d = o + M_HEAD;
  for (let k = 0; k < n; k++) {
    t[d + k] = 0;
    t[d + n + k] = 1;
  }
  t[o + M_CYCLE] = n;
  updateModel(t, o);
  const cycle = (n + 6) >>> 1;
  t[o + M_CYCLE] = cycle;
  t[o + M_UNTIL] = cycle;
}

/** Same update rule as the encoder (so both sides see the same distribution), plus the lookup table. */
function updateModel(t: Int32Array, o: number): void {
  const n = t[o + M_N];
  const d = o + M_HEAD;
  const c = d + n;
  let cycle = t[o + M_CYCLE];
  let total = t[o + M_TOTAL] + cycle;
  if (total > DM_MAX_COUNT) {
    total = 0;
    for (let k = 0; k < n; k++) {
      const v = (t[c + k] + 1) >>> 1;
      t[c + k] = v;
      total += v;
    }
  }
  t[o + M_TOTAL] = total;
  const scale = Math.floor(0x80000000 / total);
  const shift = t[o + M_SHIFT];
  const tb = c + n;
  const tableSize = 1 << (DM_LENGTH_SHIFT - shift);
  let sum = 0;
  let s = 0;
  for (let k = 0; k < n; k++) {
    const dk = (scale * sum) >>> (31 - DM_LENGTH_SHIFT);
    t[d + k] = dk;
    sum += t[c + k];
    const w = dk >>> shift;
    while (s < w) t[tb + ++s] = k - 1;
  }
  t[tb] = 0;
  while (s <= tableSize) t[tb + ++s] = n - 1;
  cycle = (5 * cycle) >>> 2;
  const maxCycle = (n + 6) << 3;
  if (cycle > maxCycle) cycle = maxCycle;
  t[o + M_CYCLE] = cycle;
  t[o + M_UNTIL] = cycle;
}

/** A table holding one fresh model of n symbols at offset 0. */
function newModel(n: number): Int32Array {
  const t = new Int32Array(modelSlots(n));
  initModel(t, 0, n);
  return t;
}

/** Bit model: [bit0Count, bitCount, bit0Prob, bitsUntilUpdate, updateCycle]. */
function newBitModel(): Int32Array {
  return Int32Array.of(1, 2, 1 << (BM_LENGTH_SHIFT - 1), 4, 4);
}

function updateBitModel(b: Int32Array): void {
  let bitCount = b[1] + b[4];
  let bit0Count = b[0];
  if (bitCount > BM_MAX_COUNT) {
    bitCount = (bitCount + 1) >>> 1;
    bit0Count = (bit0Count + 1) >>> 1;
    if (bit0Count === bitCount) bitCount++;
  }
  b[0] = bit0Count;
  b[1] = bitCount;
  const scale = Math.floor(0x80000000 / bitCount);
  b[2] = (bit0Count * scale) >>> (31 - BM_LENGTH_SHIFT);
  let cycle = (5 * b[4]) >>> 2;
  if (cycle > 64) cycle = 64;
  b[4] = cycle;
  b[3] = cycle;
}

/** 2^k as exact doubles (k = 0..32): correctors reach 2^31, beyond int32 shifts. */
const POW2 = Float64Array.from({ length: 33 }, (_, k) => 2 ** k);

/** The range decoder: state in fields of one monomorphic object, read into locals by the hot methods. */
export class ArithmeticDecoder {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  /** [value, length]: a typed array keeps both unboxed doubles (object fields would box them). */
  readonly st = new Float64Array(2);

  get value(): number {
    return this.st[0];
  }

  get length(): number {
    return this.st[1];
  }

  /** Starts decoding at `pos` of `buf` (reads the first 4 bytes, as LASzip's init). */
  start(buf: Uint8Array, pos: number): void {
    this.buf = buf;
    this.end = buf.length;
    this.pos = pos;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const p = this.pos++;
      v = v * 256 + (p < this.end ? buf[p] : 0);
    }
    this.st[0] = v;
    this.st[1] = 0xffffffff;
  }

  /** value < length < 2^24 on entry: shifting by 8 keeps both below 2^32. Bytes past the end read 0. */
  private renorm(value: number, length: number): void {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos;
    do {
      value = value * 256 + (p < end ? buf[p] : 0);
      p++;
      length = length * 256;
    } while (length < AC_MIN_LENGTH);
    this.pos = p;
    this.st[0] = value;
    this.st[1] = length;
  }

  decodeSymbol(t: Int32Array, o: number): number {
    const st = this.st;
    const length = st[1];
    const value = st[0];
    const l = length >>> DM_LENGTH_SHIFT;
    let dv = (value / l) >>> 0;
    // value may reach past 2^15 * l inside the last symbol's range; the last symbol it is either way
    if (dv > 0x7fff) dv = 0x7fff;
    const n = t[o + M_N];
    const d = o + M_HEAD;
    const ti = d + 2 * n + (dv >>> t[o + M_SHIFT]);
    let s = t[ti];
    let e = t[ti + 1] + 1;
    while (e > s + 1) {
      const k = (s + e) >>> 1;
      if (t[d + k] > dv) e = k;
      else s = k;
    }
    const x = t[d + s] * l;
    const y = s === n - 1 ? length : t[d + s + 1] * l;
    let nv = value - x;
    let nl = y - x;
    if (nl < AC_MIN_LENGTH) {
      // renormalise inline (at most 2 bytes after a symbol: its length is at least 2^9)
      const buf = this.buf;
      const end = this.end;
      let p = this.pos;
      do {
        nv = nv * 256 + (p < end ? buf[p] : 0);
        p++;
        nl = nl * 256;
      } while (nl < AC_MIN_LENGTH);
      this.pos = p;
    }
    st[0] = nv;
    st[1] = nl;
    t[d + n + s]++;
    if (--t[o + M_UNTIL] === 0) updateModel(t, o);
    return s;
  }

  decodeBit(b: Int32Array): number {
    const st = this.st;
    const length = st[1];
    const value = st[0];
    const x = b[2] * (length >>> BM_LENGTH_SHIFT);
    let sym: number;
    let nv = value;
    let nl: number;
    if (value < x) {
      sym = 0;
      nl = x;
      b[0]++;
    } else {
      sym = 1;
      nv = value - x;
      nl = length - x;
    }
    if (nl < AC_MIN_LENGTH) this.renorm(nv, nl);
    else {
      st[0] = nv;
      st[1] = nl;
    }
    if (--b[3] === 0) updateBitModel(b);
    return sym;
  }

  /** Raw bits (≤ 32), as an unsigned number. */
  readBits(bits: number): number {
    if (bits > 19) {
      const lo = this.readShort();
      const hi = this.readBits(bits - 16);
      return hi * 65536 + lo;
    }
    const st = this.st;
    const value = st[0];
    const l = st[1] >>> bits;
    const sym = (value / l) >>> 0;
    const nv = value - l * sym;
    if (l < AC_MIN_LENGTH) this.renorm(nv, l);
    else {
      st[0] = nv;
      st[1] = l;
    }
    return sym;
  }

  readShort(): number {
    return this.readBits(16);
  }

  /** 32 raw bits, low half first (as written by `writeInt`). */
  readInt(): number {
    const lo = this.readShort();
    const hi = this.readShort();
    return hi * 65536 + lo;
  }
}

/**
 * LASzip's integer decompressor: interval class k (modelled per context), then the position inside
 * the interval (modelled, with raw low bits when k > bitsHigh). Same table layout idea as the encoder:
 * all models of one compressor in one flat table, made up front.
 */
export class IntegerDecompressor {
  /** k of the last decompressed corrector (callers derive contexts from it). */
  k = 0;
  private readonly corrBits: number;
  private readonly corrRange: number;
  private readonly fold: boolean;
  private readonly bitsHigh: number;
  private readonly bitsSlots: number;
  private readonly corrOff: Int32Array;
  /** Corrector model of k initialised yet (large k are rare: most never are in a chunk). */
  private readonly corrReady = new Uint8Array(33);
  private readonly tab: Int32Array;
  private readonly bit0: Int32Array = newBitModel();

  constructor(bits = 16, contexts = 1, bitsHigh = 8) {
    const corrBits = bits >= 1 && bits < 32 ? bits : 32;
    this.corrBits = corrBits;
    this.fold = corrBits < 32;
    this.corrRange = corrBits < 32 ? 2 ** corrBits : 0;
    this.bitsHigh = bitsHigh;
    const bitsSlots = modelSlots(corrBits + 1);
    this.bitsSlots = bitsSlots;
    const corrOff = new Int32Array(33);
    let slots = contexts * bitsSlots;
    const maxK = corrBits < 32 ? corrBits : 31;
    for (let k = 1; k <= maxK; k++) {
      corrOff[k] = slots;
      slots += modelSlots(k <= bitsHigh ? 1 << k : 1 << bitsHigh);
    }
    this.corrOff = corrOff;
    const tab = new Int32Array(slots);
    for (let c = 0; c < contexts; c++) initModel(tab, c * bitsSlots, corrBits + 1);
    this.tab = tab;
  }

  /** pred + corrector, wrapped to int32 (32-bit) or folded into [0, 2^bits) (narrower). */
  decompress(dec: ArithmeticDecoder, pred: number, context: number): number {
    const tab = this.tab;
    const k = dec.decodeSymbol(tab, context * this.bitsSlots);
    this.k = k;
    let c: number;
    if (k === 0) {
      c = dec.decodeBit(this.bit0);
    } else if (k < 32) {
      const bh = this.bitsHigh;
      // a fresh model is the same whenever it is made, so creating it on first use decodes alike
      if (this.corrReady[k] === 0) {
        initModel(tab, this.corrOff[k], k <= bh ? 1 << k : 1 << bh);
        this.corrReady[k] = 1;
      }
      if (k <= bh) {
        c = dec.decodeSymbol(tab, this.corrOff[k]);
      } else {
        const k1 = k - bh;
        const hi = dec.decodeSymbol(tab, this.corrOff[k]);
        c = hi * POW2[k1] + dec.readBits(k1);
      }
      // back from [0, 2^k - 1] to [-(2^k - 1), -2^(k-1)] U [2^(k-1), 2^k]
      c = c >= POW2[k - 1] ? c + 1 : c - (POW2[k] - 1);
    } else {
      c = -2147483648;
    }
    let real = (pred + c) | 0;
    if (this.fold) {
      if (real < 0) real += this.corrRange;
      else if (real >= this.corrRange) real -= this.corrRange;
    }
    return real;
  }

  get correctorBits(): number {
    return this.corrBits;
  }
}

const GPS_MULTI = 500;
const GPS_MULTI_MINUS = -10;
const GPS_MULTI_UNCHANGED = GPS_MULTI - GPS_MULTI_MINUS + 1;
const GPS_MULTI_CODE_FULL = GPS_MULTI - GPS_MULTI_MINUS + 2;
const GPS_MULTI_TOTAL = GPS_MULTI - GPS_MULTI_MINUS + 6;

/** Core record sizes of point formats 0-3. */
const BASE_LENGTH = [20, 28, 26, 34];

function clampU8(n: number): number {
  return n < 0 ? 0 : n > 255 ? 255 : n;
}

/**
 * Decoder of one point-wise chunk: all item states and models for one chunk. Models restart with
 * every chunk, so make one per chunk (or use `decodePointwiseChunk`).
 */
export class PointwiseChunkDecoder {
  readonly pointFormat: number;
  readonly recordLength: number;
  private readonly dec = new ArithmeticDecoder();
  private readonly hasGps: boolean;
  private readonly hasRgb: boolean;
  private readonly gpsOff: number;
  private readonly rgbOff: number;
  private readonly extraOff: number;
  private readonly extraCount: number;

  // POINT10 v2
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
  /** 16 sorted windows of 5 (x then y), and which end each drops next. */
  private readonly medX = new Int32Array(80);
  private readonly medY = new Int32Array(80);
  private readonly highX = new Uint8Array(16).fill(1);
  private readonly highY = new Uint8Array(16).fill(1);
  private readonly mChanged = newModel(64);
  private readonly mScan0 = newModel(256);
  private readonly mScan1 = newModel(256);
  // 256 contexts each, created on first use (most never are)
  private readonly mBitByte: (Int32Array | null)[] = new Array<Int32Array | null>(256).fill(null);
  private readonly mClass: (Int32Array | null)[] = new Array<Int32Array | null>(256).fill(null);
  private readonly mUser: (Int32Array | null)[] = new Array<Int32Array | null>(256).fill(null);
  private readonly icIntensity = new IntegerDecompressor(16, 4);
  private readonly icPsid = new IntegerDecompressor(16, 1);
  private readonly icDx = new IntegerDecompressor(32, 2);
  private readonly icDy = new IntegerDecompressor(32, 22);
  private readonly icZ = new IntegerDecompressor(32, 20);

  // GPSTIME11 v2: 4 sequences, 64-bit times as (hi, lo) int32 halves
  private gLast = 0;
  private gNext = 0;
  private readonly gLo = new Int32Array(4);
  private readonly gHi = new Int32Array(4);
  private readonly gDiff = new Int32Array(4);
  private readonly gCounter = new Int32Array(4);
  private readonly mMulti: Int32Array;
  private readonly m0Diff: Int32Array;
  private readonly icGps: IntegerDecompressor;

  // RGB12 v2
  private readonly lastRgb = new Int32Array(3);
  private readonly mRgb: Int32Array;
  private readonly rgbOffs: Int32Array;

  // BYTE v2 (extra bytes)
  private readonly lastBytes: Uint8Array;
  private readonly mBytes: Int32Array;
  private readonly byteSlots = modelSlots(256);

  constructor(pointFormat: number, recordLength: number) {
    if (!(pointFormat >= 0 && pointFormat <= 3 && Number.isInteger(pointFormat))) {
      throw new RangeError(`point-wise LAZ decoder handles point formats 0-3, not ${pointFormat}`);
    }
    const base = BASE_LENGTH[pointFormat];
    if (!Number.isInteger(recordLength) || recordLength < base || recordLength > base + 0xffff) {
      throw new RangeError(`record length ${recordLength} invalid for point format ${pointFormat}`);
    }
    this.pointFormat = pointFormat;
    this.recordLength = recordLength;
    this.hasGps = pointFormat === 1 || pointFormat === 3;
    this.hasRgb = pointFormat === 2 || pointFormat === 3;
    this.gpsOff = 20;
    this.rgbOff = this.hasGps ? 28 : 20;
    this.extraOff = base;
    this.extraCount = recordLength - base;
    this.mMulti = this.hasGps ? newModel(GPS_MULTI_TOTAL) : new Int32Array(0);
    this.m0Diff = this.hasGps ? newModel(6) : new Int32Array(0);
    this.icGps = new IntegerDecompressor(this.hasGps ? 32 : 1, this.hasGps ? 9 : 1);
    // RGB models: byteUsed (128 symbols) then 6 byte-difference models (256), one table
    const rgbOffs = new Int32Array(7);
    let slots = 0;
    if (this.hasRgb) {
      rgbOffs[0] = 0;
      slots = modelSlots(128);
      for (let i = 1; i < 7; i++) {
        rgbOffs[i] = slots;
        slots += modelSlots(256);
      }
    }
    this.rgbOffs = rgbOffs;
    this.mRgb = new Int32Array(slots);
    if (this.hasRgb) {
      initModel(this.mRgb, 0, 128);
      for (let i = 1; i < 7; i++) initModel(this.mRgb, rgbOffs[i], 256);
    }
    this.lastBytes = new Uint8Array(this.extraCount);
    this.mBytes = new Int32Array(this.extraCount * this.byteSlots);
    for (let i = 0; i < this.extraCount; i++) initModel(this.mBytes, i * this.byteSlots, 256);
  }

  /**
   * Decodes `pointCount` records from `chunk` (first record raw, then the arithmetic-coded rest)
   * into `out` (allocated when absent or too small). Call once per decoder.
   */
  decode(chunk: Uint8Array, pointCount: number, out?: Uint8Array): Uint8Array {
    const rl = this.recordLength;
    if (!Number.isInteger(pointCount) || pointCount < 0) throw new RangeError(`invalid point count ${pointCount}`);
    const need = pointCount * rl;
    const dst = out !== undefined && out.length >= need ? out : new Uint8Array(need);
    if (pointCount === 0) return dst;
    // the first record is stored raw (a truncated chunk leaves zeros)
    const raw = Math.min(rl, chunk.length);
    dst.set(chunk.subarray(0, raw), 0);
    dst.fill(0, raw, rl);
    this.first(dst, 0);
    this.dec.start(chunk, rl);
    const hasGps = this.hasGps;
    const hasRgb = this.hasRgb;
    const hasExtra = this.extraCount > 0;
    const gpsOff = this.gpsOff;
    const rgbOff = this.rgbOff;
    const extraOff = this.extraOff;
    for (let i = 1, p = rl; i < pointCount; i++, p += rl) {
      this.point10(dst, p);
      if (hasGps) this.gps(dst, p + gpsOff);
      if (hasRgb) this.rgb(dst, p + rgbOff);
      if (hasExtra) this.bytes(dst, p + extraOff);
    }
    return dst;
  }

  private first(b: Uint8Array, o: number): void {
    this.lastX = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
    this.lastY = b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24);
    // LASzip forgets the first point's intensity: predictions start from 0
    this.lastInt = 0;
    this.lastBits = b[o + 14];
    this.lastClass = b[o + 15];
    this.lastScan = b[o + 16];
    this.lastUser = b[o + 17];
    this.lastPsid = b[o + 18] | (b[o + 19] << 8);
    if (this.hasGps) {
      const g = o + this.gpsOff;
      this.gLo[0] = b[g] | (b[g + 1] << 8) | (b[g + 2] << 16) | (b[g + 3] << 24);
      this.gHi[0] = b[g + 4] | (b[g + 5] << 8) | (b[g + 6] << 16) | (b[g + 7] << 24);
    }
    if (this.hasRgb) {
      const r = o + this.rgbOff;
      this.lastRgb[0] = b[r] | (b[r + 1] << 8);
      this.lastRgb[1] = b[r + 2] | (b[r + 3] << 8);
      this.lastRgb[2] = b[r + 4] | (b[r + 5] << 8);
    }
    if (this.extraCount > 0) this.lastBytes.set(b.subarray(o + this.extraOff, o + this.extraOff + this.extraCount));
  }

  private point10(out: Uint8Array, o: number): void {
    const dec = this.dec;
    const changed = dec.decodeSymbol(this.mChanged, 0);
    let bits = this.lastBits;
    let intensity = this.lastInt;
    let m: number;
    let l: number;
    if (changed !== 0) {
      if (changed & 32) {
        const mb = (this.mBitByte[bits] ??= newModel(256));
        bits = dec.decodeSymbol(mb, 0);
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
      if (changed & 8) {
        const mc = (this.mClass[this.lastClass] ??= newModel(256));
        this.lastClass = dec.decodeSymbol(mc, 0);
      }
      if (changed & 4) {
        const ms = (bits & 0x40) !== 0 ? this.mScan1 : this.mScan0;
        this.lastScan = (this.lastScan + dec.decodeSymbol(ms, 0)) & 0xff;
      }
      if (changed & 2) {
        const mu = (this.mUser[this.lastUser] ??= newModel(256));
        this.lastUser = dec.decodeSymbol(mu, 0);
      }
      if (changed & 1) this.lastPsid = this.icPsid.decompress(dec, this.lastPsid, 0);
    } else {
      const nr = ((bits >>> 3) & 7) * 8 + (bits & 7);
      m = NUMBER_RETURN_MAP[nr];
      l = NUMBER_RETURN_LEVEL[nr];
    }

    const single = ((bits >>> 3) & 7) === 1 ? 1 : 0;
    const icDx = this.icDx;
    const icDy = this.icDy;
    const medX = this.medX;
    const medY = this.medY;
    const dx = icDx.decompress(dec, medX[m * 5 + 2], single);
    const x = (this.lastX + dx) | 0;
    this.lastX = x;
    addMedian(medX, this.highX, m, dx);
    const kx = icDx.k;
    const dy = icDy.decompress(dec, medY[m * 5 + 2], single + (kx < 20 ? kx & ~1 : 20));
    const y = (this.lastY + dy) | 0;
    this.lastY = y;
    addMedian(medY, this.highY, m, dy);
    const kz = (kx + icDy.k) >>> 1;
    const z = this.icZ.decompress(dec, this.lastHeight[l], single + (kz < 18 ? kz & ~1 : 18));
    this.lastHeight[l] = z;

    out[o] = x;
    out[o + 1] = x >> 8;
    out[o + 2] = x >> 16;
    out[o + 3] = x >> 24;
    out[o + 4] = y;
    out[o + 5] = y >> 8;
    out[o + 6] = y >> 16;
    out[o + 7] = y >> 24;
    out[o + 8] = z;
    out[o + 9] = z >> 8;
    out[o + 10] = z >> 16;
    out[o + 11] = z >> 24;
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

  private gps(out: Uint8Array, o: number): void {
    const dec = this.dec;
    const gLo = this.gLo;
    const gHi = this.gHi;
    const gDiff = this.gDiff;
    const gCounter = this.gCounter;
    const ic = this.icGps;
    // a valid stream switches sequence at most once per point; the bound keeps garbage finite
    for (let guard = 0; guard < 8; guard++) {
      const last = this.gLast;
      if (gDiff[last] === 0) {
        const multi = dec.decodeSymbol(this.m0Diff, 0);
        if (multi === 1) {
          const diff = ic.decompress(dec, 0, 0);
          gDiff[last] = diff;
          this.addTime(last, diff);
          gCounter[last] = 0;
        } else if (multi === 2) {
          this.newSequence(dec, last);
        } else if (multi > 2) {
          this.gLast = (last + multi - 2) & 3;
          continue;
        }
      } else {
        const multi = dec.decodeSymbol(this.mMulti, 0);
        if (multi === 1) {
          this.addTime(last, ic.decompress(dec, gDiff[last], 1));
          gCounter[last] = 0;
        } else if (multi < GPS_MULTI_UNCHANGED) {
          let diff: number;
          if (multi === 0) {
            diff = ic.decompress(dec, 0, 7);
            if (++gCounter[last] > 3) {
              gDiff[last] = diff;
              gCounter[last] = 0;
            }
          } else if (multi < GPS_MULTI) {
            diff = ic.decompress(dec, Math.imul(multi, gDiff[last]), multi < 10 ? 2 : 3);
          } else if (multi === GPS_MULTI) {
            diff = ic.decompress(dec, Math.imul(GPS_MULTI, gDiff[last]), 4);
            if (++gCounter[last] > 3) {
              gDiff[last] = diff;
              gCounter[last] = 0;
            }
          } else {
            const neg = GPS_MULTI - multi;
            if (neg > GPS_MULTI_MINUS) {
              diff = ic.decompress(dec, Math.imul(neg, gDiff[last]), 5);
            } else {
              diff = ic.decompress(dec, Math.imul(GPS_MULTI_MINUS, gDiff[last]), 6);
              if (++gCounter[last] > 3) {
                gDiff[last] = diff;
                gCounter[last] = 0;
              }
            }
          }
          this.addTime(last, diff);
        } else if (multi === GPS_MULTI_CODE_FULL) {
          this.newSequence(dec, last);
        } else if (multi > GPS_MULTI_CODE_FULL) {
          this.gLast = (last + multi - GPS_MULTI_CODE_FULL) & 3;
          continue;
        }
      }
      break;
    }
    const s = this.gLast;
    const lo = gLo[s];
    const hi = gHi[s];
    out[o] = lo;
    out[o + 1] = lo >> 8;
    out[o + 2] = lo >> 16;
    out[o + 3] = lo >> 24;
    out[o + 4] = hi;
    out[o + 5] = hi >> 8;
    out[o + 6] = hi >> 16;
    out[o + 7] = hi >> 24;
  }

  /** 64-bit time of sequence s plus a signed 32-bit difference. */
  private addTime(s: number, diff: number): void {
    const sum = (this.gLo[s] >>> 0) + diff;
    this.gLo[s] = sum | 0;
    this.gHi[s] = (this.gHi[s] + Math.floor(sum / TWO32)) | 0;
  }

  /** New sequence: high half predicted from the current one, low half raw. */
  private newSequence(dec: ArithmeticDecoder, last: number): void {
    const next = (this.gNext + 1) & 3;
    this.gNext = next;
    this.gHi[next] = this.icGps.decompress(dec, this.gHi[last], 8);
    this.gLo[next] = dec.readInt() | 0;
    this.gLast = next;
    this.gDiff[next] = 0;
    this.gCounter[next] = 0;
  }

  private rgb(out: Uint8Array, o: number): void {
    const dec = this.dec;
    const t = this.mRgb;
    const mo = this.rgbOffs;
    const last = this.lastRgb;
    const lr = last[0];
    const lg = last[1];
    const lb = last[2];
    const sym = dec.decodeSymbol(t, 0);
    let r: number;
    let g: number;
    let b: number;
    if (sym & 1) r = (dec.decodeSymbol(t, mo[1]) + (lr & 0xff)) & 0xff;
    else r = lr & 0xff;
    if (sym & 2) r |= ((dec.decodeSymbol(t, mo[2]) + (lr >>> 8)) & 0xff) << 8;
    else r |= lr & 0xff00;
    if (sym & 64) {
      let diff = (r & 0xff) - (lr & 0xff);
      if (sym & 4) g = (dec.decodeSymbol(t, mo[3]) + clampU8(diff + (lg & 0xff))) & 0xff;
      else g = lg & 0xff;
      if (sym & 16) {
        const corr = dec.decodeSymbol(t, mo[5]);
        diff = ((diff + (g & 0xff) - (lg & 0xff)) / 2) | 0;
        b = (corr + clampU8(diff + (lb & 0xff))) & 0xff;
      } else b = lb & 0xff;
      diff = (r >>> 8) - (lr >>> 8);
      if (sym & 8) g |= ((dec.decodeSymbol(t, mo[4]) + clampU8(diff + (lg >>> 8))) & 0xff) << 8;
      else g |= lg & 0xff00;
      if (sym & 32) {
        const corr = dec.decodeSymbol(t, mo[6]);
        diff = ((diff + (g >>> 8) - (lg >>> 8)) / 2) | 0;
        b |= ((corr + clampU8(diff + (lb >>> 8))) & 0xff) << 8;
      } else b |= lb & 0xff00;
    } else {
      g = r;
      b = r;
    }
    last[0] = r;
    last[1] = g;
    last[2] = b;
    out[o] = r;
    out[o + 1] = r >>> 8;
    out[o + 2] = g;
    out[o + 3] = g >>> 8;
    out[o + 4] = b;
    out[o + 5] = b >>> 8;
  }

  private bytes(out: Uint8Array, o: number): void {
    const dec = this.dec;
    const last = this.lastBytes;
    const t = this.mBytes;
    const slots = this.byteSlots;
    for (let i = 0, n = this.extraCount; i < n; i++) {
      const v = (last[i] + dec.decodeSymbol(t, i * slots)) & 0xff;
      last[i] = v;
      out[o + i] = v;
    }
  }
}

/**
 * Streaming median of 5 as LASzip keeps it: a sorted window that alternately drops its smallest or
 * largest element. Window i is v[5i .. 5i+4]; the median is v[5i + 2].
 */
function addMedian(v: Int32Array, high: Uint8Array, i: number, x: number): void {
  const o = i * 5;
  if (high[i]) {
    if (x < v[o + 2]) {
      v[o + 4] = v[o + 3];
      v[o + 3] = v[o + 2];
      if (x < v[o]) {
        v[o + 2] = v[o + 1];
        v[o + 1] = v[o];
        v[o] = x;
      } else if (x < v[o + 1]) {
        v[o + 2] = v[o + 1];
        v[o + 1] = x;
      } else {
        v[o + 2] = x;
      }
    } else {
      if (x < v[o + 3]) {
        v[o + 4] = v[o + 3];
        v[o + 3] = x;
      } else {
        v[o + 4] = x;
      }
      high[i] = 0;
    }
  } else {
    if (v[o + 2] < x) {
      v[o] = v[o + 1];
      v[o + 1] = v[o + 2];
      if (v[o + 4] < x) {
        v[o + 2] = v[o + 3];
        v[o + 3] = v[o + 4];
        v[o + 4] = x;
      } else if (v[o + 3] < x) {
        v[o + 2] = v[o + 3];
        v[o + 3] = x;
      } else {
        v[o + 2] = x;
      }
    } else {
      if (v[o + 1] < x) {
        v[o] = v[o + 1];
        v[o + 1] = x;
      } else {
        v[o] = x;
      }
      high[i] = 1;
    }
  }
}

/**
 * Decodes one LASzip point-wise chunk (compressor 2, item version 2) of point format 0-3 into
 * `pointCount` raw LAS records of `recordLength` bytes (extra bytes beyond the format's core record
 * are the BYTE item). Writes into `out` when it is large enough, else into a new array.
 */
export function decodePointwiseChunk(
  chunkBytes: Uint8Array,
  pointFormat: number,
  recordLength: number,
  pointCount: number,
  out?: Uint8Array,
): Uint8Array {
  return new PointwiseChunkDecoder(pointFormat, recordLength).decode(chunkBytes, pointCount, out);
}
