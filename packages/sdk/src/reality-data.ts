/** Reality Management v1: `/reality-management/reality-data` and the files of their containers. */
import type { Transport } from "./http.js";
import { downloadFiles, openSources, readBlob, type DownloadOptions, type UploadInput } from "#platform";
import { listFiles, uploadSources, type RemoteFile, type UploadedFile, type UploadOptions } from "./transfer.js";
import type {
  ContainerAccessResponse,
  RealityData,
  RealityDataCreation,
  RealityDataQuery,
  RealityDataSummary,
  RealityDataUpdate,
} from "./reality-data-types.js";

const BASE = "/reality-management/reality-data";
const path = (id: string, rest = "") => `${BASE}/${encodeURIComponent(id)}${rest}`;

interface RealityDataPage<T> {
  realityData: T[];
  _links?: { next?: { href: string } };
}

export class RealityDataClient {
  constructor(private readonly http: Transport) {}

  async create(body: RealityDataCreation, options: { signal?: AbortSignal } = {}): Promise<RealityData> {
    return (await this.http.json<{ realityData: RealityData }>("management", BASE, { method: "POST", body, signal: options.signal })).realityData;
  }

  /** A reality data; `iTwinId` names the iTwin it is read through (any of its iTwins by default). */
  async get(id: string, options: { iTwinId?: string; signal?: AbortSignal } = {}): Promise<RealityData> {
    const r = await this.http.json<{ realityData: RealityData }>("management", path(id), { query: { iTwinId: options.iTwinId }, signal: options.signal });
    return r.realityData;
  }

  async update(id: string, patch: RealityDataUpdate, options: { signal?: AbortSignal } = {}): Promise<RealityData> {
    return (await this.http.json<{ realityData: RealityData }>("management", path(id), { method: "PATCH", body: patch, signal: options.signal })).realityData;
  }

  /** Deletes a reality data and its files. */
  async delete(id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.http.send("management", path(id), { method: "DELETE", signal: options.signal });
  }

  /**
   * Every reality data matching the query, page after page (following `_links.next`): ids, names and types, or
   * every field with `full: true`.
   */
  list(query?: RealityDataQuery & { full?: false; signal?: AbortSignal }): AsyncGenerator<RealityDataSummary>;
  list(query: RealityDataQuery & { full: true; signal?: AbortSignal }): AsyncGenerator<RealityData>;
  async *list(query: RealityDataQuery & { full?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<RealityDataSummary | RealityData> {
    const { full, signal, top, orderBy, search, types, ...rest } = query;
    const headers: Record<string, string> = full ? { prefer: "return=representation" } : {};
    let next: string | undefined = this.http.url(BASE, { ...rest, $top: top, $orderBy: orderBy, $search: search, types: types?.join(",") });
    while (next) {
      const page: RealityDataPage<RealityData> = await this.http.json("management", next, { headers, signal });
      yield* page.realityData;
      next = page._links?.next?.href;
    }
  }

  /** The SAS URL of a reality data's container: `Read` lists and reads, `Write` also writes and deletes. */
  async containerUrl(id: string, access: "Read" | "Write", options: { iTwinId?: string; signal?: AbortSignal } = {}): Promise<string> {
    const r = await this.http.json<ContainerAccessResponse>("management", path(id, `/${access.toLowerCase()}access`), {
      query: { iTwinId: options.iTwinId },
      signal: options.signal,
    });
    return r._links.containerUrl.href;
  }

  /**
   * Uploads files into a reality data's container: paths (Node.js; a folder uploads what it holds, by relative
   * path), Files, Blobs with a name, or bytes under a name. Large files go in blocks; running the same upload again
   * after an interruption sends only the blocks the container does not hold yet (see `transfer.ts`).
   */
  async upload(id: string, files: readonly UploadInput[], options: UploadOptions = {}): Promise<UploadedFile[]> {
    const sources = await openSources(files);
    return uploadSources(await this.containerUrl(id, "Write", { signal: options.signal }), sources, options);
  }

  /** The files of a reality data, with URLs a viewer can open (valid for the container URL's lifetime). */
  async *files(id: string, options: { prefix?: string; signal?: AbortSignal } = {}): AsyncGenerator<RemoteFile> {
    yield* listFiles(await this.containerUrl(id, "Read", { signal: options.signal }), options);
  }

  /** One file's content (from `files()`), as a Blob; in Node.js, `download` streams to disk instead. */
  readFile(file: RemoteFile, options: { signal?: AbortSignal } = {}): Promise<Blob> {
    return readBlob(file, options.signal);
  }

  /** Node.js: downloads every file of a reality data into a folder, keeping their paths; returns the paths. */
  async download(id: string, dest: string, options: DownloadOptions = {}): Promise<string[]> {
    const files: RemoteFile[] = [];
    for await (const f of this.files(id, { signal: options.signal })) files.push(f);
    return downloadFiles(files, dest, options);
  }
}
