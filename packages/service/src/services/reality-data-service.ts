/**
 * The Reality Management use cases (the part jobs need): reality data records, their iTwin
 * associations, and container access URLs.
 *
 * Rights, as the hosted service grants them per iTwin (realconv's members hold every permission of
 * their iTwin):
 * - use (details, iTwins, read access): the owner, or a member of an iTwin it is associated with;
 *   anyone else gets 404, as if it did not exist;
 * - manage (update, write access, delete, move, associate to another iTwin): the owner, or a member of
 *   its own iTwin (the one it was created in or moved to) while still associated with it. Associated
 *   iTwins share the data; they do not run it;
 * - dissociate from an iTwin: a member of that iTwin (taking it out of their own iTwin), or a manager.
 * A caller who may use it but lacks the right gets 403 InsufficientPermissions.
 */
import { randomUUID } from "node:crypto";
import { ApiError, errors } from "../domain/errors.js";
import { isGuid, parseRealityDataBody } from "../domain/reality-data.js";
import type { Principal } from "../ports/auth.js";
import type { BlobStore, ContainerAccess, ContainerAccessLevel } from "../ports/blob-store.js";
import type { ITwinRegistry } from "../ports/itwins.js";
import type { RealityData, RealityDataQuery, RealityDataStore } from "../ports/reality-data.js";

/** Container URLs stay valid this long; clients refresh after 50 minutes. */
export const SAS_LIFETIME_MS = 2 * 60 * 60 * 1000;

export interface RealityDataServiceDeps {
  realityData: RealityDataStore;
  itwins: ITwinRegistry;
  blobs: BlobStore;
}

export interface ListParams {
  iTwinId?: string;
  top?: string;
  continuationToken?: string;
  orderBy?: string;
  search?: string;
  types?: string[];
  extent?: string;
  ownerId?: string;
  tag?: string;
  createdDateTime?: string;
  modifiedDateTime?: string;
  lastAccessedDateTime?: string;
  acquisitionDateTime?: string;
  dataCenter?: string;
}

const invalid = (target: string, message: string) => errors.unprocessable("management", [{ code: "InvalidParameter", message, target }]);

function parseRange(target: string, v: string | undefined): [string | undefined, string | undefined] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split("/");
  if (parts.length !== 2) throw invalid(target, `${target} must be 'start/end' (ISO-8601 date-times; either side may be empty).`);
  return parts.map((p) => {
    if (p.trim() === "") return undefined;
    const t = Date.parse(p);
    if (Number.isNaN(t)) throw invalid(target, `${target} has an invalid date-time '${p}'.`);
    return new Date(t).toISOString();
  }) as [string | undefined, string | undefined];
}

const ORDER_FIELDS = ["displayName", "createdDateTime", "modifiedDateTime", "lastAccessedDateTime", "size", "type", "id"] as const;

/** Offset cursor, as the hosted service's (`{"top":100,"skip":100}`, base64url). */
function encodeToken(top: number, skip: number): string {
  return Buffer.from(JSON.stringify({ top, skip })).toString("base64url");
}

function decodeToken(token: string): { top: number; skip: number } {
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { top?: unknown; skip?: unknown };
    // Tokens come back from clients: a page of at most 1000, an offset SQL can take.
    if (Number.isInteger(v.top) && Number.isSafeInteger(v.skip) && (v.top as number) >= 1 && (v.top as number) <= 1000 && (v.skip as number) >= 0) {
      return { top: v.top as number, skip: v.skip as number };
    }
  } catch {
    /* fall through */
  }
  throw invalid("continuationToken", "The continuationToken is not valid.");
}

export class RealityDataService {
  constructor(private readonly deps: RealityDataServiceDeps) {}

  /** The reality data, its iTwins and whether the caller may manage it; 404 when they may not use it. */
  private async access(principal: Principal, id: string, iTwinId?: string): Promise<{ rd: RealityData; iTwins: string[]; manage: boolean }> {
    if (!isGuid(id)) throw errors.realityDataNotFound();
    if (iTwinId !== undefined && !isGuid(iTwinId)) throw invalid("iTwinId", "iTwinId must be a GUID.");
    const rd = await this.deps.realityData.get(id.toLowerCase());
    if (!rd) throw errors.realityDataNotFound();
    const iTwins = await this.deps.realityData.iTwins(rd.id);
    const through = iTwinId === undefined ? iTwins : iTwins.filter((t) => t === iTwinId.toLowerCase());
    const owner = rd.ownerId === principal.userId;
    const memberOf: string[] = [];
    for (const t of through) if (await this.deps.itwins.isMember(t, principal.email)) memberOf.push(t);
    const usable = owner ? iTwinId === undefined || through.length > 0 : memberOf.length > 0;
    if (!usable) throw errors.realityDataNotFound();
    const ownITwinMember =
      iTwins.includes(rd.iTwinId) && (memberOf.includes(rd.iTwinId) || (await this.deps.itwins.isMember(rd.iTwinId, principal.email)));
    return { rd, iTwins, manage: owner || ownITwinMember };
  }

