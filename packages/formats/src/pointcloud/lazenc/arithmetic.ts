/**
 * LASzip-compatible entropy coder (encoder side only): the 32-bit range coder of Amir Said's
 * "FastAC" as used by LASzip, its adaptive bit and symbol models, and LASzip's integer compressor
 * (k-bit interval classes + corrector models). The byte stream must match, bit for bit, what the
 * LASzip / laz-perf / laz-rs decoders expect, so every constant and every update rule below mirrors
 * the behaviour of that decoder. All state is plain numbers and typed arrays: no allocation per symbol.
 */

/** Renormalise when the range drops below 2^24 (one output byte per shift). */
const AC_MIN_LENGTH = 0x01000000;
const AC_MAX_LENGTH = 0xffffffff;

/** Symbol models: probabilities scaled to 2^15. */
const DM_LENGTH_SHIFT = 15;
const DM_MAX_COUNT = 1 << DM_LENGTH_SHIFT;
/** Bit models: probabilities scaled to 2^13. */
const BM_LENGTH_SHIFT = 13;
const BM_MAX_COUNT = 1 << BM_LENGTH_SHIFT;

/** Adaptive binary model. */
export class BitModel {
  bit0Count = 1;
  bitCount = 2;
  bit0Prob = 1 << (BM_LENGTH_SHIFT - 1);
  bitsUntilUpdate = 4;
  updateCycle = 4;

  update(): void {
    // halve the counts once the total passes the threshold, so the model keeps adapting
    this.bitCount += this.updateCycle;
    if (this.bitCount > BM_MAX_COUNT) {
      this.bitCount = (this.bitCount + 1) >>> 1;
      this.bit0Count = (this.bit0Count + 1) >>> 1;
      if (this.bit0Count === this.bitCount) this.bitCount++;
    }
    const scale = Math.floor(0x80000000 / this.bitCount);
    this.bit0Prob = (this.bit0Count * scale) >>> (31 - BM_LENGTH_SHIFT);
    // updates become rarer as the model settles (at most every 64 bits)
    this.updateCycle = (5 * this.updateCycle) >>> 2;
    if (this.updateCycle > 64) this.updateCycle = 64;
    this.bitsUntilUpdate = this.updateCycle;
  }
}

/**
 * Symbol models live in flat Int32Array tables so that coding a symbol is one short chain of loads
 * (table -> slot) rather than object -> array -> array. A model at offset `o` of table `t`:
 *   t[o] symbols until the next update, t[o + 1] total count, t[o + 2] update cycle,
 *   t[o + 3] last symbol, then per symbol s: t[o + 4 + 2s] cumulative probability (scaled to 2^15)
 *   and t[o + 5 + 2s] count (interleaved, so dist[s], dist[s + 1] and count[s] share a cache line).
 * Values stay below 2^31, so loads are plain int32.
 */
const SM_UNTIL = 0;
const SM_TOTAL = 1;
const SM_CYCLE = 2;
const SM_LAST = 3;
const SM_HEADER = 4;

/** Int32 slots a model of `symbols` symbols takes in a flat table. */
export function symbolModelSlots(symbols: number): number {
  return SM_HEADER + 2 * symbols;
}

/** Initialises a fresh model of `symbols` symbols at `o` (as LASzip's ArithmeticModel::init). */
export function initSymbolModel(t: Int32Array, o: number, symbols: number): void {
  if (symbols < 2 || symbols > 2048) throw new RangeError(`invalid number of symbols ${symbols}`);
  t[o + SM_LAST] = symbols - 1;
  t[o + SM_TOTAL] = 0;
  for (let k = o + SM_HEADER; k < o + SM_HEADER + 2 * symbols; k += 2) {
    t[k] = 0;
    t[k + 1] = 1;
  }
  t[o + SM_CYCLE] = symbols;
  updateSymbolModel(t, o);
  const cycle = (symbols + 6) >>> 1;
  t[o + SM_CYCLE] = cycle;
  t[o + SM_UNTIL] = cycle;
}

function updateSymbolModel(t: Int32Array, o: number): void {
  const n = t[o + SM_LAST] + 1;
  const start = o + SM_HEADER;
  const end = start + 2 * n;
  let cycle = t[o + SM_CYCLE];
  let total = t[o + SM_TOTAL] + cycle;
  // halve the counts once the total passes the threshold, so the model keeps adapting
  if (total > DM_MAX_COUNT) {
    total = 0;
    for (let k = start + 1; k < end; k += 2) {
      const c = (t[k] + 1) >>> 1;
      t[k] = c;
      total += c;
    }
  }
  t[o + SM_TOTAL] = total;
  const scale = Math.floor(0x80000000 / total);
  let sum = 0;
  for (let k = start; k < end; k += 2) {
    t[k] = (scale * sum) >>> (31 - DM_LENGTH_SHIFT);
    sum += t[k + 1];
  }
  cycle = (5 * cycle) >>> 2;
  const maxCycle = (n + 6) << 3;
  if (cycle > maxCycle) cycle = maxCycle;
  t[o + SM_CYCLE] = cycle;
  t[o + SM_UNTIL] = cycle;
}

