/**
 * Files that vector readers need on the local disk or unpacked: zip archives (zipped shapefile sets, KMZ)
 * unpacked into the run's scratch folder, and files copied there (a GeoPackage is a SQLite database,
 * which SQLite opens by path). Entries are streamed, never held whole; the scratch budget is checked.
 */
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yauzl from "yauzl";
import { FormatError } from "@realconv/formats";
import { ConversionError, type InputFile, type ScratchSpace } from "../contract/runner.js";
import { localInputFile } from "../host/local-io.js";

/** Bytes of scratch space the run has used so far (archives unpacked, files copied). */
export class ScratchUse {
  private used = 0;
  constructor(readonly scratch: ScratchSpace) {}
  take(bytes: number, what: string): void {
    this.used += bytes;
    if (this.used > this.scratch.budgetBytes) {
      throw new ConversionError("InsufficientScratchSpace", "Not enough scratch space", "%1 needs more scratch space than the %2 MB the conversion may use (REALCONV_SCRATCH_MB).", [
        what,
        String(Math.round(this.scratch.budgetBytes / 2 ** 20)),
      ]);
    }
  }
}

class InputFileReader extends yauzl.RandomAccessReader {
  constructor(private readonly file: InputFile) {
    super();
  }
  override _readStreamForRange(start: number, end: number): Readable {
    const file = this.file;
    return Readable.from(
      (async function* () {
        for (let at = start; at < end; ) {
          const part = await file.read(at, Math.min(1 << 20, end - at));
          if (part.byteLength === 0) throw new Error("unexpected end of file");
          at += part.byteLength;
          yield part;
        }
      })(),
    );
  }
}

function openZip(file: InputFile): Promise<yauzl.ZipFile> {
  return new Promise((ok, ko) => {
    yauzl.fromRandomAccessReader(new InputFileReader(file), file.size, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? ko(err) : ok(zip)));
  });
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((ok, ko) => zip.openReadStream(entry, (err, stream) => (err ? ko(err) : ok(stream))));
}

/** Unpacks a zip archive into a new folder under the scratch folder; returns its files. */
export async function unpackZip(file: InputFile, use: ScratchUse, signal: AbortSignal): Promise<InputFile[]> {
  const label = file.path || file.name;
  const bad = (e: unknown) => new FormatError(`not a readable zip archive: ${(e as Error).message}`, label, 0);
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (e) {
    throw bad(e);
  }
  const dir = await mkdtemp(join(use.scratch.dir, "zip-"));
  const files: InputFile[] = [];
  try {
    await new Promise<void>((ok, ko) => {
      zip.on("error", (e) => ko(bad(e)));
      zip.on("end", () => ok());
      zip.on("entry", (entry: yauzl.Entry) => {
        void (async () => {
          if (signal.aborted) throw signal.reason;
          if (!entry.fileName.endsWith("/") && !entry.fileName.startsWith("__MACOSX/")) {
            const target = resolve(dir, entry.fileName);
            if (!target.startsWith(dir + sep)) throw new FormatError(`an entry's name leaves the archive: ${entry.fileName}`, label, 0);
            use.take(entry.uncompressedSize, label);
            await mkdir(dirname(target), { recursive: true });
            await pipeline(await entryStream(zip, entry), createWriteStream(target), { signal });
            files.push(await localInputFile(target, `${file.path}/${entry.fileName}`));
          }
          zip.readEntry();
        })().catch((e) => ko(e instanceof FormatError || e instanceof ConversionError || signal.aborted ? e : bad(e)));
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return files;
}

/** A copy of the file in the scratch folder (for readers that need a path); returns its path. */
export async function copyToScratch(file: InputFile, use: ScratchUse, signal: AbortSignal): Promise<string> {
  use.take(file.size, file.path || file.name);
  const dir = await mkdtemp(join(use.scratch.dir, "copy-"));
  const target = join(dir, file.name.replace(/[^\w.-]/g, "_") || "file");
  await pipeline(Readable.from(file.stream(signal)), createWriteStream(target), { signal });
  return target;
}
