/**
 * LASzip-compatible range encoder (the decoding side is `../lazdec/arithmetic.ts`; the models both
 * adapt are in `../laz/coder/models.ts`). The byte stream must match, bit for bit, what the LASzip /
 * laz-perf / laz-rs decoders expect. All state is plain numbers and typed arrays: no allocation per
 * symbol.
 */
import {
  AC_MAX_LENGTH as MODEL_AC_MAX_LENGTH,
  AC_MIN_LENGTH as MODEL_AC_MIN_LENGTH,
  BM_LENGTH_SHIFT as MODEL_BM_LENGTH_SHIFT,
  type BitModel,
  DM_LENGTH_SHIFT as MODEL_DM_LENGTH_SHIFT,
  IntegerCoderModels,
  SM_HEADER as MODEL_SM_HEADER,
  SM_LAST as MODEL_SM_LAST,
  SM_UNTIL as MODEL_SM_UNTIL,
  type SymbolModel,
  updateSymbolModel,
} from "../laz/coder/models.js";

// Module-local copies for the per-symbol code: V8 folds a module's own constants into optimised code,
// not imported bindings (measured: the encoder a few per cent slower reading the imports directly).
const AC_MAX_LENGTH = MODEL_AC_MAX_LENGTH;
const AC_MIN_LENGTH = MODEL_AC_MIN_LENGTH;
const BM_LENGTH_SHIFT = MODEL_BM_LENGTH_SHIFT;
const DM_LENGTH_SHIFT = MODEL_DM_LENGTH_SHIFT;
const SM_HEADER = MODEL_SM_HEADER;
const SM_LAST = MODEL_SM_LAST;
const SM_UNTIL = MODEL_SM_UNTIL;

/**
 * Range encoder writing into a growable in-memory buffer. Carries propagate backwards into bytes
 * already produced, so the whole output of one encoder (one chunk, or one layer) stays in memory
 * until `done()`: that is what bounds memory to one chunk.
 *
 * base and length are unsigned 32-bit quantities kept as int32 bit patterns in plain fields (all
 * arithmetic wraps with `| 0`, comparisons use `>>> 0`). Measured faster than an Int32Array slot
 * pair: no bounds checks and no typed-array indirection per symbol. Products are < 2^32, so
 * `Math.imul` gives them exactly.
 */
export class ArithmeticEncoder {
  private buf: Uint8Array;
  /** Big-endian view of `buf` for the branch-free byte output. */
  private view: DataView;
  /** Grow once pos passes this (keeps 8 writable bytes past pos at all times). */
  private limit: number;
  private pos = 0;
  private base = 0;
  private length = AC_MAX_LENGTH | 0;

