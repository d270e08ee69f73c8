/**
 * BlobStore on the local file system (the embedded default).
 *
 * Layout under `rootDir`:
 *   {container}/                      one folder per container (container names are Azure-valid, so never start with ".")
 *   {container}/.tmp/                 temp files; every write lands here first and is renamed into place (atomic)
 *   {container}/.staging/{sha256(blob name)}/{hex(block id)}   staged blocks of uncommitted block blobs
 *   {container}/a~/b~/file.txt        blob "a/b/file.txt": folders carry a "~" suffix so a blob "a" and a blob "a/b"
 *                                     can coexist like in Azure ("~" is always escaped inside segments)
 *   {container}/a~/b~/.file.txt.m     sidecar JSON (content type, MD5) of that blob, valid only while it matches the
 *                                     data file's size/mtime/inode, so a crash between the two renames cannot lie
 *   .trash/                           containers being deleted (renamed away first, so a delete is atomic)
 * Segments are escaped (`%XX`) for characters that are unsafe in file names on some OS, plus "%", "~" and a leading
 * "."; entries starting with "." are therefore never blobs.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BigIntStats } from "node:fs";
import type { BlobBody, BlobInfo, BlobStore, ByteRange, ListOptions, ListResult, StagedBlock } from "../../ports/blob-store.js";
import { BlobStoreError } from "./errors.js";
import { DEFAULT_MAX_RESULTS, pageEntries, toListResult, validateBlobName, validateContainerName } from "./names.js";
import type { ListEntry } from "./names.js";

const DIR_SUFFIX = "~";
const META_SUFFIX = ".m";
const DEFAULT_CONTENT_TYPE = "application/octet-stream";
/** File names are limited to 255 bytes on common file systems; leave room for the sidecar's "." and ".m". */
const MAX_ENCODED_SEGMENT = 250;

interface Sidecar {
  contentType?: string;
  contentMD5?: string;
  /** The data file this sidecar describes; a mismatch means the sidecar is stale. */
  size: number;
  mtimeNs: string;
  ino: string;
}

function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Escapes one name segment into a safe file name (reversible with decodeSegment). */
export function encodeSegment(seg: string): string {
  let out = "";
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i];
    const unsafe =
      ch === "%" ||
      ch === DIR_SUFFIX ||
      /[<>:"|?*\\/\u0000-\u001f\u007f]/.test(ch) ||
      (i === 0 && ch === ".") ||
      // Windows drops trailing dots and spaces.
      (i === seg.length - 1 && (ch === "." || ch === " "));
    out += unsafe ? "%" + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0") : ch;
  }
  if (Buffer.byteLength(out) > MAX_ENCODED_SEGMENT) {
    throw new BlobStoreError("InvalidBlobName", `blob name segment too long for the local store: ${JSON.stringify(seg)}`);
  }
  return out;
}

