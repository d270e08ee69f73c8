/**
 * E57 paged I/O. Every 1024-byte physical page holds 1020 payload ("logical") bytes followed by the
 * big-endian CRC-32C of those bytes. Binary structures are addressed both ways in the file, so both
 * mappings live here; readers check the CRC of every page they touch.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { crc32c } from "./crc32c.js";

export const PAGE_SIZE = 1024;
export const PAGE_PAYLOAD = 1020;

export function logicalToPhysical(logical: number): number {
  const page = Math.floor(logical / PAGE_PAYLOAD);
  return page * PAGE_SIZE + (logical - page * PAGE_PAYLOAD);
}

/** Physical → logical; undefined when the physical offset points into a page's CRC bytes. */
export function physicalToLogical(physical: number): number | undefined {
  const page = Math.floor(physical / PAGE_SIZE);
  const inPage = physical - page * PAGE_SIZE;
  if (inPage >= PAGE_PAYLOAD) return undefined;
  return page * PAGE_PAYLOAD + inPage;
}

/**
 * Sequential-friendly reader of logical bytes: reads whole pages through the ByteSource in blocks of
 * `readAhead` logical bytes, verifies each page's CRC, and serves reads from that block.
 * The returned arrays are views into an internal buffer: valid until the next `read` call.
 */
export class PagedReader {
  readonly logicalSize: number;
  private buf = new Uint8Array(0);
  private bufStart = 0;
  private bufLen = 0;

  constructor(
    private readonly source: ByteSource,
    /** Pages in the file (the file size is checked to be whole pages before this is built). */
    readonly pageCount: number,
    private readonly readAhead = 256 * 1024,
  ) {
    this.logicalSize = pageCount * PAGE_PAYLOAD;
  }

  async read(logical: number, length: number): Promise<Uint8Array> {
    if (logical >= this.bufStart && logical + length <= this.bufStart + this.bufLen) {
      return this.buf.subarray(logical - this.bufStart, logical - this.bufStart + length);
    }
    if (logical < 0 || length < 0 || logical + length > this.logicalSize) {
      throw new FormatError(
        `read of ${length} bytes past the end of the paged data (${this.pageCount} pages)`,
        this.source.name,
        logicalToPhysical(Math.max(0, Math.min(logical, this.logicalSize))),
      );
    }
    const firstPage = Math.floor(logical / PAGE_PAYLOAD);
    const want = Math.max(length, this.readAhead);
    const lastPage = Math.min(this.pageCount - 1, Math.floor((logical + want - 1) / PAGE_PAYLOAD));
    const nPages = lastPage - firstPage + 1;
    const physStart = firstPage * PAGE_SIZE;
    const raw = await this.source.read(physStart, nPages * PAGE_SIZE);
    if (raw.length < nPages * PAGE_SIZE) {
      throw new FormatError("file is truncated", this.source.name, physStart + raw.length);
    }
    if (this.buf.length < nPages * PAGE_PAYLOAD) this.buf = new Uint8Array(nPages * PAGE_PAYLOAD);
    for (let p = 0; p < nPages; p++) {
      const o = p * PAGE_SIZE;
      const stored = ((raw[o + 1020] << 24) | (raw[o + 1021] << 16) | (raw[o + 1022] << 8) | raw[o + 1023]) >>> 0;
      const actual = crc32c(raw, o, o + PAGE_PAYLOAD);
      if (stored !== actual) {
        this.bufLen = 0;
        throw new FormatError(
          `CRC-32C mismatch in page ${firstPage + p} (stored ${hex(stored)}, computed ${hex(actual)})`,
          this.source.name,
          physStart + o,
        );
      }
      this.buf.set(raw.subarray(o, o + PAGE_PAYLOAD), p * PAGE_PAYLOAD);
    }
    this.bufStart = firstPage * PAGE_PAYLOAD;
    this.bufLen = nPages * PAGE_PAYLOAD;
    return this.buf.subarray(logical - this.bufStart, logical - this.bufStart + length);
  }
}

function hex(v: number): string {
  return "0x" + v.toString(16).padStart(8, "0");
}

/** A whole page to write at a physical offset after the stream is complete (see E57Writer). */
export interface E57Patch {
  offset: number;
  bytes: Uint8Array;
}

export type E57ByteSink = (bytes: Uint8Array) => void | Promise<void>;

/**
 * Writes logical bytes as CRC'd pages to a sink, in blocks of `blockPages` pages. Ranges registered with
 * `hold` are not known yet (header, section headers): the pages holding them are kept in memory and
 * returned re-checksummed by `finish`, for the caller to write over the placeholders.
 */
