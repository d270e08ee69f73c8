/**
 * Reality Management v1 shapes (the part jobs need), as the hosted service and realconv send them. realconv's
 * service checks these against its own records in a test.
 */

export interface Extent {
  southWest: { latitude: number; longitude: number };
  northEast: { latitude: number; longitude: number };
}

export interface Acquisition {
  startDateTime?: string;
  endDateTime?: string;
  acquirer?: string;
}

export interface Crs {
  id?: string;
  verticalId?: string;
}

export type Classification = "Terrain" | "Imagery" | "Pinned" | "Model" | "Undefined";

/** A reality data: the metadata of one container of files. */
export interface RealityData {
  id: string;
  displayName: string;
  dataset?: string;
  group?: string;
  description?: string;
  attribution?: string;
  termsOfUse?: string;
  /** The file a viewer opens first (`tileset.json`), relative to the container. */
  rootDocument?: string;
  /** Kilobytes. */
  size: number;
  classification: string;
  /** Registered type: `LAS`, `LAZ`, `E57`, `Cesium3DTiles`, `OPC`, ... */
  type: string;
  tags?: string[];
  acquisition?: Acquisition;
  extent?: Extent;
  crs?: Crs;
  authoring: boolean;
  dataCenterLocation: string;
  modifiedDateTime: string;
  lastAccessedDateTime: string;
  createdDateTime: string;
  ownerId: string;
}

/** What a listing returns per reality data (all of RealityData with `full: true`). */
export type RealityDataSummary = Pick<RealityData, "id" | "displayName" | "type">;

/** Body of a create: the iTwin, a name and a type, and any descriptive field. */
export type RealityDataCreation = Pick<RealityData, "displayName" | "type"> &
  Partial<Pick<RealityData, "dataset" | "group" | "description" | "attribution" | "termsOfUse" | "rootDocument" | "tags" | "acquisition" | "extent" | "crs" | "authoring">> & {
    iTwinId: string;
    classification?: Classification;
  };

export type RealityDataUpdate = Partial<Omit<RealityDataCreation, "iTwinId">> & { ownerId?: string };

export interface RealityDataQuery {
  /** Only the reality data of this iTwin (default: of every iTwin the user is a member of). */
  iTwinId?: string;
  /** Registered types, e.g. `["LAS", "LAZ"]`. */
  types?: readonly string[];
  /** Substring of the display name or description. */
  search?: string;
  /** `displayName`, `createdDateTime`, ... optionally followed by ` desc`. */
  orderBy?: string;
  tag?: string;
  ownerId?: string;
  /** `SW_lon,SW_lat,NE_lon,NE_lat` in degrees. */
  extent?: string;
  /** `from/to` ISO-8601 range. */
  createdDateTime?: string;
  modifiedDateTime?: string;
  /** Reality data per page, 1 to 1000. */
  top?: number;
}

export interface ContainerAccessResponse {
  type: string;
  access: "Read" | "Write";
  _links: { containerUrl: { href: string } };
}
