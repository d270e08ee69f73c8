/**
 * LASzip "layered chunked" compression (compressor type 3), item version 3, for LAS 1.4 point
 * formats 6, 7, 8: POINT14, RGB14, RGBNIR14 (RGB + NIR layers) and BYTE14. Each attribute group
 * is coded by its own arithmetic encoder into its own layer, so readers can skip layers; layers whose
 * values never change within the chunk are omitted (size 0). Up to four scanner channels keep
 * separate prediction contexts.
 *
 * Chunk layout: first record raw, u32 point count, u32 size of every layer (item order), layers.
 * The v3 context-switch rules (including LASzip's quirk of predicting from the previous channel's
 * last value when returning to an already used channel) are reproduced because decoders mirror them.
 */
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
  yContext,
  zContext,
} from "../laz/coder/predictors.js";
import { ArithmeticEncoder, IntegerCompressor } from "./arithmetic.js";
import { ChunkedEncoderBase, type LazEncoderOptions } from "./encoder.js";
import { COMPRESSOR_LAYERED_CHUNKED, ItemType } from "../laz/coder/layout.js";
import { compressRgb, gpsMultiplier } from "./pointwise-items.js";

/** Scanner channel context shared by the items of one record (POINT14 sets it, others follow). */
interface Ctx {
  c: number;
}

interface LayeredItemCompressor {
  readonly size: number;
  /** Starts a chunk with its first record (stored raw by the caller). */
  first(rec: Uint8Array, off: number, ctx: Ctx): void;
  compress(rec: Uint8Array, off: number, ctx: Ctx): void;
  /** Finalises the chunk's layers (sizes in item order; empty arrays for omitted layers). */
  layers(): Uint8Array[];
}

const EMPTY = new Uint8Array(0);

type Context = Point14Context<IntegerCompressor>;

const integerCompressor = (bits: number, contexts: number) => new IntegerCompressor(bits, contexts);

class Point14V3Compressor implements LayeredItemCompressor {
  readonly size = 30;
  private readonly encXY = new ArithmeticEncoder(1 << 16);
  private readonly encZ = new ArithmeticEncoder(1 << 15);
  private readonly encClass = new ArithmeticEncoder(1 << 12);
  private readonly encFlags = new ArithmeticEncoder(1 << 12);
  private readonly encIntensity = new ArithmeticEncoder(1 << 14);
  private readonly encAngle = new ArithmeticEncoder(1 << 12);
  private readonly encUser = new ArithmeticEncoder(1 << 12);
  private readonly encSource = new ArithmeticEncoder(1 << 12);
  private readonly encGps = new ArithmeticEncoder(1 << 14);
  private changedClass = false;
  private changedFlags = false;
  private changedIntensity = false;
  private changedAngle = false;
  private changedUser = false;
  private changedSource = false;
  private changedGps = false;
  private current = 0;
  /** Per scanner channel; undefined = not used yet in this chunk. */
  private contexts: (Context | undefined)[] = [];
  private readonly lastValues = [new Last14(), new Last14(), new Last14(), new Last14()];
  private readonly cur = new Last14();
  /** Result of `diff`. */
  private fits = false;
  private diff32 = 0;

  first(rec: Uint8Array, o: number, ctx: Ctx): void {
    for (const e of [this.encXY, this.encZ, this.encClass, this.encFlags, this.encIntensity, this.encAngle, this.encUser, this.encSource, this.encGps]) e.reset();
    this.changedClass = this.changedFlags = this.changedIntensity = this.changedAngle = false;
    this.changedUser = this.changedSource = this.changedGps = false;
    this.contexts = [undefined, undefined, undefined, undefined];
    const cur = this.cur;
    cur.read(rec, o);
    this.current = (cur.flags >>> 4) & 3;
    ctx.c = this.current;
    this.contexts[this.current] = new Point14Context(false, integerCompressor, cur);
    this.lastValues[this.current].copyFrom(cur);
  }

