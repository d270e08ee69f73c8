/**
 * The LASzip arithmetic decoder and integer decompressor, only as far as the LAZ chunk table needs them
 * (the table is entropy-coded; the laz-perf WASM does not expose its own table reader for streamed use).
 * Written from the LASzip format description: 32-bit interval arithmetic, adaptive symbol and bit models.
 */

const AC_MIN_LENGTH = 0x01000000;
const BM_LENGTH_SHIFT = 13;
const BM_MAX_COUNT = 1 << BM_LENGTH_SHIFT;
const DM_LENGTH_SHIFT = 15;
const DM_MAX_COUNT = 1 << DM_LENGTH_SHIFT;

/** Pulls bytes one at a time; past the end it yields zeros (the decoder reads a few bytes ahead). */
export interface ByteInput {
  byte(): number;
}

export class ArrayByteInput implements ByteInput {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  byte(): number {
    return this.pos < this.bytes.length ? this.bytes[this.pos++] : (this.pos++, 0);
  }
}

export class BitModel {
  bit0Count = 1;
  bitCount = 2;
  bit0Prob = 1 << (BM_LENGTH_SHIFT - 1);
  updateCycle = 4;
  bitsUntilUpdate = 4;
  update(): void {
    if ((this.bitCount += this.updateCycle) > BM_MAX_COUNT) {
      this.bitCount = (this.bitCount + 1) >>> 1;
      this.bit0Count = (this.bit0Count + 1) >>> 1;
      if (this.bit0Count === this.bitCount) ++this.bitCount;
    }
    const scale = Math.floor(0x80000000 / this.bitCount);
    this.bit0Prob = Math.floor((this.bit0Count * scale) / 2 ** (31 - BM_LENGTH_SHIFT));
    this.updateCycle = (5 * this.updateCycle) >>> 2;
    if (this.updateCycle > 64) this.updateCycle = 64;
    this.bitsUntilUpdate = this.updateCycle;
  }
}

export class SymbolModel {
  readonly distribution: Uint32Array;
  readonly symbolCount: Uint32Array;
  readonly decoderTable: Uint32Array | undefined;
  readonly lastSymbol: number;
  readonly tableSize: number;
  readonly tableShift: number;
  totalCount = 0;
  updateCycle: number;
  symbolsUntilUpdate: number;

  constructor(readonly symbols: number) {
    if (symbols < 2 || symbols > 2048) throw new RangeError(`invalid symbol count ${symbols}`);
    this.lastSymbol = symbols - 1;
    if (symbols > 16) {
      let bits = 3;
      while (symbols > 1 << (bits + 2)) ++bits;
      this.tableSize = 1 << bits;
      this.tableShift = DM_LENGTH_SHIFT - bits;
      this.decoderTable = new Uint32Array(this.tableSize + 2);
    } else {
      this.tableSize = 0;
      this.tableShift = 0;
    }
    this.distribution = new Uint32Array(symbols);
    this.symbolCount = new Uint32Array(symbols).fill(1);
    this.updateCycle = symbols;
    this.symbolsUntilUpdate = 0;
    this.update();
    this.symbolsUntilUpdate = this.updateCycle = (symbols + 6) >>> 1;
  }

  update(): void {
    if ((this.totalCount += this.updateCycle) > DM_MAX_COUNT) {
      this.totalCount = 0;
      for (let n = 0; n < this.symbols; n++) this.totalCount += this.symbolCount[n] = (this.symbolCount[n] + 1) >>> 1;
    }
    const scale = Math.floor(0x80000000 / this.totalCount);
    const div = 2 ** (31 - DM_LENGTH_SHIFT);
    let sum = 0;
    if (!this.decoderTable) {
      for (let k = 0; k < this.symbols; k++) {
        this.distribution[k] = Math.floor((scale * sum) / div);
        sum += this.symbolCount[k];
      }
    } else {
      const t = this.decoderTable;
      let s = 0;
      for (let k = 0; k < this.symbols; k++) {
        this.distribution[k] = Math.floor((scale * sum) / div);
        sum += this.symbolCount[k];
        const w = this.distribution[k] >>> this.tableShift;
        while (s < w) t[++s] = k - 1;
      }
      t[0] = 0;
      while (s <= this.tableSize) t[++s] = this.symbols - 1;
    }
    this.updateCycle = (5 * this.updateCycle) >>> 2;
    const maxCycle = (this.symbols + 6) << 3;
    if (this.updateCycle > maxCycle) this.updateCycle = maxCycle;
    this.symbolsUntilUpdate = this.updateCycle;
  }
}

export class ArithmeticDecoder {
  private value = 0;
  private length = 0xffffffff;

