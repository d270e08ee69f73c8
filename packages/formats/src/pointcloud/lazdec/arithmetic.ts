/**
 * LASzip's range decoder and integer decompressor, the mirror of `../lazenc/arithmetic.ts` over the
 * models of `../laz/coder/models.ts`.
 *
 * `value < length` always holds (for any input bytes) and every product is < 2^32, so 32-bit
 * wrapping arithmetic is exact.
 * Bytes past the end of the input read as 0; `overrun` tells how far the decoder read past it.
 */
import {
  AC_MIN_LENGTH as MODEL_AC_MIN_LENGTH,
  BM_LENGTH_SHIFT as MODEL_BM_LENGTH_SHIFT,
  type BitModel,
  DM_LENGTH_SHIFT as MODEL_DM_LENGTH_SHIFT,
  IntegerCoderModels,
  SM_HEADER as MODEL_SM_HEADER,
  SM_LAST as MODEL_SM_LAST,
  SM_SHIFT as MODEL_SM_SHIFT,
  SM_UNTIL as MODEL_SM_UNTIL,
  updateSymbolModel,
} from "../laz/coder/models.js";

// Module-local copies for the per-symbol code: V8 folds a module's own constants into optimised code,
// not imported bindings (as measured for the encoder, `../lazenc/arithmetic.ts`).
const AC_MIN_LENGTH = MODEL_AC_MIN_LENGTH;
const BM_LENGTH_SHIFT = MODEL_BM_LENGTH_SHIFT;
const DM_LENGTH_SHIFT = MODEL_DM_LENGTH_SHIFT;
const SM_HEADER = MODEL_SM_HEADER;
const SM_LAST = MODEL_SM_LAST;
const SM_SHIFT = MODEL_SM_SHIFT;
const SM_UNTIL = MODEL_SM_UNTIL;

/** 2^k as exact doubles (k = 0..32): correctors reach 2^31, beyond int32 shifts. */
const POW2 = Float64Array.from({ length: 33 }, (_, k) => 2 ** k);

export class ArithmeticDecoder {
  buf: Uint8Array = new Uint8Array(0);
  /** Next byte to read; may pass `end` (those bytes read as 0). */
  pos = 0;
  end = 0;
  /**
   * value and length: uint32 quantities kept as int32 bit patterns in plain fields (small integers:
   * no boxing, no typed-array bounds checks). Arithmetic wraps with `| 0` and `Math.imul` (products
   * are < 2^32), reads take `>>> 0` where the unsigned value matters (divisions, comparisons).
   */
  private value = 0;
  private length = 0;

