/**
 * LASzip's entropy-coder models, shared by our encoder (`lazenc/`) and decoder (`lazdec/`): both sides
 * must adapt their probabilities identically, so the constants, the update rules and the integer-coder
 * model layout exist once. Written from the LASzip format description (Amir Said's FastAC 32-bit range
 * coder, adaptive bit and symbol models, k-bit interval classes for integers).
 */

/** Renormalise when the range drops below 2^24 (one byte per shift). */
export const AC_MIN_LENGTH = 0x01000000;
export const AC_MAX_LENGTH = 0xffffffff;
/** Symbol models: probabilities scaled to 2^15. */
export const DM_LENGTH_SHIFT = 15;
const DM_MAX_COUNT = 1 << DM_LENGTH_SHIFT;
/** Bit models: probabilities scaled to 2^13. */
export const BM_LENGTH_SHIFT = 13;
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
 * Symbol models live in flat Int32Array tables, so coding a symbol is one short chain of loads. A model
 * at offset `o` of table `t`:
 *   t[o] symbols until the next update, t[o + 1] total count, t[o + 2] update cycle, t[o + 3] last
 *   symbol, t[o + 4] decoder-table shift (-1: no table), then per symbol s: t[o + 5 + 2s] cumulative
 *   probability (scaled to 2^15) and t[o + 6 + 2s] count (interleaved: dist[s], dist[s + 1] and
 *   count[s] share a cache line), then, for decoding only, the decoder table (tableSize + 2 entries:
 *   entry j is the last symbol whose cumulative probability is below j << shift).
 * Values stay below 2^31, so loads are plain int32.
 */
export const SM_UNTIL = 0;
const SM_TOTAL = 1;
const SM_CYCLE = 2;
export const SM_LAST = 3;
export const SM_SHIFT = 4;
export const SM_HEADER = 5;

/**
 * Decoder tables 16x finer than LASzip's: a bucket then rarely holds more than one symbol boundary, so
 * the search after the lookup is mostly empty (~10% faster decoding). The table only narrows the search:
 * the decoded symbol is the same.
 */
const TABLE_EXTRA_BITS = 4;

function tableBits(symbols: number): number {
  let bits = 3;
  while (symbols > 1 << (bits + 2)) bits++;
  return Math.min(DM_LENGTH_SHIFT, bits + TABLE_EXTRA_BITS);
}

/** Int32 slots a model of `symbols` symbols takes (`decoding`: with the decoder's lookup table). */
export function symbolModelSlots(symbols: number, decoding: boolean): number {
  return SM_HEADER + 2 * symbols + (decoding ? (1 << tableBits(symbols)) + 2 : 0);
}