  /** As access, and the caller must be allowed to manage it. */
  private async managed(principal: Principal, id: string, iTwinId?: string): Promise<{ rd: RealityData; iTwins: string[] }> {
    const a = await this.access(principal, id, iTwinId);
    if (!a.manage) throw errors.insufficientPermissions();
    return a;
  }

  /** The reality data if the caller may use it (optionally through a given iTwin), else 404. */
  async get(principal: Principal, id: string, iTwinId?: string): Promise<RealityData> {
    return (await this.access(principal, id, iTwinId)).rd;
  }

  async create(principal: Principal, body: unknown): Promise<RealityData> {
    const fields = parseRealityDataBody(body, "create");
    if (!(await this.deps.itwins.isMember(fields.iTwinId!, principal.email))) throw errors.insufficientPermissions();
    const id = randomUUID();
    await this.deps.blobs.createContainer(id);
    return this.deps.realityData.create({
      ...fields,
      id,
      iTwinId: fields.iTwinId!,
      displayName: fields.displayName!,
      type: fields.type!,
      classification: fields.classification ?? "Undefined",
      authoring: fields.authoring ?? false,
      ownerId: principal.userId,
      createdDateTime: new Date().toISOString(),
    });
  }

  async update(principal: Principal, id: string, body: unknown): Promise<RealityData> {
    const { rd } = await this.managed(principal, id);
    const fields = parseRealityDataBody(body, "update");
    const updated = await this.deps.realityData.update(rd.id, fields, new Date().toISOString());
    if (!updated) throw errors.realityDataNotFound();
    return updated;
  }

  async delete(principal: Principal, id: string): Promise<void> {
    const { rd, iTwins } = await this.managed(principal, id);
    if (iTwins.length > 1) {
      throw errors.unprocessable("management", [
        { code: "AssociationExists", message: "To delete a reality data, it must be associated to only one (or zero) iTwin.", target: "id" },
      ]);
    }
    await this.deps.realityData.delete(rd.id);
    await this.deps.blobs.deleteContainer(rd.id);
  }

  async associate(principal: Principal, id: string, iTwinId: string): Promise<{ id: string; iTwinId: string }> {
    const { rd } = await this.managed(principal, id);
    if (!isGuid(iTwinId) || !(await this.deps.itwins.isMember(iTwinId, principal.email))) throw errors.iTwinNotFound();
    if (!(await this.deps.realityData.associate(rd.id, iTwinId.toLowerCase()))) {
      throw new ApiError(409, "AssociationExists", "The reality data is already associated with this iTwin.");
    }
    return { id: rd.id, iTwinId: iTwinId.toLowerCase() };
  }

  async dissociate(principal: Principal, id: string, iTwinId: string): Promise<void> {
    const { rd, manage } = await this.access(principal, id);
    const notAssociated = () => new ApiError(404, "AssociationNotFound", "The reality data is not associated with this iTwin.");
    if (!isGuid(iTwinId)) throw notAssociated();
    if (!manage && !(await this.deps.itwins.isMember(iTwinId, principal.email))) throw errors.insufficientPermissions();
    if (!(await this.deps.realityData.dissociate(rd.id, iTwinId.toLowerCase()))) throw notAssociated();
  }

  async iTwins(principal: Principal, id: string): Promise<string[]> {
    return (await this.access(principal, id)).iTwins;
  }

  async move(principal: Principal, id: string, body: unknown): Promise<void> {
    const { rd, iTwins: current } = await this.managed(principal, id);
    const target = (body as { iTwinId?: unknown } | null)?.iTwinId;
    if (!isGuid(target)) throw errors.unprocessable("management", [{ code: "InvalidProperty", message: "iTwinId must be a GUID.", target: "iTwinId" }]);
    const to = target.toLowerCase();
    if (!(await this.deps.itwins.isMember(to, principal.email))) throw errors.insufficientPermissions();
    if (current.length > 1) {
      throw errors.unprocessable("management", [
        { code: "AssociationExists", message: "A reality data associated with more than one iTwin cannot be moved.", target: "id" },
      ]);
    }
    if (current.includes(to)) throw new ApiError(409, "AlreadyExists", "Reality data is already within the given iTwin.");
    await this.deps.realityData.move(rd.id, to);
  }