  constructor(private readonly input: ByteInput) {
    const i = input;
    this.value = ((i.byte() << 24) | (i.byte() << 16) | (i.byte() << 8) | i.byte()) >>> 0;
  }

  private renorm(): void {
    do {
      this.value = ((this.value << 8) | this.input.byte()) >>> 0;
      this.length = (this.length * 256) >>> 0;
    } while (this.length < AC_MIN_LENGTH);
  }

  decodeBit(m: BitModel): number {
    const x = m.bit0Prob * (this.length >>> BM_LENGTH_SHIFT);
    let sym: number;
    if (this.value < x) {
      sym = 0;
      this.length = x;
      ++m.bit0Count;
    } else {
      sym = 1;
      this.value -= x;
      this.length -= x;
    }
    if (this.length < AC_MIN_LENGTH) this.renorm();
    if (--m.bitsUntilUpdate === 0) m.update();
    return sym;
  }

  decodeSymbol(m: SymbolModel): number {
    let sym: number;
    let x: number;
    let y = this.length;
    if (m.decoderTable) {
      this.length >>>= DM_LENGTH_SHIFT;
      const dv = Math.floor(this.value / this.length);
      const t = dv >>> m.tableShift;
      sym = m.decoderTable[t];
      let n = m.decoderTable[t + 1] + 1;
      while (n > sym + 1) {
        const k = (sym + n) >>> 1;
        if (m.distribution[k] > dv) n = k;
        else sym = k;
      }
      x = m.distribution[sym] * this.length;
      if (sym !== m.lastSymbol) y = m.distribution[sym + 1] * this.length;
    } else {
      x = sym = 0;
      this.length >>>= DM_LENGTH_SHIFT;
      let n = m.symbols;
      let k = n >>> 1;
      do {
        const z = this.length * m.distribution[k];
        if (z > this.value) {
          n = k;
          y = z;
        } else {
          sym = k;
          x = z;
        }
      } while ((k = (sym + n) >>> 1) !== sym);
    }
    this.value -= x;
    this.length = y - x;
    if (this.length < AC_MIN_LENGTH) this.renorm();
    ++m.symbolCount[sym];
    if (--m.symbolsUntilUpdate === 0) m.update();
    return sym;
  }

  readBits(bits: number): number {
    if (bits > 19) {
      const lo = this.readShort();
      const hi = this.readBits(bits - 16);
      return (hi * 65536 + lo) >>> 0;
    }
    this.length >>>= bits;
    const sym = Math.floor(this.value / this.length);
    this.value -= this.length * sym;
    if (this.length < AC_MIN_LENGTH) this.renorm();
    return sym;
  }

  readShort(): number {
    this.length >>>= 16;
    const sym = Math.floor(this.value / this.length);
    this.value -= this.length * sym;
    if (this.length < AC_MIN_LENGTH) this.renorm();
    return sym;
  }
}

/** LASzip IntegerCompressor (decompression side) with bits = 32, bits_high = 8, range = 0. */
export class IntegerDecompressor {
  private readonly mBits: SymbolModel[];
  private readonly mCorrector0 = new BitModel();
  private readonly mCorrector: SymbolModel[] = [];
  private readonly corrBits = 32;
  private readonly bitsHigh = 8;

  constructor(
    private readonly dec: ArithmeticDecoder,
    contexts: number,
  ) {
    this.mBits = Array.from({ length: contexts }, () => new SymbolModel(this.corrBits + 1));
    for (let i = 1; i <= this.corrBits; i++) {
      this.mCorrector[i] = new SymbolModel(i <= this.bitsHigh ? 1 << i : 1 << this.bitsHigh);
    }
  }

  /** Returns pred + corrector as a signed 32-bit integer (wrapping like the C++ I32 arithmetic). */
  decompress(pred: number, context: number): number {
    return (pred + this.readCorrector(this.mBits[context])) | 0;
  }

  private readCorrector(m: SymbolModel): number {
    const k = this.dec.decodeSymbol(m);
    if (k === 0) return this.dec.decodeBit(this.mCorrector0);
    if (k >= 32) return -2147483648;
    let c: number;
    if (k <= this.bitsHigh) c = this.dec.decodeSymbol(this.mCorrector[k]);
    else {
      const k1 = k - this.bitsHigh;
      c = this.dec.decodeSymbol(this.mCorrector[k]);
      c = c * 2 ** k1 + this.dec.readBits(k1);
    }
    // The corrector's interval is [-(2^k - 1), -2^(k-1)] U [2^(k-1), 2^k]; map c back into it.
    if (c >= 2 ** (k - 1)) c += 1;
    else c -= 2 ** k - 1;
    return c;
  }
}