/** Initialises a fresh model of `symbols` symbols at `o` (as LASzip's ArithmeticModel::init). */
export function initSymbolModel(t: Int32Array, o: number, symbols: number, decoding: boolean): void {
  if (symbols < 2 || symbols > 2048) throw new RangeError(`invalid number of symbols ${symbols}`);
  t[o + SM_LAST] = symbols - 1;
  t[o + SM_SHIFT] = decoding ? DM_LENGTH_SHIFT - tableBits(symbols) : -1;
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

/** Recomputes the distribution from the counts (and the decoder table); schedules the next update. */
export function updateSymbolModel(t: Int32Array, o: number): void {
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
  const shift = t[o + SM_SHIFT];
  if (shift >= 0) fillDecoderTable(t, o, n, shift);
  cycle = (5 * cycle) >>> 2;
  const maxCycle = (n + 6) << 3;
  if (cycle > maxCycle) cycle = maxCycle;
  t[o + SM_CYCLE] = cycle;
  t[o + SM_UNTIL] = cycle;
}

function fillDecoderTable(t: Int32Array, o: number, n: number, shift: number): void {
  const dist = o + SM_HEADER;
  const table = dist + 2 * n;
  const tableSize = 1 << (DM_LENGTH_SHIFT - shift);
  let s = 0;
  for (let k = 0; k < n; k++) {
    const w = t[dist + 2 * k] >>> shift;
    while (s < w) t[table + ++s] = k - 1;
  }
  t[table] = 0;
  while (s <= tableSize) t[table + ++s] = n - 1;
}

/** An adaptive multi-symbol model (2..2048 symbols) in a flat table of its own, at offset 0. */
export class SymbolModel {
  readonly t: Int32Array;

  constructor(symbols: number, decoding: boolean) {
    this.t = new Int32Array(symbolModelSlots(symbols, decoding));
    initSymbolModel(this.t, 0, symbols, decoding);
  }
}

/** `count` models of `symbols` symbols. */
export function symbolModels(count: number, symbols: number, decoding: boolean): SymbolModel[] {
  const out: SymbolModel[] = [];
  for (let i = 0; i < count; i++) out.push(new SymbolModel(symbols, decoding));
  return out;
}

/**
 * The models of LASzip's integer compressor, which codes `real - pred` as an interval class k (the
 * number of significant bits, modelled per context) and the position inside that interval (modelled
 * for small k, the low bits raw beyond `bitsHigh`). All symbol models of one coder sit in one flat
 * table: the k models per context, then one corrector model per k. A fresh model is the same whenever
 * it is made, so corrector models may be initialised on first use.
 */
export class IntegerCoderModels {
  /** k of the last coded corrector (callers derive contexts from it). */
  k = 0;
  protected readonly corrBits: number;
  /** Whether correctors fold into [0, 2^corrBits) (not for 32-bit correctors). */
  protected readonly fold: boolean;
  protected readonly corrRange: number;
  protected readonly bitsHigh: number;
  /** Slots of one k model (the k model of context c starts at c * bitsSlots). */
  protected readonly bitsSlots: number;
  /** Offset of the corrector model of k (k = 1..corrBits; k = 32 needs none). */
  protected readonly corrOff: Int32Array;
  /** Corrector models initialised yet. */
  private readonly corrReady: Uint8Array;
  protected readonly tab: Int32Array;
  protected readonly corrector0 = new BitModel();

  constructor(
    bits: number,
    contexts: number,
    bitsHigh: number,
    private readonly decoding: boolean,
  ) {
    const corrBits = bits >= 1 && bits < 32 ? bits : 32;
    this.corrBits = corrBits;
    this.fold = corrBits < 32;
    // for 32-bit correctors unused; a small integer keeps the field int-typed
    this.corrRange = corrBits < 32 ? 2 ** corrBits : 0;
    this.bitsHigh = bitsHigh;
    const bitsSlots = symbolModelSlots(corrBits + 1, decoding);
    this.bitsSlots = bitsSlots;
    const corrOff = new Int32Array(33);
    let slots = contexts * bitsSlots;
    const maxK = corrBits < 32 ? corrBits : 31;
    for (let k = 1; k <= maxK; k++) {
      corrOff[k] = slots;
      slots += symbolModelSlots(this.correctorSymbols(k), decoding);
    }
    this.corrOff = corrOff;
    this.corrReady = new Uint8Array(33);
    const tab = new Int32Array(slots);
    for (let c = 0; c < contexts; c++) initSymbolModel(tab, c * bitsSlots, corrBits + 1, decoding);
    this.tab = tab;
  }

  private correctorSymbols(k: number): number {
    return k <= this.bitsHigh ? 1 << k : 1 << this.bitsHigh;
  }

  /** Initialises every corrector model now (the encoder: no first-use check per value). */
  protected initCorrectors(): void {
    const maxK = this.corrBits < 32 ? this.corrBits : 31;
    for (let k = 1; k <= maxK; k++) this.corrector(k);
  }

  /** Offset of the corrector model of k (1..31), initialised on first use. */
  protected corrector(k: number): number {
    if (this.corrReady[k] === 0) {
      initSymbolModel(this.tab, this.corrOff[k], this.correctorSymbols(k), this.decoding);
      this.corrReady[k] = 1;
    }
    return this.corrOff[k];
  }

  /** Number of correction bits (exposed for tests). */
  get correctorBits(): number {
    return this.corrBits;
  }
}