  compress(rec: Uint8Array, o: number, ctx: Ctx): void {
    const cur = this.cur;
    cur.read(rec, o);
    const cc = this.current;
    let last = this.lastValues[cc];
    // single (3) / first (1) / last (2) / intermediate (0) return of the last point, + gps change
    const lastR0 = last.bits & 15;
    const lastN0 = last.bits >>> 4;
    const lpr = (lastR0 === 1 ? 1 : 0) + (lastR0 >= lastN0 ? 2 : 0) + (last.gpsChange ? 4 : 0);

    const sc = (cur.flags >>> 4) & 3;
    const scChanged = sc !== cc;
    if (scChanged && this.contexts[sc]) last = this.lastValues[sc];

    const psChanged = last.psid !== cur.psid;
    const gpsChanged = last.gpsLo !== cur.gpsLo || last.gpsHi !== cur.gpsHi;
    const angleChanged = last.angle !== cur.angle;
    const lastN = last.bits >>> 4;
    const lastR = last.bits & 15;
    const n = cur.bits >>> 4;
    const r = cur.bits & 15;

    let cv =
      ((scChanged ? 1 : 0) << 6) |
      ((psChanged ? 1 : 0) << 5) |
      ((gpsChanged ? 1 : 0) << 4) |
      ((angleChanged ? 1 : 0) << 3) |
      ((n !== lastN ? 1 : 0) << 2);
    if (r !== lastR) {
      if (r === ((lastR + 1) & 15)) cv |= 1;
      else if (r === ((lastR + 15) & 15)) cv |= 2;
      else cv |= 3;
    }
    const encXY = this.encXY;
    const prev = this.contexts[cc]!;
    encXY.encodeSymbol(prev.changedValues[lpr], cv);

    if (scChanged) {
      const d = sc - cc;
      encXY.encodeSymbol(prev.scannerChannel, d > 0 ? d - 1 : d + 3);
      if (!this.contexts[sc]) {
        this.contexts[sc] = new Point14Context(false, integerCompressor, last);
        this.lastValues[sc].copyFrom(last);
        last = this.lastValues[sc];
      }
      this.current = sc;
      ctx.c = sc; // the other items see the new channel on this record only (see compressRecords)
    }
    const C = this.contexts[this.current]!;

    if (cv & 4) encXY.encodeSymbol(C.nrModel(lastN), n);
    if ((cv & 3) === 3) {
      if (gpsChanged) {
        encXY.encodeSymbol(C.rnModel(lastR), r);
      } else {
        const d = r - lastR;
        encXY.encodeSymbol(C.returnNumberGpsSame, d > 1 ? d - 2 : d + 14);
      }
    }

    const m = NUMBER_RETURN_MAP_6CTX[n * 16 + r];
    const l = NUMBER_RETURN_LEVEL_8CTX[n * 16 + r];
    const cpr = (r === 1 ? 2 : 0) + (r >= n ? 1 : 0);
    const g = gpsChanged ? 1 : 0;
    const idx = (m << 1) | g;
    const single = n === 1 ? 1 : 0;

    const dx = (cur.x - last.x) | 0;
    C.icDx.compress(encXY, C.xMedian.get(idx), dx, single);
    C.xMedian.add(idx, dx);
    const kx = C.icDx.k;
    const dy = (cur.y - last.y) | 0;
    C.icDy.compress(encXY, C.yMedian.get(idx), dy, yContext(single, kx));
    C.yMedian.add(idx, dy);
    C.icZ.compress(this.encZ, C.lastZ[l], cur.z, zContext(single, kx, C.icDy.k));
    C.lastZ[l] = cur.z;

    if (cur.cls !== last.cls) this.changedClass = true;
    this.encClass.encodeSymbol(C.classModel(((last.cls & 0x1f) << 1) + (cpr === 3 ? 1 : 0)), cur.cls);

    const lastF = flags6(last.flags);
    const f = flags6(cur.flags);
    if (lastF !== f) this.changedFlags = true;
    this.encFlags.encodeSymbol(C.flagsModel(lastF), f);

    if (last.intensity !== cur.intensity) this.changedIntensity = true;
    const ii = (cpr << 1) | g;
    C.icIntensity.compress(this.encIntensity, C.lastIntensity[ii], cur.intensity, cpr);
    C.lastIntensity[ii] = cur.intensity;

    if (angleChanged) {
      this.changedAngle = true;
      C.icScanAngle.compress(this.encAngle, last.angle, cur.angle, g);
    }

    if (last.user !== cur.user) this.changedUser = true;
    this.encUser.encodeSymbol(C.userModel(last.user >>> 2), cur.user);

    if (psChanged) {
      this.changedSource = true;
      C.icSourceId.compress(this.encSource, last.psid, cur.psid, 0);
    }

    last.copyFrom(cur);
    last.gpsChange = gpsChanged;
    if (gpsChanged) {
      this.changedGps = true;
      this.compressGps(C, cur.gpsHi, cur.gpsLo);
    }
  }