  /** Starts decoding `buf[start, end)` (reads the first 4 bytes, as LASzip's init). */
  start(buf: Uint8Array, start: number, end = buf.length): void {
    this.buf = buf;
    this.end = Math.min(end, buf.length);
    this.pos = start;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const p = this.pos++;
      v = (v << 8) | (p < this.end ? buf[p] : 0);
    }
    this.value = v;
    this.length = -1;
  }

  /** value < length < 2^24 on entry (unsigned): shifting by 8 keeps both below 2^32. */
  private renorm(value: number, length: number): void {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos;
    do {
      value = (value << 8) | (p < end ? buf[p] : 0);
      p++;
      length = length << 8;
    } while (length >>> 0 < AC_MIN_LENGTH);
    this.pos = p;
    this.value = value;
    this.length = length;
  }

  /** Decodes a symbol with the model at offset `o` of flat table `t` (a decoding model, with its lookup table). */
  decodeSymbol(t: Int32Array, o: number): number {
    const length = this.length >>> 0;
    const value = this.value >>> 0;
    const l = length >>> DM_LENGTH_SHIFT;
    let dv = (value / l) >>> 0;
    // value may reach past 2^15 * l inside the last symbol's range; the last symbol it is either way
    if (dv > 0x7fff) dv = 0x7fff;
    const last = t[o + SM_LAST];
    const d = o + SM_HEADER;
    const ti = d + 2 * last + 2 + (dv >>> t[o + SM_SHIFT]);
    let s = t[ti];
    let e = t[ti + 1] + 1;
    while (e > s + 1) {
      const k = (s + e) >>> 1;
      if (t[d + 2 * k] > dv) e = k;
      else s = k;
    }
    const i = d + 2 * s;
    const x = Math.imul(t[i], l);
    const y = s === last ? length : Math.imul(t[i + 2], l);
    const nl = (y - x) | 0;
    // renormalising out of line keeps this body small enough for V8 to inline it into more callers
    if (nl >>> 0 < AC_MIN_LENGTH) this.renorm(value - x, nl);
    else {
      this.value = (value - x) | 0;
      this.length = nl;
    }
    t[i + 1]++;
    if (--t[o + SM_UNTIL] === 0) updateSymbolModel(t, o);
    return s;
  }

  decodeBit(m: BitModel): number {
    const length = this.length >>> 0;
    const value = this.value >>> 0;
    const x = Math.imul(m.bit0Prob, length >>> BM_LENGTH_SHIFT) >>> 0;
    let sym: number;
    let nv = value;
    let nl: number;
    if (value < x) {
      sym = 0;
      nl = x;
      m.bit0Count++;
    } else {
      sym = 1;
      nv = value - x;
      nl = length - x;
    }
    if (nl < AC_MIN_LENGTH) this.renorm(nv, nl);
    else {
      this.value = nv | 0;
      this.length = nl | 0;
    }
    if (--m.bitsUntilUpdate === 0) m.update();
    return sym;
  }

  /** Raw bits (≤ 32), as an unsigned number. */
  readBits(bits: number): number {
    if (bits > 19) {
      const lo = this.readBits(16);
      const hi = this.readBits(bits - 16);
      return hi * 65536 + lo;
    }
    const value = this.value >>> 0;
    const l = (this.length >>> 0) >>> bits;
    const sym = (value / l) >>> 0;
    const nv = (value - Math.imul(l, sym)) | 0;
    if (l < AC_MIN_LENGTH) this.renorm(nv, l);
    else {
      this.value = nv;
      this.length = l | 0;
    }
    return sym;
  }

  /** 32 raw bits, low half first (as the encoder's `writeInt`), as an int32. */
  readInt(): number {
    const lo = this.readBits(16);
    const hi = this.readBits(16);
    return (hi * 65536 + lo) | 0;
  }

  /**
   * Whether the stream could end here, after the last symbol: an encoder's flush writes the code
   * base + 2^24 with its low 3 bytes cleared when the interval is longer than 2^25, else base + 2^23
   * with its low 2 bytes cleared, so the decoder's value (code - base) is in (0, 2^24] or
   * (2^23 - 2^16, 2^23] respectively.
   */
  get atFlush(): boolean {
    const value = this.value >>> 0;
    return this.length >>> 0 > 2 * AC_MIN_LENGTH ? value > 0 && value <= AC_MIN_LENGTH : value > AC_MIN_LENGTH / 2 - 0x10000 && value <= AC_MIN_LENGTH / 2;
  }

  /** Bytes read past the end of the input (0 when the stream ended inside it). */
  get overrun(): number {
    return Math.max(0, this.pos - this.end);
  }
}

/** LASzip's integer decompressor (see `IntegerCoderModels`). */
export class IntegerDecompressor extends IntegerCoderModels {
  /** Offset of the corrector model of k once initialised, else -1 (one load and test per value). */
  private readonly corrAt = new Int32Array(33).fill(-1);

  constructor(bits = 16, contexts = 1, bitsHigh = 8) {
    super(bits, contexts, bitsHigh, true);
  }

  /** pred + corrector, wrapped to int32 (32-bit) or folded into [0, 2^bits) (narrower). */
  decompress(dec: ArithmeticDecoder, pred: number, context: number): number {
    const tab = this.tab;
    const k = dec.decodeSymbol(tab, context * this.bitsSlots);
    this.k = k;
    let real: number;
    if (k === 0) {
      real = (pred + dec.decodeBit(this.corrector0)) | 0;
    } else if (k <= this.bitsHigh) {
      // the whole corrector modelled: c < 2^bitsHigh, int32 arithmetic throughout
      let mo = this.corrAt[k];
      if (mo < 0) mo = this.readyCorrector(k);
      const c = dec.decodeSymbol(tab, mo);
      // back from [0, 2^k - 1] to [-(2^k - 1), -2^(k-1)] U [2^(k-1), 2^k]
      real = (pred + (c >= 1 << (k - 1) ? c + 1 : c - ((1 << k) - 1))) | 0;
    } else if (k < 32) {
      let mo = this.corrAt[k];
      if (mo < 0) mo = this.readyCorrector(k);
      // the high bitsHigh bits modelled, the k1 low bits raw; c reaches 2^31 - 1: doubles
      const k1 = k - this.bitsHigh;
      const hi = dec.decodeSymbol(tab, mo);
      const c = hi * POW2[k1] + dec.readBits(k1);
      real = (pred + (c >= POW2[k - 1] ? c + 1 : c - (POW2[k] - 1))) | 0;
    } else {
      real = (pred - 2147483648) | 0;
    }
    if (this.fold) {
      if (real < 0) real += this.corrRange;
      else if (real >= this.corrRange) real -= this.corrRange;
    }
    return real;
  }

  private readyCorrector(k: number): number {
    const mo = this.corrector(k);
    this.corrAt[k] = mo;
    return mo;
  }
}
