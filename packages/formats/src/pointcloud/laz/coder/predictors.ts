/**
 * LASzip's predictors and the prediction state of its items, shared by our encoder (`lazenc/`) and
 * decoder (`lazdec/`): each side predicts a value from the same history, so the tables, the running
 * median and the per-channel state of the LAS 1.4 items exist once. Written from the LASzip format
 * description.
 */
import { SymbolModel, symbolModels } from "./models.js";

/*
 * Context tables of LASzip (data, not code): they map (number of returns n, return number r) to model
 * contexts. Row index n, column index r, flattened row-major.
 */

/** 3-bit n/r (POINT10): 16 contexts for intensity / x / y predictors. */
export const NUMBER_RETURN_MAP = Uint8Array.from([
  15, 14, 13, 12, 11, 10, 9, 8,
  14, 0, 1, 3, 6, 10, 10, 9,
  13, 1, 2, 4, 7, 11, 11, 10,
  12, 3, 4, 5, 8, 12, 12, 11,
  11, 6, 7, 8, 9, 13, 13, 12,
  10, 10, 11, 12, 13, 14, 14, 13,
  9, 10, 11, 12, 13, 14, 15, 14,
  8, 9, 10, 11, 12, 13, 14, 15,
]);

/** 3-bit n/r (POINT10): penetration level (8 contexts) for the z predictor. */
export const NUMBER_RETURN_LEVEL = Uint8Array.from([
  0, 1, 2, 3, 4, 5, 6, 7,
  1, 0, 1, 2, 3, 4, 5, 6,
  2, 1, 0, 1, 2, 3, 4, 5,
  3, 2, 1, 0, 1, 2, 3, 4,
  4, 3, 2, 1, 0, 1, 2, 3,
  5, 4, 3, 2, 1, 0, 1, 2,
  6, 5, 4, 3, 2, 1, 0, 1,
  7, 6, 5, 4, 3, 2, 1, 0,
]);

/** 4-bit n/r (POINT14): 6 contexts. */
export const NUMBER_RETURN_MAP_6CTX = Uint8Array.from([
  0, 1, 2, 3, 4, 5, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5,
  1, 0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
  2, 1, 2, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3,
  3, 3, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 3, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  5, 3, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  3, 3, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 3, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 3, 4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4,
  5, 3, 4, 4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4,
  5, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 4, 4, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 4, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5,
]);

/** 4-bit n/r (POINT14): penetration level capped at 7 (8 contexts). */
export const NUMBER_RETURN_LEVEL_8CTX = (() => {
  // |n - r| capped at 7: the published table is exactly that
  const t = new Uint8Array(256);
  for (let n = 0; n < 16; n++) for (let r = 0; r < 16; r++) t[n * 16 + r] = Math.min(7, Math.abs(n - r));
  return t;
})();


/**
 * Streaming median of the last 5 values, kept as a sorted window that alternately drops its smallest
 * or largest element (LASzip's predictor for x/y deltas). 16 medians packed in one array.
 */
export class Medians5 {
  readonly v = new Int32Array(16 * 5);
  readonly high = new Uint8Array(16).fill(1);

  get(i: number): number {
    return this.v[i * 5 + 2];
  }

  add(i: number, x: number): void {
    const v = this.v;
    const o = i * 5;
    if (this.high[i]) {
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
        this.high[i] = 0;
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
        this.high[i] = 1;
      }
    }
  }
}

/** y's context from x's corrector class k, z's from the mean of both (POINT10 and POINT14). */
export function yContext(single: number, kx: number): number {
  return single + (kx < 20 ? kx & ~1 : 20);
}
export function zContext(single: number, kx: number, ky: number): number {
  const kz = (kx + ky) >>> 1;
  return single + (kz < 18 ? kz & ~1 : 18);
}

export function clampU8(n: number): number {
  return n < 0 ? 0 : n > 255 ? 255 : n;
}

/** Models of one RGB v2 context (point-wise RGB12, and per scanner channel in the layered RGB14). */
export class RgbModels {
  readonly byteUsed: SymbolModel;
  readonly rgbDiff0: SymbolModel;
  readonly rgbDiff1: SymbolModel;
  readonly rgbDiff2: SymbolModel;
  readonly rgbDiff3: SymbolModel;
  readonly rgbDiff4: SymbolModel;
  readonly rgbDiff5: SymbolModel;