  /** 64-bit (hi, lo) minus sequence `s` of context C, wrapping. */
  private diff(C: Context, hi: number, lo: number, s: number): void {
    const bl = C.seqLo[s] >>> 0;
    const al = lo >>> 0;
    const dlo = (al - bl) | 0;
    const dhi = (hi - C.seqHi[s] - (al < bl ? 1 : 0)) | 0;
    this.diff32 = dlo;
    this.fits = dhi === dlo >> 31;
  }

  private compressGps(C: Context, hi: number, lo: number): void {
    const enc = this.encGps;
    const last = C.seqLast;
    if (C.seqDiff[last] === 0) {
      this.diff(C, hi, lo, last);
      if (this.fits) {
        enc.encodeSymbol(C.gpsNoDiff, 0);
        C.icGps.compress(enc, 0, this.diff32, 0);
        C.seqDiff[last] = this.diff32;
        C.seqExtreme[last] = 0;
      } else {
        for (let i = 1; i < 4; i++) {
          const s = (last + i) & 3;
          this.diff(C, hi, lo, s);
          if (this.fits) {
            enc.encodeSymbol(C.gpsNoDiff, i + 1);
            C.seqLast = s;
            this.compressGps(C, hi, lo);
            return;
          }
        }
        enc.encodeSymbol(C.gpsNoDiff, 1);
        this.startSequence(C, hi, lo);
      }
    } else {
      this.diff(C, hi, lo, last);
      if (this.fits) {
        const d = this.diff32;
        const lastDiff = C.seqDiff[last];
        const multi = gpsMultiplier(d, lastDiff);
        if (multi === 1) {
          enc.encodeSymbol(C.gpsMulti, 1);
          C.icGps.compress(enc, lastDiff, d, 1);
          C.seqExtreme[last] = 0;
        } else if (multi > 0) {
          if (multi < GPS_MULTI) {
            enc.encodeSymbol(C.gpsMulti, multi);
            C.icGps.compress(enc, Math.imul(multi, lastDiff), d, multi < 10 ? 2 : 3);
          } else {
            enc.encodeSymbol(C.gpsMulti, GPS_MULTI);
            C.icGps.compress(enc, Math.imul(GPS_MULTI, lastDiff), d, 4);
            this.bumpExtreme(C, last, d);
          }
        } else if (multi < 0) {
          if (multi > GPS_MULTI_MINUS) {
            enc.encodeSymbol(C.gpsMulti, GPS_MULTI - multi);
            C.icGps.compress(enc, Math.imul(multi, lastDiff), d, 5);
          } else {
            enc.encodeSymbol(C.gpsMulti, GPS_MULTI - GPS_MULTI_MINUS);
            C.icGps.compress(enc, Math.imul(GPS_MULTI_MINUS, lastDiff), d, 6);
            this.bumpExtreme(C, last, d);
          }
        } else {
          enc.encodeSymbol(C.gpsMulti, 0);
          C.icGps.compress(enc, 0, d, 7);
          this.bumpExtreme(C, last, d);
        }
      } else {
        for (let i = 1; i < 4; i++) {
          const s = (last + i) & 3;
          this.diff(C, hi, lo, s);
          if (this.fits) {
            enc.encodeSymbol(C.gpsMulti, GPS_MULTI_CODE_FULL_V3 + i);
            C.seqLast = s;
            this.compressGps(C, hi, lo);
            return;
          }
        }
        enc.encodeSymbol(C.gpsMulti, GPS_MULTI_CODE_FULL_V3);
        this.startSequence(C, hi, lo);
      }
    }
    C.seqLo[C.seqLast] = lo;
    C.seqHi[C.seqLast] = hi;
  }

  private bumpExtreme(C: Context, last: number, d: number): void {
    if (++C.seqExtreme[last] > 3) {
      C.seqDiff[last] = d;
      C.seqExtreme[last] = 0;
    }
  }