  async containerUrl(principal: Principal, id: string, access: ContainerAccessLevel, containers: ContainerAccess, iTwinId?: string): Promise<string> {
    const { rd } = access === "Write" ? await this.managed(principal, id, iTwinId) : await this.access(principal, id, iTwinId);
    if (!(await this.deps.blobs.containerExists(rd.id))) await this.deps.blobs.createContainer(rd.id);
    return containers.containerUrl(rd.id, access, new Date(Date.now() + SAS_LIFETIME_MS));
  }

  /** Re-reads the container's size (kilobytes) into the record; returns the record when it changed. */
  async refreshSize(id: string): Promise<RealityData | undefined> {
    if (!(await this.deps.blobs.containerExists(id))) return undefined;
    const size = Math.ceil((await this.deps.blobs.containerSize(id)) / 1024);
    const current = await this.deps.realityData.get(id);
    if (!current || current.size === size) return undefined;
    return this.deps.realityData.update(id, { size }, new Date().toISOString());
  }

  async list(principal: Principal, p: ListParams): Promise<{ items: RealityData[]; continuationToken?: string }> {
    let top = 100;
    let skip = 0;
    if (p.continuationToken !== undefined) ({ top, skip } = decodeToken(p.continuationToken));
    if (p.top !== undefined) {
      const n = Number(p.top);
      if (!/^\d+$/.test(p.top) || n < 1 || n > 1000) {
        throw errors.unprocessable("management", [{ code: "InvalidParameter", message: "The field Top must be between 1 and 1000.", target: "$Top" }]);
      }
      top = n;
    }
    let iTwinIds: string[];
    if (p.iTwinId !== undefined) {
      if (!isGuid(p.iTwinId) || !(await this.deps.itwins.isMember(p.iTwinId, principal.email))) throw errors.iTwinNotFound();
      iTwinIds = [p.iTwinId.toLowerCase()];
    } else {
      iTwinIds = (await this.deps.itwins.listForMember(principal.email)).map((t) => t.id);
    }
    let orderBy: RealityDataQuery["orderBy"] = { field: "createdDateTime", descending: false };
    if (p.orderBy) {
      const m = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(p.orderBy);
      const field = m && ORDER_FIELDS.find((f) => f.toLowerCase() === m[1].toLowerCase());
      if (!m || !field) throw invalid("$orderBy", `$orderBy must be one of ${ORDER_FIELDS.join(", ")}, optionally followed by asc or desc.`);
      orderBy = { field, descending: (m[2] ?? "asc").toLowerCase() === "desc" };
    }
    let extent: [number, number, number, number] | undefined;
    if (p.extent !== undefined) {
      const v = p.extent.split(",").map((x) => Number(x.trim()));
      if (v.length !== 4 || v.some((x) => !Number.isFinite(x)) || Math.abs(v[1]) > 90 || Math.abs(v[3]) > 90 || Math.abs(v[0]) > 180 || Math.abs(v[2]) > 180) {
        throw invalid("extent", "extent must be 'SW_lon,SW_lat,NE_lon,NE_lat' in degrees.");
      }
      extent = [v[0], Math.min(v[1], v[3]), v[2], Math.max(v[1], v[3])];
    }
    const types = p.types?.flatMap((t) => t.split(",")).map((t) => t.trim()).filter((t) => t !== "");
    if (p.dataCenter !== undefined && p.dataCenter.toLowerCase() !== "local") return { items: [] };
    const page = await this.deps.realityData.list({
      iTwinIds,
      types: types?.length ? types : undefined,
      search: p.search?.trim() || undefined,
      ownerId: p.ownerId,
      tag: p.tag,
      extent,
      createdDateTime: parseRange("createdDateTime", p.createdDateTime),
      modifiedDateTime: parseRange("modifiedDateTime", p.modifiedDateTime),
      lastAccessedDateTime: parseRange("lastAccessedDateTime", p.lastAccessedDateTime),
      acquisitionDateTime: parseRange("acquisitionDateTime", p.acquisitionDateTime),
      orderBy,
      skip,
      top,
    });
    return { items: page.items, continuationToken: page.more ? encodeToken(top, skip + top) : undefined };
  }
}
