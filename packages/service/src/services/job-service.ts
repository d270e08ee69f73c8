/**
 * The Reality Conversion use cases: create, list, read, cancel jobs. Knows the ports, not HTTP or SQL.
 * Access rule: a caller sees a job they created, or any job of an iTwin they are a member of.
 */
import { randomUUID } from "node:crypto";
import { findRunner, type JobMessage } from "@realconv/convert";
import { errors, ApiError } from "../domain/errors.js";
import { type Job, type JobProgress } from "../domain/job.js";
import { parseFilter, FilterSyntaxError, iTwinScope, type FilterNode, type ITwinScope } from "../domain/filter/index.js";
import { parseJobCreation, checkInputTypes, outputRealityDataType, JOB_TYPE_RULES } from "../domain/specifications.js";
import type { Principal } from "../ports/auth.js";
import type { ITwinRegistry } from "../ports/itwins.js";
import type { JobCursor, JobRepository } from "../ports/job-repository.js";
import type { RealityDataStore } from "../ports/reality-data.js";
import type { BlobStore } from "../ports/blob-store.js";

export const DEFAULT_TOP = 100;
export const MAX_TOP = 1000;

export interface ListJobsParams {
  filter: string | undefined;
  top: string | undefined;
  continuationToken: string | undefined;
}

export interface ListJobsResult {
  /** The jobs' wire JSON, comma-separated, UTF-8 (see JobJsonPage). */
  jobsJson: Uint8Array;
  /** Token for the next page, when there is one. */
  continuationToken?: string;
  top: number;
}

/** Keyset cursor, opaque to clients: base64url of "v2:<createdAt>:<job id>". */
export function encodeToken(cursor: JobCursor): string {
  return Buffer.from(`v2:${cursor.createdAt}:${cursor.id}`).toString("base64url");
}

export function decodeToken(token: string): JobCursor {
  const m = /^v2:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(
    Buffer.from(token, "base64url").toString("utf8"),
  );
  if (!m) throw errors.invalidContinuationToken();
  return { createdAt: m[1], id: m[2] };
}

export function parseTop(top: string | undefined): number {
  if (top === undefined) return DEFAULT_TOP;
  if (!/^\d{1,7}$/.test(top.trim())) throw errors.invalidTop();
  const n = Number(top.trim());
  if (n < 1 || n > MAX_TOP) throw errors.invalidTop();
  return n;
}

export interface JobServiceDeps {
  jobs: JobRepository;
  itwins: ITwinRegistry;
  realityData: RealityDataStore;
  blobs: BlobStore;
  /** Wakes idle workers after a job is queued (optional: they also poll). */
  notify?: () => void;
}

interface ParsedFilter {
  ast: FilterNode;
  scope: ITwinScope;
}