  constructor(decoding: boolean) {
    this.byteUsed = new SymbolModel(128, decoding);
    this.rgbDiff0 = new SymbolModel(256, decoding);
    this.rgbDiff1 = new SymbolModel(256, decoding);
    this.rgbDiff2 = new SymbolModel(256, decoding);
    this.rgbDiff3 = new SymbolModel(256, decoding);
    this.rgbDiff4 = new SymbolModel(256, decoding);
    this.rgbDiff5 = new SymbolModel(256, decoding);
  }
}

/**
 * GPS time multipliers (point-wise GPSTIME11 v2 and layered POINT14 v3): a time difference is coded as
 * a multiple of the last one (-10..500), or as "unchanged" (v2 only), a full new sequence, or a switch
 * to another of the 4 tracked sequences.
 */
export const GPS_MULTI = 500;
export const GPS_MULTI_MINUS = -10;
export const GPS_MULTI_UNCHANGED = GPS_MULTI - GPS_MULTI_MINUS + 1;
/** v2 symbols: multipliers, unchanged, full, 3 switches. */
export const GPS_MULTI_CODE_FULL_V2 = GPS_MULTI - GPS_MULTI_MINUS + 2;
export const GPS_MULTI_TOTAL_V2 = GPS_MULTI - GPS_MULTI_MINUS + 6;
/** v3 symbols: no "unchanged" (the item is coded only when the time changed). */
export const GPS_MULTI_CODE_FULL_V3 = GPS_MULTI - GPS_MULTI_MINUS + 1;
export const GPS_MULTI_TOTAL_V3 = GPS_MULTI - GPS_MULTI_MINUS + 5;

/** Classification flags, scan direction and edge of flight line of a LAS 1.4 record as LASzip's 6-bit symbol. */
export function flags6(f: number): number {
  return (f & 0x0f) | (((f >>> 6) & 1) << 4) | (((f >>> 7) & 1) << 5);
}

export function i32(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}
export function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
export function writeI32(out: Uint8Array, o: number, v: number): void {
  out[o] = v;
  out[o + 1] = v >> 8;
  out[o + 2] = v >> 16;
  out[o + 3] = v >> 24;
}

/** Last values of one scanner channel (the LAS 1.4 record fields the POINT14 predictors look at). */
export class Last14 {
  x = 0;
  y = 0;
  z = 0;
  intensity = 0;
  bits = 0;
  flags = 0;
  cls = 0;
  user = 0;
  angle = 0;
  psid = 0;
  gpsLo = 0;
  gpsHi = 0;
  gpsChange = false;

  copyFrom(o: Last14): void {
    this.x = o.x;
    this.y = o.y;
    this.z = o.z;
    this.intensity = o.intensity;
    this.bits = o.bits;
    this.flags = o.flags;
    this.cls = o.cls;
    this.user = o.user;
    this.angle = o.angle;
    this.psid = o.psid;
    this.gpsLo = o.gpsLo;
    this.gpsHi = o.gpsHi;
    this.gpsChange = o.gpsChange;
  }

  read(rec: Uint8Array, o: number): void {
    this.x = i32(rec, o);
    this.y = i32(rec, o + 4);
    this.z = i32(rec, o + 8);
    this.intensity = u16(rec, o + 12);
    this.bits = rec[o + 14];
    this.flags = rec[o + 15];
    this.cls = rec[o + 16];
    this.user = rec[o + 17];
    this.angle = (rec[o + 18] | (rec[o + 19] << 8)) << 16 >> 16;
    this.psid = u16(rec, o + 20);
    this.gpsLo = i32(rec, o + 22);
    this.gpsHi = i32(rec, o + 26);
    this.gpsChange = false;
  }
}

/** The integer coders of POINT14, as the encoder's compressors or the decoder's decompressors. */
export type IntegerCoderFactory<IC> = (bits: number, contexts: number) => IC;