export function decodeSegment(file: string): string {
  return file.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function etagOf(st: BigIntStats): string {
  const h = createHash("md5").update(`${st.mtimeNs}:${st.size}:${st.ino}`).digest("hex").slice(0, 15).toUpperCase();
  return `"0x${h}"`;
}

function toReadable(body: BlobBody): Readable {
  return body instanceof Uint8Array ? Readable.from([body]) : Readable.from(body);
}

/** Writes a stream to a new file and fsyncs it before closing, so a later rename publishes complete bytes even after a power loss. */
async function writeDurably(path: string, source: Readable, transforms: Transform[], signal?: AbortSignal): Promise<void> {
  const ws = createWriteStream(path, { flags: "wx", flush: true });
  await pipeline([source, ...transforms, ws], signal ? { signal } : {});
}

export class LocalBlobStore implements BlobStore {
  constructor(readonly rootDir: string) {}

  private containerDir(container: string): string {
    validateContainerName(container);
    return join(this.rootDir, container);
  }

  /** Absolute path of a blob's data file (for code that wants direct file access to the embedded store). */
  filePath(container: string, name: string): string {
    validateBlobName(name);
    const segs = name.split("/");
    const last = segs.pop() as string;
    return join(this.containerDir(container), ...segs.map((s) => encodeSegment(s) + DIR_SUFFIX), encodeSegment(last));
  }

  private sidecarPath(dataPath: string): string {
    return join(dirname(dataPath), "." + basename(dataPath) + META_SUFFIX);
  }

  private stagingDir(container: string, name: string): string {
    return join(this.containerDir(container), ".staging", createHash("sha256").update(name).digest("hex"));
  }

  private async requireContainer(container: string): Promise<string> {
    const dir = this.containerDir(container);
    if (!(await this.containerExists(container))) {
      throw new BlobStoreError("ContainerNotFound", `container ${container} does not exist`);
    }
    return dir;
  }

  async createContainer(container: string): Promise<void> {
    const dir = this.containerDir(container);
    await mkdir(join(dir, ".tmp"), { recursive: true });
    await mkdir(join(dir, ".staging"), { recursive: true });
  }

  async deleteContainer(container: string): Promise<void> {
    const dir = this.containerDir(container);
    const trash = join(this.rootDir, ".trash");
    await mkdir(trash, { recursive: true });
    const target = join(trash, `${container}-${randomUUID()}`);
    try {
      await rename(dir, target);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    await rm(target, { recursive: true, force: true });
  }

  async containerExists(container: string): Promise<boolean> {
    try {
      return (await stat(this.containerDir(container))).isDirectory();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private tmpPath(containerDir: string): string {
    return join(containerDir, ".tmp", randomUUID());
  }

  /** Moves a finished temp file (and its sidecar) into place; creates parent folders, racing with empty-folder pruning. */
  private async publish(tmp: string, dataPath: string, sidecar: Omit<Sidecar, "size" | "mtimeNs" | "ino">, cdir: string): Promise<BigIntStats> {
    const st = await stat(tmp, { bigint: true });
    const meta: Sidecar = { ...sidecar, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ino: st.ino.toString() };
    const metaTmp = this.tmpPath(cdir);
    await writeFile(metaTmp, JSON.stringify(meta), { flag: "wx" });
    const parent = dirname(dataPath);
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(parent, { recursive: true });
        await rename(tmp, dataPath);
        await rename(metaTmp, this.sidecarPath(dataPath));
        return st;
      } catch (e) {
        // A concurrent delete may prune the freshly made parent folder; make it again.
        if ((e as NodeJS.ErrnoException).code === "ENOENT" && attempt < 3) continue;
        await rm(metaTmp, { force: true });
        throw e;
      }
    }
  }

  async put(
    container: string,
    name: string,
    body: BlobBody,
    options: { contentType?: string; signal?: AbortSignal } = {},
  ): Promise<BlobInfo> {
    const dataPath = this.filePath(container, name);
    const cdir = await this.requireContainer(container);
    const tmp = this.tmpPath(cdir);
    const md5 = createHash("md5");
    const hasher = new Transform({
      transform(chunk: Uint8Array, _enc, cb) {
        md5.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await writeDurably(tmp, toReadable(body), [hasher], options.signal);
      const contentType = options.contentType ?? DEFAULT_CONTENT_TYPE;
      const contentMD5 = md5.digest("base64");
      const st = await this.publish(tmp, dataPath, { contentType, contentMD5 }, cdir);
      // Azure drops a blob's uncommitted blocks when the blob is written whole.
      await rm(this.stagingDir(container, name), { recursive: true, force: true });
      return this.infoOf(name, st, { contentType, contentMD5 });
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  private blockPath(container: string, name: string, blockId: string): string {
    // Azure: base64 of at most 64 bytes. Hex of the id string is file-name safe and unambiguous.
    if (!/^[A-Za-z0-9+/=_-]{1,100}$/.test(blockId)) {
      throw new BlobStoreError("InvalidBlockId", `invalid block id ${JSON.stringify(blockId)}`);
    }
    return join(this.stagingDir(container, name), Buffer.from(blockId, "utf8").toString("hex"));
  }

  async stageBlock(container: string, name: string, blockId: string, body: BlobBody): Promise<void> {
    validateBlobName(name);
    const target = this.blockPath(container, name, blockId);
    const cdir = await this.requireContainer(container);
    const tmp = this.tmpPath(cdir);
    try {
      await writeDurably(tmp, toReadable(body), []);
      await mkdir(this.stagingDir(container, name), { recursive: true });
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async commitBlocks(container: string, name: string, blockIds: string[], options: { contentType?: string } = {}): Promise<BlobInfo> {
    const dataPath = this.filePath(container, name);
    const cdir = await this.requireContainer(container);
    const paths = blockIds.map((id) => this.blockPath(container, name, id));
    for (let i = 0; i < paths.length; i++) {
      try {
        await stat(paths[i]);
      } catch (e) {
        if (isNotFound(e)) throw new BlobStoreError("InvalidBlockList", `block ${blockIds[i]} is not staged for ${name}`);
        throw e;
      }
    }
    const tmp = this.tmpPath(cdir);
    // Streams block after block; only one read buffer is alive at a time.
    async function* concatenated(): AsyncGenerator<Uint8Array> {
      for (const p of paths) yield* createReadStream(p) as AsyncIterable<Uint8Array>;
    }
    try {
      await writeDurably(tmp, Readable.from(concatenated()), []);
      const contentType = options.contentType ?? DEFAULT_CONTENT_TYPE;
      const st = await this.publish(tmp, dataPath, { contentType }, cdir);
      await rm(this.stagingDir(container, name), { recursive: true, force: true });
      return this.infoOf(name, st, { contentType });
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async stagedBlocks(container: string, name: string): Promise<StagedBlock[]> {
    validateBlobName(name);
    await this.requireContainer(container);
    const dir = this.stagingDir(container, name);
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
    const blocks: StagedBlock[] = [];
    for (const hex of entries.sort()) {
      try {
        blocks.push({ id: Buffer.from(hex, "hex").toString("utf8"), size: Number((await stat(join(dir, hex))).size) });
      } catch (e) {
        // Committed (and removed) meanwhile.
        if (!isNotFound(e)) throw e;
      }
    }
    return blocks;
  }

  private infoOf(name: string, st: BigIntStats, meta: { contentType?: string; contentMD5?: string } | undefined): BlobInfo {
    const info: BlobInfo = {
      name,
      size: Number(st.size),
      lastModified: new Date(Number(st.mtimeMs)),
      etag: etagOf(st),
      contentType: meta?.contentType ?? DEFAULT_CONTENT_TYPE,
    };
    if (meta?.contentMD5) info.contentMD5 = meta.contentMD5;
    return info;
  }

  private async readSidecar(dataPath: string, st: BigIntStats): Promise<Sidecar | undefined> {
    try {
      const m = JSON.parse(await readFile(this.sidecarPath(dataPath), "utf8")) as Sidecar;
      return m.size === Number(st.size) && m.mtimeNs === st.mtimeNs.toString() && m.ino === st.ino.toString() ? m : undefined;
    } catch {
      return undefined;
    }
  }

  async head(container: string, name: string): Promise<BlobInfo | undefined> {
    const dataPath = this.filePath(container, name);
    let st: BigIntStats;
    try {
      st = await stat(dataPath, { bigint: true });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (!st.isFile()) return undefined;
    return this.infoOf(name, st, await this.readSidecar(dataPath, st));
  }

  async get(container: string, name: string, range?: ByteRange): Promise<{ info: BlobInfo; body: AsyncIterable<Uint8Array> } | undefined> {
    const dataPath = this.filePath(container, name);
    let fh: FileHandle;
    try {
      fh = await open(dataPath, "r");
    } catch (e) {
      if (isNotFound(e) || (e as NodeJS.ErrnoException).code === "EISDIR") return undefined;
      throw e;
    }
    try {
      // Stat the open handle: a concurrent overwrite renames a new file in, this read keeps the old one.
      const st = await fh.stat({ bigint: true });
      const info = this.infoOf(name, st, await this.readSidecar(dataPath, st));
      const { start, end } = resolveRange(range, info.size);
      const body = end < start ? Readable.from([]) : fh.createReadStream({ start, end, autoClose: true });
      if (end < start) await fh.close();
      return { info, body };
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async read(container: string, name: string, range: Required<ByteRange>): Promise<Uint8Array> {
    const got = await this.get(container, name, range);
    if (!got) throw new BlobStoreError("BlobNotFound", `blob ${name} does not exist in ${container}`);
    const parts: Buffer[] = [];
    for await (const c of got.body) parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    return Buffer.concat(parts);
  }

  /** Folder path and name prefix where a listing with this prefix starts (deepest folder the prefix fully names). */
  private listStart(cdir: string, prefix: string): { dir: string; base: string } {
    const cut = prefix.lastIndexOf("/");
    if (cut < 0) return { dir: cdir, base: "" };
    const base = prefix.slice(0, cut + 1);
    const segs = base.slice(0, -1).split("/");
    for (const s of segs) if (s === "" || s === "." || s === "..") return { dir: "", base }; // no blob can match
    try {
      return { dir: join(cdir, ...segs.map((s) => encodeSegment(s) + DIR_SUFFIX)), base };
    } catch {
      return { dir: "", base };
    }
  }

  private async readDirSafe(dir: string) {
    if (dir === "") return [];
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
  }

  /** Every blob name below `dir` (whose names start with `base`) that can start with `prefix`. */
  private async walk(dir: string, base: string, prefix: string, out: string[]): Promise<void> {
    for (const ent of await this.readDirSafe(dir)) {
      if (ent.name.startsWith(".")) continue;
      if (ent.isDirectory() && ent.name.endsWith(DIR_SUFFIX)) {
        const sub = base + decodeSegment(ent.name.slice(0, -DIR_SUFFIX.length)) + "/";
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walk(join(dir, ent.name), sub, prefix, out);
      } else if (ent.isFile()) {
        const n = base + decodeSegment(ent.name);
        if (n.startsWith(prefix)) out.push(n);
      }
    }
  }

  /** True when a folder holds at least one blob (empty folders left by a crash are not listed). */
  private async hasBlob(dir: string): Promise<boolean> {
    for (const ent of await this.readDirSafe(dir)) {
      if (ent.name.startsWith(".")) continue;
      if (ent.isFile()) return true;
      if (ent.isDirectory() && ent.name.endsWith(DIR_SUFFIX) && (await this.hasBlob(join(dir, ent.name)))) return true;
    }
    return false;
  }

  async list(container: string, options: ListOptions = {}): Promise<ListResult> {
    const cdir = await this.requireContainer(container);
    const prefix = options.prefix ?? "";
    const { dir, base } = this.listStart(cdir, prefix);
    const candidates: ListEntry[] = [];
    const prefixDirs = new Map<string, string>();
    if (options.delimiter === "/") {
      // One folder level is enough: its sub-folders are exactly the virtual folders.
      for (const ent of await this.readDirSafe(dir)) {
        if (ent.name.startsWith(".")) continue;
        if (ent.isDirectory() && ent.name.endsWith(DIR_SUFFIX)) {
          const p = base + decodeSegment(ent.name.slice(0, -DIR_SUFFIX.length)) + "/";
          if (p.startsWith(prefix)) {
            candidates.push({ kind: "prefix", name: p });
            prefixDirs.set(p, join(dir, ent.name));
          }
        } else if (ent.isFile()) {
          const n = base + decodeSegment(ent.name);
          if (n.startsWith(prefix)) candidates.push({ kind: "blob", name: n });
        }
      }
    } else {
      const names: string[] = [];
      await this.walk(dir, base, prefix, names);
      for (const n of names) candidates.push({ kind: "blob", name: n });
    }
    const { page, nextMarker } = await pageEntries(
      candidates,
      { ...options, maxResults: options.maxResults ?? DEFAULT_MAX_RESULTS },
      async (e) => (e.kind === "prefix" && prefixDirs.has(e.name) ? this.hasBlob(prefixDirs.get(e.name) as string) : true),
    );
    const infos = new Map<string, BlobInfo>();
    for (const e of page) {
      if (e.kind !== "blob") continue;
      const info = await this.head(container, e.name);
      if (info) infos.set(e.name, info);
    }
    return toListResult(page, infos, nextMarker);
  }

  async delete(container: string, name: string): Promise<boolean> {
    const dataPath = this.filePath(container, name);
    const cdir = this.containerDir(container);
    await rm(this.stagingDir(container, name), { recursive: true, force: true });
    let existed = true;
    try {
      await unlink(dataPath);
    } catch (e) {
      if (!isNotFound(e) && (e as NodeJS.ErrnoException).code !== "EISDIR") throw e;
      existed = false;
    }
    if (!existed) return false;
    await rm(this.sidecarPath(dataPath), { force: true });
    // Prune folders that became empty, up to the container folder.
    let dir = dirname(dataPath);
    while (dir.length > cdir.length && dir.startsWith(cdir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
    return true;
  }

  /**
   * Removes what interrupted work left behind: staged blocks never committed and temp files of writes that died,
   * older than `maxAgeMs` (Azure drops uncommitted blocks after 7 days), plus containers half-deleted by a crash.
   * Returns how many entries were removed. Meant for a periodic housekeeping task.
   */
  async sweep(maxAgeMs = 7 * 24 * 3600_000, now = Date.now()): Promise<number> {
    let removed = 0;
    const removeOld = async (dir: string) => {
      for (const ent of await this.readDirSafe(dir)) {
        const p = join(dir, ent.name);
        try {
          if (now - (await stat(p)).mtimeMs > maxAgeMs) {
            await rm(p, { recursive: true, force: true });
            removed++;
          }
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
    };
    for (const ent of await this.readDirSafe(this.rootDir)) {
      if (!ent.isDirectory()) continue;
      if (ent.name === ".trash") {
        for (const t of await this.readDirSafe(join(this.rootDir, ".trash"))) {
          try {
            await rm(join(this.rootDir, ".trash", t.name), { recursive: true, force: true });
            removed++;
          } catch {
            // A deleteContainer running right now removes it too.
          }
        }
        continue;
      }
      await removeOld(join(this.rootDir, ent.name, ".tmp"));
      await removeOld(join(this.rootDir, ent.name, ".staging"));
    }
    return removed;
  }

  async containerSize(container: string): Promise<number> {
    const cdir = await this.requireContainer(container);
    let total = 0;
    const visit = async (dir: string): Promise<void> => {
      for (const ent of await this.readDirSafe(dir)) {
        if (ent.name.startsWith(".")) continue;
        const p = join(dir, ent.name);
        if (ent.isDirectory()) await visit(p);
        else if (ent.isFile()) {
          try {
            total += (await stat(p)).size;
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
        }
      }
    };
    await visit(cdir);
    return total;
  }
}

/**
 * Inclusive byte range to read. Like Azure: a range starting at or past the end is InvalidRange (416), except a
 * plain "from 0" on an empty blob; a range running past the end is cut at the end.
 */
export function resolveRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (!range) return { start: 0, end: size - 1 };
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new BlobStoreError("InvalidRange", `invalid range ${JSON.stringify(range)}`);
  }
  if (offset === 0 && length === undefined) return { start: 0, end: size - 1 };
  if (offset >= size || length === 0) {
    throw new BlobStoreError("InvalidRange", `range ${offset}+${length ?? "end"} is not satisfiable for ${size} bytes`);
  }
  const end = length === undefined ? size - 1 : Math.min(size - 1, offset + length - 1);
  return { start: offset, end };
}