export class PagedWriter {
  private block: Uint8Array;
  private blockPages = 0; // complete pages in block
  private pagesEmitted = 0;
  private inPage = 0; // payload bytes in the current page
  private readonly held = new Set<number>();
  private readonly kept = new Map<number, Uint8Array>();
  private readonly patches: { logical: number; bytes: Uint8Array }[] = [];

  constructor(
    private readonly sink: E57ByteSink,
    private readonly pagesPerBlock = 64,
  ) {
    this.block = new Uint8Array(pagesPerBlock * PAGE_SIZE);
  }

  get logicalPos(): number {
    return (this.pagesEmitted + this.blockPages) * PAGE_PAYLOAD + this.inPage;
  }

  get physicalPos(): number {
    return logicalToPhysical(this.logicalPos);
  }

  /** Marks [logical, logical+length) as to be patched later. */
  hold(logical: number, length: number): void {
    for (let p = Math.floor(logical / PAGE_PAYLOAD); p <= Math.floor((logical + length - 1) / PAGE_PAYLOAD); p++) {
      this.held.add(p);
    }
  }

  /** Records the final bytes of a held range; applied in `finish`. */
  patch(logical: number, bytes: Uint8Array): void {
    this.patches.push({ logical, bytes: bytes.slice() });
  }

  async write(bytes: Uint8Array): Promise<void> {
    let i = 0;
    while (i < bytes.length) {
      const n = Math.min(PAGE_PAYLOAD - this.inPage, bytes.length - i);
      this.block.set(bytes.subarray(i, i + n), this.blockPages * PAGE_SIZE + this.inPage);
      this.inPage += n;
      i += n;
      if (this.inPage === PAGE_PAYLOAD) await this.completePage();
    }
  }

  async writeZeros(n: number): Promise<void> {
    while (n > 0) {
      const k = Math.min(PAGE_PAYLOAD - this.inPage, n);
      this.block.fill(0, this.blockPages * PAGE_SIZE + this.inPage, this.blockPages * PAGE_SIZE + this.inPage + k);
      this.inPage += k;
      n -= k;
      if (this.inPage === PAGE_PAYLOAD) await this.completePage();
    }
  }

  private async completePage(): Promise<void> {
    const o = this.blockPages * PAGE_SIZE;
    writeCrc(this.block, o);
    const pageIndex = this.pagesEmitted + this.blockPages;
    if (this.held.has(pageIndex)) this.kept.set(pageIndex, this.block.slice(o, o + PAGE_SIZE));
    this.blockPages++;
    this.inPage = 0;
    if (this.blockPages === this.pagesPerBlock) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.blockPages === 0) return;
    const out = this.block.subarray(0, this.blockPages * PAGE_SIZE);
    this.pagesEmitted += this.blockPages;
    this.blockPages = 0;
    // A fresh block each time: the sink may keep the bytes it was given.
    this.block = new Uint8Array(this.pagesPerBlock * PAGE_SIZE);
    await this.sink(out);
  }

  /** Pads the last page with zeros, emits everything, and returns the patched pages. */
  async finish(): Promise<{ patches: E57Patch[]; fileLength: number }> {
    if (this.inPage > 0) await this.writeZeros(PAGE_PAYLOAD - this.inPage);
    await this.flush();
    for (const { logical, bytes } of this.patches) {
      for (let i = 0; i < bytes.length; i++) {
        const l = logical + i;
        const page = this.kept.get(Math.floor(l / PAGE_PAYLOAD));
        if (!page) throw new Error(`internal: patch at logical ${l} is not in a held page`);
        page[l % PAGE_PAYLOAD] = bytes[i];
      }
    }
    const patches: E57Patch[] = [];
    for (const [index, page] of [...this.kept].sort((a, b) => a[0] - b[0])) {
      writeCrc(page, 0);
      patches.push({ offset: index * PAGE_SIZE, bytes: page });
    }
    return { patches, fileLength: this.pagesEmitted * PAGE_SIZE };
  }
}

function writeCrc(buf: Uint8Array, pageOffset: number): void {
  const c = crc32c(buf, pageOffset, pageOffset + PAGE_PAYLOAD);
  buf[pageOffset + 1020] = c >>> 24;
  buf[pageOffset + 1021] = (c >>> 16) & 0xff;
  buf[pageOffset + 1022] = (c >>> 8) & 0xff;
  buf[pageOffset + 1023] = c & 0xff;
}