  /** New sequence: high half predicted from the current sequence, low half raw. */
  private startSequence(C: Context, hi: number, lo: number): void {
    C.icGps.compress(this.encGps, C.seqHi[C.seqLast], hi, 8);
    this.encGps.writeInt(lo >>> 0);
    C.seqNext = (C.seqNext + 1) & 3;
    C.seqLast = C.seqNext;
    C.seqDiff[C.seqLast] = 0;
    C.seqExtreme[C.seqLast] = 0;
  }

  layers(): Uint8Array[] {
    return [
      this.encXY.done(),
      this.encZ.done(),
      this.changedClass ? this.encClass.done() : EMPTY,
      this.changedFlags ? this.encFlags.done() : EMPTY,
      this.changedIntensity ? this.encIntensity.done() : EMPTY,
      this.changedAngle ? this.encAngle.done() : EMPTY,
      this.changedUser ? this.encUser.done() : EMPTY,
      this.changedSource ? this.encSource.done() : EMPTY,
      this.changedGps ? this.encGps.done() : EMPTY,
    ];
  }
}

/** RGB14 v3: RGB v2 coding with one model set per scanner channel. */
class Rgb14V3Compressor implements LayeredItemCompressor {
  readonly size = 6;
  private readonly enc = new ArithmeticEncoder(1 << 14);
  private models: (RgbModels | undefined)[] = [];
  private readonly values = new ChannelValues(3);
  private changed = false;

  first(rec: Uint8Array, o: number, ctx: Ctx): void {
    this.enc.reset();
    this.changed = false;
    this.models = [undefined, undefined, undefined, undefined];
    const lo = this.values.start(ctx.c);
    const last = this.values.last;
    last[lo] = u16(rec, o);
    last[lo + 1] = u16(rec, o + 2);
    last[lo + 2] = u16(rec, o + 4);
  }

  compress(rec: Uint8Array, o: number, ctx: Ctx): void {
    const lo = this.values.select(ctx.c);
    const models = (this.models[this.values.used] ??= new RgbModels(false));
    const r = u16(rec, o);
    const g = u16(rec, o + 2);
    const b = u16(rec, o + 4);
    const last = this.values.last;
    if (last[lo] !== r || last[lo + 1] !== g || last[lo + 2] !== b) this.changed = true;
    compressRgb(this.enc, models, r, g, b, last, lo);
    last[lo] = r;
    last[lo + 1] = g;
    last[lo + 2] = b;
  }

  layers(): Uint8Array[] {
    return [this.changed ? this.enc.done() : EMPTY];
  }
}

/** NIR14 v3 (the NIR half of RGBNIR14): byte deltas, per scanner channel models. */
class Nir14V3Compressor implements LayeredItemCompressor {
  readonly size = 2;
  private readonly enc = new ArithmeticEncoder(1 << 13);
  private models: (NirModels | undefined)[] = [];
  private readonly values = new ChannelValues(1);
  private changed = false;

  first(rec: Uint8Array, o: number, ctx: Ctx): void {
    this.enc.reset();
    this.changed = false;
    this.models = [undefined, undefined, undefined, undefined];
    this.values.last[this.values.start(ctx.c)] = u16(rec, o);
  }

  compress(rec: Uint8Array, o: number, ctx: Ctx): void {
    const li = this.values.select(ctx.c);
    const m = (this.models[this.values.used] ??= new NirModels(false));
    const v = u16(rec, o);
    const lv = this.values.last[li];
    if (v !== lv) this.changed = true;
    const sym = ((v & 0xff) !== (lv & 0xff) ? 1 : 0) | ((v & 0xff00) !== (lv & 0xff00) ? 2 : 0);
    this.enc.encodeSymbol(m.bytesUsed, sym);
    if (sym & 1) this.enc.encodeSymbol(m.lower, ((v & 0xff) - (lv & 0xff)) & 0xff);
    if (sym & 2) this.enc.encodeSymbol(m.upper, ((v >>> 8) - (lv >>> 8)) & 0xff);
    this.values.last[li] = v;
  }

  layers(): Uint8Array[] {
    return [this.changed ? this.enc.done() : EMPTY];
  }
}

/** BYTE14 v3: one layer per extra byte, byte deltas, per scanner channel models. */
class Byte14V3Compressor implements LayeredItemCompressor {
  readonly size: number;
  private readonly encs: ArithmeticEncoder[] = [];
  private readonly changed: Uint8Array;
  private models: (SymbolModel[] | undefined)[] = [];
  private readonly values: ChannelValues;

