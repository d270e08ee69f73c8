/**
 * LAS → LAZ file conversion on bytes: a push-based transformer (memory bounded by one chunk plus
 * any EVLR bytes that follow the points), an async-iterable wrapper, and `writeLazFile` for whole
 * files in memory.
 *
 * Layout written: LAS header (point format + 128, offset to points and VLR count updated) + the
 * original VLRs + the 'laszip encoded' VLR + any bytes that sat between the VLRs and the points +
 * i64 absolute offset of the chunk table + chunks + chunk table + the original trailing bytes
 * (EVLRs), with the header's EVLR / waveform offsets moved accordingly. Offsets that depend on the
 * compressed size are only known at the end: a streaming writer applies `patches` (absolute
 * position + bytes) once the stream is finished; `writeLazFile` applies them itself.
 */
import { FormatError } from "../../io/byte-source.js";
import { LazPointwiseEncoder, type LazChunkEncoder, type LazEncoderOptions } from "./encoder.js";
import { LazLayeredEncoder } from "./layered.js";
import { lazVlrRecord } from "./laszip-format.js";

/** Encoder for a supported point format: point-wise v2 for 0-3, layered v3 for 6-8. */
export function createLazEncoder(pointFormat: number, recordLength: number, opts: LazEncoderOptions = {}): LazChunkEncoder {
  if (pointFormat <= 3) return new LazPointwiseEncoder(pointFormat, recordLength, opts);
  if (pointFormat >= 6 && pointFormat <= 8) return new LazLayeredEncoder(pointFormat, recordLength, opts);
  throw new RangeError(`LAZ encoder: point data record format ${pointFormat} is not supported`);
}

export interface BytePatch {
  /** Absolute position in the LAZ output. */
  position: number;
  bytes: Uint8Array;
}

export interface LasLayout {
  headerSize: number;
  pointOffset: number;
  vlrEnd: number;
  vlrCount: number;
  pointFormat: number;
  recordLength: number;
  pointCount: number;
  minor: number;
}

const FILE = "LAS input";

function parseLayout(b: Uint8Array): LasLayout {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== 0x4c || b[1] !== 0x41 || b[2] !== 0x53 || b[3] !== 0x46) throw new FormatError("not a LAS file (no LASF signature)", FILE, 0);
  const minor = b[25];
  const headerSize = dv.getUint16(94, true);
  if (headerSize < 227) throw new FormatError(`header size ${headerSize} too small`, FILE, 94);
  const pointOffset = dv.getUint32(96, true);
  const vlrCount = dv.getUint32(100, true);
  const rawFormat = b[104];
  if (rawFormat & 0xc0) throw new FormatError("point data is already compressed (format bits 6/7 set)", FILE, 104);
  const recordLength = dv.getUint16(105, true);
  let pointCount = dv.getUint32(107, true);
  if (minor >= 4 && headerSize >= 255) {
    const n64 = dv.getUint32(247, true) + dv.getUint32(251, true) * 2 ** 32;
    if (n64 > 0) pointCount = n64;
  }
  return { headerSize, pointOffset, vlrEnd: headerSize, vlrCount, pointFormat: rawFormat, recordLength, pointCount, minor };
}

/** Push LAS bytes in, get LAZ bytes out. */
export class LasToLazTransformer {
  private readonly opts: LazEncoderOptions;
  private head: Uint8Array[] = [];
  private headLen = 0;
  protected layout: LasLayout | undefined;
  protected encoder: LazChunkEncoder | undefined;
  private remaining = 0;
  private carry: Uint8Array = new Uint8Array(0);
  private carryLen = 0;
  private trailing: Uint8Array[] = [];
  protected outPos = 0;
  private newPointOffset = 0;
  private header: Uint8Array | undefined;
  private ended = false;
  private resultPatches: BytePatch[] | undefined;

  constructor(opts: LazEncoderOptions = {}) {
    this.opts = opts;
  }

  /** Fixes to apply to the output once `end()` has returned. */
  get patches(): BytePatch[] {
    if (!this.resultPatches) throw new Error("LasToLazTransformer: patches are known only after end()");
    return this.resultPatches;
  }

  push(bytes: Uint8Array): Uint8Array[] {
    if (this.ended) throw new Error("LasToLazTransformer: push after end");
    const out: Uint8Array[] = [];
    let b = bytes;
    if (!this.encoder) {
      this.head.push(b);
      this.headLen += b.length;
      if (!this.tryStart(out)) {
        // keep a private copy of the caller's buffer (it may be reused)
        const i = this.head.indexOf(b);
        if (i >= 0) this.head[i] = copyOf(b, 0, b.length);
        return out;
      }
      // whatever followed the header area in the buffered input is point data (or trailing bytes)
      const all = concat(this.head, this.headLen);
      this.head = [];
      b = all.subarray(this.layout!.pointOffset);
    }
    this.consume(b, out);
    return out;
  }

  end(): Uint8Array[] {
    if (this.ended) throw new Error("LasToLazTransformer: end called twice");
    this.ended = true;
    if (!this.encoder) throw new FormatError("LAS input ended inside the header / VLRs", FILE, this.headLen);
    if (this.remaining > 0 || this.carryLen > 0) {
      throw new FormatError(`LAS input ended with ${this.remaining} point records missing`, FILE, this.layout!.pointOffset);
    }
    const out: Uint8Array[] = [];
    const table = this.finishRecords(out);
    const chunkTableOffset = this.outPos;
    this.emit(out, table);
    const lay = this.layout!;
    const oldTrailStart = lay.pointOffset + lay.pointCount * lay.recordLength;
    const delta = this.outPos - oldTrailStart;
    for (const t of this.trailing) this.emit(out, t);
    this.trailing = [];

    const patches: BytePatch[] = [{ position: this.newPointOffset, bytes: u64le(chunkTableOffset) }];
    // header offsets pointing into the trailing bytes move with them
    const hdr = this.header!;
    const hdv = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
    const fields: number[] = [];
    if (lay.minor >= 3 && lay.headerSize >= 235) fields.push(227);
    if (lay.minor >= 4 && lay.headerSize >= 243) fields.push(235);
    for (const f of fields) {
      const v = hdv.getUint32(f, true) + hdv.getUint32(f + 4, true) * 2 ** 32;
      if (v !== 0 && v >= oldTrailStart) patches.push({ position: f, bytes: u64le(v + delta) });
    }
    this.resultPatches = patches;
    return out;
  }