/** Adaptive multi-symbol model (2..2048 symbols): a flat table of its own, offset 0. */
export class SymbolModel {
  readonly symbols: number;
  readonly t: Int32Array;

  constructor(symbols: number) {
    if (symbols < 2 || symbols > 2048) throw new RangeError(`invalid number of symbols ${symbols}`);
    this.symbols = symbols;
    this.t = new Int32Array(symbolModelSlots(symbols));
    initSymbolModel(this.t, 0, symbols);
  }
}

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
 * LASzip's integer compressor: codes `real - pred` as an interval class k (the number of significant
 * bits, modelled per context) followed by the position inside that interval (modelled for small k,
 * partly raw for large k). `k` of the last call is exposed because callers derive contexts from it.
 *
 * All symbol models of one compressor (k models per context, then one corrector model per k) sit in
 * one flat table, all initialised up front: a fresh model is the same whenever it is made, so this
 * codes exactly as LASzip's create-on-init, and a model is found by offset arithmetic alone.
 */
export class IntegerCompressor {
  /** k of the last compressed corrector. */
  k = 0;
  private readonly corrBits: number;
  /** Whether correctors must be folded into [corrMin, corrMax] (not for 32-bit correctors). */
  private readonly fold: boolean;
  private readonly corrRange: number;
  private readonly corrMin: number;
  private readonly corrMax: number;
  private readonly bitsHigh: number;
  /** Slots of one k model (the k models of context c start at c * bitsSlots). */
  private readonly bitsSlots: number;
  /** Offset of the corrector model of k at corrOff[k] (k = 1..corrBits). */
  private readonly corrOff: Int32Array;
  private readonly tab: Int32Array;
  private readonly mCorrector0 = new BitModel();

  constructor(bits = 16, contexts = 1, bitsHigh = 8, range = 0) {
    let corrBits: number;
    let corrRange: number;
    let corrMin: number;
    if (range !== 0) {
      corrBits = 0;
      corrRange = range;
      let r = range;
      while (r !== 0) {
        r = r >>> 1;
        corrBits++;
      }
      if (corrRange === 2 ** (corrBits - 1)) corrBits--;
      corrMin = -Math.floor(corrRange / 2);
    } else if (bits >= 1 && bits < 32) {
      corrBits = bits;
      corrRange = 2 ** bits;
      corrMin = -Math.floor(corrRange / 2);
    } else {
      corrBits = 32;
      corrRange = 0;
      corrMin = -2147483648;
    }
    this.corrBits = corrBits;
    this.fold = corrBits < 32;
    // for 32-bit correctors these are unused; keep them small integers so the fields stay int-typed
    this.corrRange = corrBits < 32 ? corrRange : 0;
    this.corrMin = corrBits < 32 ? corrMin : 0;
    this.corrMax = corrBits < 32 ? corrMin + corrRange - 1 : 0;
    this.bitsHigh = bitsHigh;
    const bitsSlots = symbolModelSlots(corrBits + 1);
    this.bitsSlots = bitsSlots;
    const corrOff = new Int32Array(corrBits + 1);
    let slots = contexts * bitsSlots;
    // k = 32 has no corrector model (the value is fully determined)
    const maxK = corrBits < 32 ? corrBits : 31;
    for (let k = 1; k <= maxK; k++) {
      corrOff[k] = slots;
      slots += symbolModelSlots(k <= bitsHigh ? 1 << k : 1 << bitsHigh);
    }
    this.corrOff = corrOff;
    const tab = new Int32Array(slots);
    for (let c = 0; c < contexts; c++) initSymbolModel(tab, c * bitsSlots, corrBits + 1);
    for (let k = 1; k <= maxK; k++) initSymbolModel(tab, corrOff[k], k <= bitsHigh ? 1 << k : 1 << bitsHigh);
    this.tab = tab;
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
      enc.encodeBit(this.mCorrector0, c);
    }
  }

  /** Number of correction bits (exposed for tests). */
  get correctorBits(): number {
    return this.corrBits;
  }
}