export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  private readonly filters = new Map<string, ParsedFilter>();

  async create(principal: Principal, body: unknown): Promise<Job> {
    const creation = parseJobCreation(body);
    if (!(await this.deps.itwins.isMember(creation.iTwinId, principal.email))) throw errors.iTwinNotFound();

    const runner = findRunner(creation.type, creation.outputFormat);
    if (!runner) {
      const what = creation.outputFormat ? `${creation.type} to ${creation.outputFormat}` : creation.type;
      throw errors.unprocessable("conversion", [
        {
          code: "UnsupportedFormat",
          message: `${what} is not supported by this server yet.`,
          target: creation.outputFormat ? "specifications.options.outputFormat" : "type",
        },
      ]);
    }

    const refused = runner.refuses?.(creation.options);
    if (refused) {
      throw errors.unprocessable("conversion", [{ code: "UnsupportedOption", message: refused.message, target: `specifications.options.${refused.option}` }]);
    }

    // Every input must exist and belong to an iTwin the caller is a member of.
    const found = await this.deps.realityData.getMany(creation.inputIds);
    const byId = new Map(found.map((rd) => [rd.id, rd]));
    const typesById = new Map<string, string>();
    for (const [key, value] of Object.entries(creation.inputs)) {
      for (const id of Array.isArray(value) ? value : [value]) {
        const rd = byId.get(id);
        const visible = rd && (await this.canUseRealityData(principal, rd.id));
        if (!rd || !visible) {
          throw errors.unprocessable("conversion", [
            { code: "InvalidInput", message: `Reality data '${id}' was not found or is not accessible.`, target: `specifications.inputs.${key}` },
          ]);
        }
        typesById.set(id, rd.type);
      }
    }
    checkInputTypes(creation, typesById);

    const now = new Date().toISOString();
    const out = outputRealityDataType(creation.type, creation.outputFormat);
    const outputId = randomUUID();
    await this.deps.blobs.createContainer(outputId);
    await this.deps.realityData.create({
      id: outputId,
      iTwinId: creation.iTwinId,
      displayName: `${creation.name ?? creation.type} output`,
      type: out.type,
      classification: JOB_TYPE_RULES[creation.type].declaration.outputClassification,
      rootDocument: out.rootDocument,
      authoring: true,
      ownerId: principal.userId,
      createdDateTime: now,
      description: `Output of Reality Conversion job ${creation.type}`,
    });

    const options = creation.options;
    const job = await this.deps.jobs.create({
      id: randomUUID(),
      name: creation.name,
      type: creation.type,
      iTwinId: creation.iTwinId,
      userId: principal.userId,
      email: principal.email,
      createdDateTime: now,
      specifications: { inputs: creation.inputs, output: outputId, ...(Object.keys(options).length > 0 ? { options } : {}) },
    });
    this.deps.notify?.();
    return job;
  }

  private async canUseRealityData(principal: Principal, id: string): Promise<boolean> {
    for (const itwin of await this.deps.realityData.iTwins(id)) {
      if (await this.deps.itwins.isMember(itwin, principal.email)) return true;
    }
    return false;
  }

  async list(principal: Principal, params: ListJobsParams): Promise<ListJobsResult> {
    const top = parseTop(params.top);
    if (params.filter === undefined || params.filter.trim() === "") throw errors.invalidFilter("the $filter parameter is required");
    const { ast, scope } = this.parsedFilter(params.filter);
    const after = params.continuationToken !== undefined ? decodeToken(params.continuationToken) : undefined;
    if (scope.kind === "itwins") {
      for (const id of scope.ids) {
        if (!(await this.deps.itwins.isMember(id, principal.email))) throw errors.iTwinNotFound();
      }
    }
    const page = await this.deps.jobs.listJson({
      filter: ast,
      userId: scope.kind === "none" ? principal.userId : undefined,
      after,
      limit: top,
    });
    return { jobsJson: page.json, top, continuationToken: page.next !== undefined ? encodeToken(page.next) : undefined };
  }

  /**
   * A filter's AST and iTwin scope. Clients repeat the same few filters (polling, paging through a
   * listing), so parsed filters are kept (bounded, oldest dropped first); ASTs are never mutated.
   */
  private parsedFilter(text: string): ParsedFilter {
    let parsed = this.filters.get(text);
    if (parsed === undefined) {
      let ast;
      try {
        ast = parseFilter(text);
      } catch (e) {
        if (e instanceof FilterSyntaxError) throw errors.invalidFilter(e.message);
        throw e;
      }
      parsed = { ast, scope: iTwinScope(ast) };
      if (this.filters.size >= 500) this.filters.delete(this.filters.keys().next().value!);
      this.filters.set(text, parsed);
    }
    return parsed;
  }

  /** A job the caller may see, or 404 JobNotFound (never 403: no hint that it exists). */
  async get(principal: Principal, id: string): Promise<Job> {
    if (!isGuid(id)) throw errors.jobNotFound();
    const stored = await this.deps.jobs.get(id.toLowerCase());
    if (!stored) throw errors.jobNotFound();
    const job = stored.job;
    if (job.userId !== principal.userId && !(await this.deps.itwins.isMember(job.iTwinId, principal.email))) throw errors.jobNotFound();
    return job;
  }

  async cancel(principal: Principal, id: string): Promise<Job> {
    const job = await this.get(principal, id);
    const after = await this.deps.jobs.requestCancel(job.id, new Date().toISOString());
    if (!after) throw errors.jobNotFound();
    return after;
  }

  async progress(principal: Principal, id: string): Promise<JobProgress> {
    const job = await this.get(principal, id);
    const p = await this.deps.jobs.progress(job.id);
    if (!p) throw errors.jobNotFound();
    return p;
  }

  async messages(principal: Principal, id: string): Promise<{ errors: JobMessage[]; warnings: JobMessage[] }> {
    const job = await this.get(principal, id);
    const m = await this.deps.jobs.messages(job.id);
    if (!m) throw errors.jobNotFound();
    return m;
  }
}

export function isGuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

export { ApiError };