  constructor(initialCapacity = 1 << 16) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
    this.limit = this.buf.length - 8;
  }

  /** Starts a fresh stream (keeps the buffer allocation). */
  reset(): void {
    this.pos = 0;
    this.base = 0;
    this.length = AC_MAX_LENGTH | 0;
  }

  /** Bytes written so far (before `done`, not yet final). */
  get byteLength(): number {
    return this.pos;
  }

  /**
   * Flushes the final interval (LASzip writes 1 or 2 bytes of base plus 2-3 zero bytes that its
   * decoder reads ahead). Returns a view of the internal buffer, valid until the next `reset`.
   */
  done(): Uint8Array {
    const initBase = this.base;
    let anotherByte = true;
    if (this.length >>> 0 > 2 * AC_MIN_LENGTH) {
      this.base = (initBase + AC_MIN_LENGTH) | 0;
      this.length = AC_MIN_LENGTH >>> 1;
    } else {
      this.base = (initBase + (AC_MIN_LENGTH >>> 1)) | 0;
      this.length = AC_MIN_LENGTH >>> 9;
      anotherByte = false;
    }
    if (initBase >>> 0 > this.base >>> 0) this.propagateCarry();
    this.renormalise();
    this.buf[this.pos++] = 0;
    this.buf[this.pos++] = 0;
    if (anotherByte) this.buf[this.pos++] = 0;
    return this.buf.subarray(0, this.pos);
  }

  encodeBit(model: BitModel, bit: number): void {
    const len = this.length;
    // products are < 2^32, so Math.imul's low 32 bits are the exact value (as int32 bit pattern)
    const x = Math.imul(model.bit0Prob, len >>> BM_LENGTH_SHIFT);
    let newLen: number;
    if (bit === 0) {
      newLen = x;
      this.length = x;
      model.bit0Count++;
    } else {
      const initBase = this.base;
      const base = (initBase + x) | 0;
      newLen = (len - x) | 0;
      this.base = base;
      this.length = newLen;
      if (initBase >>> 0 > base >>> 0) this.propagateCarry();
    }
    if (newLen >>> 0 < AC_MIN_LENGTH) this.renormalise();
    if (--model.bitsUntilUpdate === 0) model.update();
  }

  encodeSymbol(model: SymbolModel, sym: number): void {
    this.encodeSymbolAt(model.t, 0, sym);
  }

  /** Codes `sym` with the model at offset `o` of flat table `t` (see `initSymbolModel`). */
  encodeSymbolAt(t: Int32Array, o: number, sym: number): void {
    const initBase = this.base;
    const len = this.length;
    const i = o + SM_HEADER + (sym << 1);
    const l = len >>> DM_LENGTH_SHIFT;
    const x = Math.imul(t[i], l);
    const base = (initBase + x) | 0;
    const newLen = sym === t[o + SM_LAST] ? (len - x) | 0 : (Math.imul(t[i + 2], l) - x) | 0;
    if (initBase >>> 0 > base >>> 0) this.propagateCarry();
    // Branch-free renormalisation: the bytes due are the top n bytes of base, n = number of leading
    // zero bytes of length (0 to 2 here: a symbol's length is at least 2^9). All four bytes of base
    // are stored big-endian in one go and pos advances by n; bytes past pos are overwritten later
    // and never returned. The coin-flip "renormalise?" branch was a frequent misprediction.
    const n = Math.clz32(newLen) >>> 3;
    const pos = this.pos;
    this.view.setInt32(pos, base);
    const sh = n << 3;
    this.base = base << sh;
    this.length = newLen << sh;
    this.pos = pos + n;
    if (pos + n > this.limit) this.grow();
    t[i + 1]++;
    if (--t[o + SM_UNTIL] === 0) updateSymbolModel(t, o);
  }

  /** Raw bits without a model (`bits` ≤ 32, `sym` < 2^bits, unsigned). */
  writeBits(bits: number, sym: number): void {
    if (bits > 19) {
      this.writeShort(sym & 0xffff);
      sym = sym >>> 16;
      bits -= 16;
    }
    const initBase = this.base;
    const len = this.length >>> bits;
    const base = (initBase + Math.imul(sym, len)) | 0;
    this.base = base;
    this.length = len;
    if (initBase >>> 0 > base >>> 0) this.propagateCarry();
    if (len < AC_MIN_LENGTH) this.renormalise();
  }

  writeShort(sym: number): void {
    const initBase = this.base;
    const len = this.length >>> 16;
    const base = (initBase + Math.imul(sym, len)) | 0;
    this.base = base;
    this.length = len;
    if (initBase >>> 0 > base >>> 0) this.propagateCarry();
    if (len < AC_MIN_LENGTH) this.renormalise();
  }

  /** 32 raw bits, low half first. */
  writeInt(sym: number): void {
    this.writeShort(sym & 0xffff);
    this.writeShort(sym >>> 16);
  }

  private propagateCarry(): void {
    const buf = this.buf;
    let p = this.pos - 1;
    while (p >= 0 && buf[p] === 0xff) {
      buf[p] = 0;
      p--;
    }
    // p < 0 cannot happen: the interval never exceeds 2^32 above the first byte written
    if (p >= 0) buf[p]++;
  }

  private renormalise(): void {
    let base = this.base;
    let len = this.length;
    const buf = this.buf;
    let pos = this.pos;
    // at most 4 bytes: length is never 0
    do {
      buf[pos++] = base >>> 24;
      base = base << 8;
      len = len << 8;
    } while (len >>> 0 < AC_MIN_LENGTH);
    this.pos = pos;
    this.base = base;
    this.length = len;
    if (pos > this.limit) this.grow();
  }

  /** Doubles the buffer (called once pos > limit, so 8 bytes past pos stay writable). */
  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.limit = next.length - 8;
  }
}

/**
 * LASzip's integer compressor (see `IntegerCoderModels`); `k` of the last call is exposed because callers
 * derive contexts from it.
 */
export class IntegerCompressor extends IntegerCoderModels {
  /** Correctors fold into [corrMin, corrMin + corrRange) (unused for 32-bit correctors). */
  private readonly corrMin: number;
  private readonly corrMax: number;

  constructor(bits = 16, contexts = 1, bitsHigh = 8) {
    super(bits, contexts, bitsHigh, false);
    this.initCorrectors();
    this.corrMin = this.fold ? -(this.corrRange / 2) : 0;
    this.corrMax = this.fold ? this.corrRange / 2 - 1 : 0;
  }

  compress(enc: ArithmeticEncoder, pred: number, real: number, context: number): void {
    // corrector folded into [corrMin, corrMax] (wrapping 32-bit arithmetic as in the reference)
    let c = (real - pred) | 0;
    if (this.fold) {
      if (c < this.corrMin) c += this.corrRange;
      else if (c > this.corrMax) c -= this.corrRange;
    }

    // k: the tightest interval [-(2^k - 1), 2^k] that contains c
    // -(-2^31) | 0 is -2^31, whose clz32 (as uint32 2^31) is 0: k = 32, as the reference does
    const k = 32 - Math.clz32(c <= 0 ? -c | 0 : c - 1);
    this.k = k;
    const tab = this.tab;
    enc.encodeSymbolAt(tab, context * this.bitsSlots, k);

    if (k !== 0) {
      if (k < 32) {
        // map c onto [0, 2^k - 1]
        // exact modulo 2^32 and the result lies in [0, 2^31): int32 arithmetic suffices even for k = 31
        c = c >= 0 ? c - 1 : (c + (1 << k) - 1) | 0;
        const bh = this.bitsHigh;
        const mo = this.corrOff[k];
        if (k <= bh) {
          enc.encodeSymbolAt(tab, mo, c);
        } else {
          // the high bitsHigh bits are modelled, the remaining k1 low bits are written raw
          const k1 = k - bh;
          const low = c & ((1 << k1) - 1);
          enc.encodeSymbolAt(tab, mo, c >>> k1);
          enc.writeBits(k1, low);
        }
      }
    } else {
      enc.encodeBit(this.corrector0, c);
    }
  }
}
