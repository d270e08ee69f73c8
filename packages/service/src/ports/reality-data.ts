/**
 * Reality data records (the metadata; the files live in a container of the BlobStore named by the id).
 */
/** Geographic extent in WGS84 degrees: the same shape runners declare for their outputs. */
export type { Extent } from "@realconv/convert";
import type { Extent } from "@realconv/convert";

export interface RealityData {
  id: string;
  displayName: string;
  dataset?: string;
  group?: string;
  description?: string;
  attribution?: string;
  termsOfUse?: string;
  rootDocument?: string;
  /** Kilobytes. */
  size: number;
  classification: string;
  type: string;
  tags?: string[];
  acquisition?: { startDateTime?: string; endDateTime?: string; acquirer?: string };
  extent?: Extent;
  crs?: { id?: string; verticalId?: string };
  authoring: boolean;
  dataCenterLocation: string;
  modifiedDateTime: string;
  lastAccessedDateTime: string;
  createdDateTime: string;
  ownerId: string;
  /** Its own iTwin: the one it was created in or moved to (not on the wire; associations are). */
  iTwinId: string;
}

export type NewRealityData = Omit<RealityData, "size" | "modifiedDateTime" | "lastAccessedDateTime" | "dataCenterLocation"> & {
  size?: number;
};

export type RealityDataPatch = Partial<
  Pick<
    RealityData,
    | "displayName"
    | "dataset"
    | "group"
    | "description"
    | "attribution"
    | "termsOfUse"
    | "rootDocument"
    | "size"
    | "classification"
    | "type"
    | "tags"
    | "acquisition"
    | "extent"
    | "crs"
    | "authoring"
    | "ownerId"
  >
>;

export interface RealityDataQuery {
  /** Only reality data associated with one of these iTwins. */
  iTwinIds: string[];
  types?: string[];
  /** Case-insensitive substring of displayName or description. */
  search?: string;
  ownerId?: string;
  tag?: string;
  /** Intersects [west, south, east, north] in degrees. */
  extent?: [number, number, number, number];
  createdDateTime?: [string | undefined, string | undefined];
  modifiedDateTime?: [string | undefined, string | undefined];
  lastAccessedDateTime?: [string | undefined, string | undefined];
  acquisitionDateTime?: [string | undefined, string | undefined];
  orderBy: { field: "displayName" | "createdDateTime" | "modifiedDateTime" | "lastAccessedDateTime" | "size" | "type" | "id"; descending: boolean };
  skip: number;
  top: number;
}

export interface RealityDataStore {
  /** A page of reality data matching the query, and whether more follow. */
  list(query: RealityDataQuery): Promise<{ items: RealityData[]; more: boolean }>;
  create(data: NewRealityData): Promise<RealityData>;
  get(id: string): Promise<RealityData | undefined>;
  /** Several at once (job creation checks all inputs). */
  getMany(ids: string[]): Promise<RealityData[]>;
  update(id: string, patch: RealityDataPatch, now: string): Promise<RealityData | undefined>;
  delete(id: string): Promise<boolean>;
  /** iTwins the reality data is associated with (its own first). */
  iTwins(id: string): Promise<string[]>;
  associate(id: string, iTwinId: string): Promise<boolean>;
  dissociate(id: string, iTwinId: string): Promise<boolean>;
  /** Makes `iTwinId` the reality data's own iTwin and its only association, at once. */
  move(id: string, iTwinId: string): Promise<void>;
}