  protected emit(out: Uint8Array[], b: Uint8Array): void {
    if (b.length === 0) return;
    out.push(b);
    this.outPos += b.length;
  }

  /** Whole point records (a view valid during the call only): compressed here, completed chunks emitted. */
  protected encodeRecords(records: Uint8Array, out: Uint8Array[]): void {
    for (const c of this.encoder!.encode(records)) this.emit(out, c);
  }

  /** After the last record: emits the chunks not emitted yet and returns the chunk table. */
  protected finishRecords(out: Uint8Array[]): Uint8Array {
    const fin = this.encoder!.finish();
    for (const c of fin.chunks) this.emit(out, c);
    return fin.tail;
  }

  /** Once the whole header area is buffered: writes header + VLRs and sets up the encoder. */
  private tryStart(out: Uint8Array[]): boolean {
    if (this.headLen < 227) return false;
    let all = concat(this.head, this.headLen);
    this.head = [all];
    // the whole header first (its size is at byte 94), then everything up to the points
    if (this.headLen < (all[94] | (all[95] << 8))) return false;
    const lay = parseLayout(all);
    if (this.headLen < lay.pointOffset) return false;
    // walk the VLRs to find where they end (bytes between their end and the points are kept as-is)
    let p = lay.headerSize;
    const dv = new DataView(all.buffer, all.byteOffset, all.byteLength);
    for (let i = 0; i < lay.vlrCount; i++) {
      if (p + 54 > lay.pointOffset) throw new FormatError(`VLR ${i} runs past the point data offset`, FILE, p);
      p += 54 + dv.getUint16(p + 20, true);
    }
    if (p > lay.pointOffset) throw new FormatError("VLRs run past the point data offset", FILE, p);
    lay.vlrEnd = p;
    this.layout = lay;
    this.encoder = createLazEncoder(lay.pointFormat, lay.recordLength, this.opts);
    this.remaining = lay.pointCount;
    this.carry = new Uint8Array(lay.recordLength);

    const vlr = lazVlrRecord(this.encoder.vlrPayload);
    const header = copyOf(all, 0, lay.headerSize);
    const hdv = new DataView(header.buffer);
    this.newPointOffset = lay.pointOffset + vlr.length;
    hdv.setUint32(96, this.newPointOffset, true);
    hdv.setUint32(100, lay.vlrCount + 1, true);
    header[104] = lay.pointFormat | 0x80;
    this.header = header;
    this.emit(out, header);
    this.emit(out, copyOf(all, lay.headerSize, lay.vlrEnd));
    this.emit(out, vlr);
    this.emit(out, copyOf(all, lay.vlrEnd, lay.pointOffset));
    // chunk table offset: unknown until the end (-1 placeholder, fixed by the first patch)
    this.emit(out, u64le(-1));
    all = new Uint8Array(0);
    return true;
  }

  private consume(b: Uint8Array, out: Uint8Array[]): void {
    const rl = this.layout!.recordLength;
    let p = 0;
    if (this.remaining > 0 && this.carryLen > 0) {
      const take = Math.min(rl - this.carryLen, b.length);
      this.carry.set(b.subarray(0, take), this.carryLen);
      this.carryLen += take;
      p = take;
      if (this.carryLen < rl) return;
      this.encodeRecords(this.carry, out);
      this.carryLen = 0;
      this.remaining--;
    }
    if (this.remaining > 0) {
      const whole = Math.min(this.remaining, Math.floor((b.length - p) / rl));
      if (whole > 0) {
        this.encodeRecords(b.subarray(p, p + whole * rl), out);
        p += whole * rl;
        this.remaining -= whole;
      }
      if (this.remaining > 0 && p < b.length) {
        this.carry.set(b.subarray(p), 0);
        this.carryLen = b.length - p;
        return;
      }
    }
    if (p < b.length) this.trailing.push(copyOf(b, p, b.length));
  }
}

/** A real copy (Node's Buffer#slice would return a view of the caller's memory). */
function copyOf(b: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(b.subarray(start, end));
  return out;
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1 && parts[0].length === len) return parts[0];
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u64le(v: number): Uint8Array {
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setBigInt64(0, BigInt(v), true);
  return out;
}

/**
 * Streams LAS bytes to LAZ bytes. After the iteration completes, write `transformer.patches` at
 * their absolute positions (the chunk table offset and moved EVLR offsets).
 */
export async function* lasToLazStream(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  transformer: LasToLazTransformer = new LasToLazTransformer(),
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const piece of input) {
    for (const b of transformer.push(piece)) yield b;
  }
  for (const b of transformer.end()) yield b;
}

/** Whole LAS file in memory → whole LAZ file. */
export function writeLazFile(lasFileBytes: Uint8Array, opts: LazEncoderOptions = {}): Uint8Array {
  const t = new LasToLazTransformer(opts);
  const parts = t.push(lasFileBytes);
  parts.push(...t.end());
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  for (const patch of t.patches) out.set(patch.bytes, patch.position);
  return out;
}