  constructor(count: number) {
    this.size = count;
    for (let i = 0; i < count; i++) this.encs.push(new ArithmeticEncoder(1 << 12));
    this.changed = new Uint8Array(count);
    this.values = new ChannelValues(count);
  }

  first(rec: Uint8Array, o: number, ctx: Ctx): void {
    for (const e of this.encs) e.reset();
    this.changed.fill(0);
    this.models = [undefined, undefined, undefined, undefined];
    this.values.last.set(rec.subarray(o, o + this.size), this.values.start(ctx.c));
  }

  compress(rec: Uint8Array, o: number, ctx: Ctx): void {
    const n = this.size;
    const lo = this.values.select(ctx.c);
    const models = (this.models[this.values.used] ??= symbolModels(n, 256, false));
    const last = this.values.last;
    for (let i = 0; i < n; i++) {
      const v = rec[o + i];
      const d = (v - last[lo + i]) & 0xff;
      this.encs[i].encodeSymbol(models[i], d);
      if (d !== 0) {
        this.changed[i] = 1;
        last[lo + i] = v;
      }
    }
  }

  layers(): Uint8Array[] {
    // every layer is finalised; unchanged ones are announced with size 0 and not written
    return this.encs.map((e, i) => {
      const bytes = e.done();
      return this.changed[i] ? bytes : EMPTY;
    });
  }
}

/** Compressor type 3 (layered chunked), item version 3: point formats 6, 7, 8 (+ extra bytes). */
export class LazLayeredEncoder extends ChunkedEncoderBase {
  private readonly itemCompressors: LayeredItemCompressor[];
  private readonly offsets: Int32Array;
  private readonly first: Uint8Array;
  private readonly ctx: Ctx = { c: 0 };

  constructor(pointFormat: number, recordLength: number, opts: LazEncoderOptions = {}) {
    if (pointFormat < 6 || pointFormat > 8) {
      throw new RangeError(`LazLayeredEncoder handles point formats 6-8, not ${pointFormat}`);
    }
    super(pointFormat, recordLength, COMPRESSOR_LAYERED_CHUNKED, opts);
    this.first = new Uint8Array(recordLength);
    const comps: LayeredItemCompressor[] = [];
    for (const it of this.items) {
      switch (it.type) {
        case ItemType.POINT14:
          comps.push(new Point14V3Compressor());
          break;
        case ItemType.RGB14:
          comps.push(new Rgb14V3Compressor());
          break;
        case ItemType.RGBNIR14:
          // one item, two layers: RGB then NIR
          comps.push(new Rgb14V3Compressor(), new Nir14V3Compressor());
          break;
        default:
          comps.push(new Byte14V3Compressor(it.size));
      }
    }
    this.itemCompressors = comps;
    this.offsets = new Int32Array(comps.length);
    let o = 0;
    comps.forEach((c, k) => {
      this.offsets[k] = o;
      o += c.size;
    });
  }

  protected compressRecords(records: Uint8Array, off: number, count: number): void {
    const rl = this.recordLength;
    const items = this.itemCompressors;
    const offsets = this.offsets;
    const ni = items.length;
    const ctx = this.ctx;
    let p = off;
    let c = 0;
    if (this.pointsInChunk === 0 && count > 0) {
      this.first.set(records.subarray(p, p + rl));
      for (let k = 0; k < ni; k++) items[k].first(records, p + offsets[k], ctx);
      p += rl;
      c = 1;
    }
    for (; c < count; c++, p += rl) {
      // LASzip (v3) hands the other items context 0 unless POINT14 switched channel on this very
      // record; decoders (LASzip, laz-perf, laz-rs) do the same, so the encoder must too
      ctx.c = 0;
      for (let k = 0; k < ni; k++) items[k].compress(records, p + offsets[k], ctx);
    }
  }

  protected finishChunk(): Uint8Array {
    const layers: Uint8Array[] = [];
    for (const it of this.itemCompressors) layers.push(...it.layers());
    let total = this.recordLength + 4 + 4 * layers.length;
    for (const l of layers) total += l.length;
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    out.set(this.first);
    let p = this.recordLength;
    dv.setUint32(p, this.pointsInChunk, true);
    p += 4;
    for (const l of layers) {
      dv.setUint32(p, l.length, true);
      p += 4;
    }
    for (const l of layers) {
      out.set(l, p);
      p += l.length;
    }
    return out;
  }
}