/** Per-scanner-channel models, integer coders and predictor state of POINT14 v3. */
export class Point14Context<IC> {
  readonly changedValues: SymbolModel[];
  readonly scannerChannel: SymbolModel;
  private readonly numberOfReturns: (SymbolModel | undefined)[] = new Array(16).fill(undefined);
  private readonly returnNumber: (SymbolModel | undefined)[] = new Array(16).fill(undefined);
  readonly returnNumberGpsSame: SymbolModel;
  private readonly classification: (SymbolModel | undefined)[] = new Array(64).fill(undefined);
  private readonly classFlags: (SymbolModel | undefined)[] = new Array(64).fill(undefined);
  private readonly userData: (SymbolModel | undefined)[] = new Array(64).fill(undefined);
  readonly gpsMulti: SymbolModel;
  readonly gpsNoDiff: SymbolModel;
  readonly icDx: IC;
  readonly icDy: IC;
  readonly icZ: IC;
  readonly icIntensity: IC;
  readonly icScanAngle: IC;
  readonly icSourceId: IC;
  readonly icGps: IC;
  readonly lastIntensity = new Uint16Array(8);
  readonly xMedian = new Medians5();
  readonly yMedian = new Medians5();
  readonly lastZ = new Int32Array(8);
  // GPS time sequences (64-bit patterns as 32-bit halves)
  seqLast = 0;
  seqNext = 0;
  readonly seqLo = new Int32Array(4);
  readonly seqHi = new Int32Array(4);
  readonly seqDiff = new Int32Array(4);
  readonly seqExtreme = new Int32Array(4);

  constructor(
    private readonly decoding: boolean,
    integerCoder: IntegerCoderFactory<IC>,
    last: Last14,
  ) {
    this.changedValues = symbolModels(8, 128, decoding);
    this.scannerChannel = new SymbolModel(3, decoding);
    this.returnNumberGpsSame = new SymbolModel(13, decoding);
    this.gpsMulti = new SymbolModel(GPS_MULTI_TOTAL_V3, decoding);
    this.gpsNoDiff = new SymbolModel(5, decoding);
    this.icDx = integerCoder(32, 2);
    this.icDy = integerCoder(32, 22);
    this.icZ = integerCoder(32, 20);
    this.icIntensity = integerCoder(16, 4);
    this.icScanAngle = integerCoder(16, 2);
    this.icSourceId = integerCoder(16, 1);
    this.icGps = integerCoder(32, 9);
    // a channel's predictions start from the record that opened it
    this.seqLo[0] = last.gpsLo;
    this.seqHi[0] = last.gpsHi;
    this.lastZ.fill(last.z);
    this.lastIntensity.fill(last.intensity);
  }

  /** Models are created on first use (a fresh model is the same whenever it is created). */
  nrModel(i: number): SymbolModel {
    return (this.numberOfReturns[i] ??= new SymbolModel(16, this.decoding));
  }
  rnModel(i: number): SymbolModel {
    return (this.returnNumber[i] ??= new SymbolModel(16, this.decoding));
  }
  classModel(i: number): SymbolModel {
    return (this.classification[i] ??= new SymbolModel(256, this.decoding));
  }
  flagsModel(i: number): SymbolModel {
    return (this.classFlags[i] ??= new SymbolModel(64, this.decoding));
  }
  userModel(i: number): SymbolModel {
    return (this.userData[i] ??= new SymbolModel(256, this.decoding));
  }
}

/** Models of one NIR14 v3 channel. */
export class NirModels {
  readonly bytesUsed: SymbolModel;
  readonly lower: SymbolModel;
  readonly upper: SymbolModel;

  constructor(decoding: boolean) {
    this.bytesUsed = new SymbolModel(4, decoding);
    this.lower = new SymbolModel(256, decoding);
    this.upper = new SymbolModel(256, decoding);
  }
}

/**
 * Last values of a LAS 1.4 item (RGB14, NIR14, BYTE14: `width` 16-bit values per scanner channel) and
 * which channel's values it predicts from when POINT14 hands it channel `c`: LASzip's v3 rule, mirrored
 * by every decoder. A channel not used yet starts from the current channel's last values; when
 * returning to a used channel, the item keeps predicting from (and updating) the previous channel's
 * values for that record.
 */
export class ChannelValues {
  /** Channel whose models code the record. */
  used = 0;
  private readonly opened = new Uint8Array(4);
  readonly last: Uint16Array;

  constructor(readonly width: number) {
    this.last = new Uint16Array(4 * width);
  }

  /** Starts a chunk on channel `c`; the caller writes its first values at `c * width`. */
  start(c: number): number {
    this.opened.fill(0);
    this.opened[c] = 1;
    this.used = c;
    return c * this.width;
  }

  /** Offset in `last` of the values this record predicts from (and updates). */
  select(c: number): number {
    let li = this.used;
    if (li !== c) {
      this.used = c;
      if (!this.opened[c]) {
        this.opened[c] = 1;
        const w = this.width;
        this.last.copyWithin(c * w, li * w, li * w + w);
        li = c;
      }
    }
    return li * this.width;
  }
}
