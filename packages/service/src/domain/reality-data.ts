/**
 * Reality data (Reality Management API) rules: registered types, classifications, field limits, and
 * validation of create/update bodies with the platform's coded error details. Pure.
 */
import { errors, type ErrorDetail } from "./errors.js";

/** Registered reality data types (the SDK's enum plus CesiumJS's additions). */
export const REALITY_DATA_TYPES = [
  "CCImageCollection", "Cesium3DTiles", "DAE", "ContextDetector", "ContextScene", "DGN", "E57", "FBX", "GLB", "GLTF", "KML",
  "LAS", "LAZ", "LOD", "LODTree", "OBJ", "OMR", "OPC", "OSGB", "OVF", "OVT", "PLY", "PNTS", "PointCloud", "RealityMesh3DTiles",
  "SLPK", "SpaceEyes3D", "SuperMap", "S3C", "Terrain3DTiles", "TexturedTiePoints", "3SM", "3MX", "Unstructured", "Orthophoto",
  "GS_PLY", "GS_SPZ", "GS_3DT", "GeoJSON", "SHP", "CCCloudProject", "CCOrientations", "ContextCaptureInputs", "DSM", "OMI",
  "OrthophotoDSM", "OBT", "ScanCollection", "STL", "TSM", "Other",
] as const;

export const CLASSIFICATIONS = ["Terrain", "Imagery", "Pinned", "Model", "Undefined"] as const;

export const MAX_TAGS = 15;
export const MAX_TAG_LENGTH = 60;
const TAG_FORBIDDEN = /[\\/:*?,"<>|]/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** "may not contain any control sequence such as a URL or code". */
const CONTROL = /[\u0000-\u001f\u007f<>]|https?:\/\/|javascript:/i;

export interface RealityDataFields {
  iTwinId?: string;
  displayName?: string;
  dataset?: string;
  group?: string;
  description?: string;
  attribution?: string;
  termsOfUse?: string;
  rootDocument?: string;
  classification?: string;
  type?: string;
  tags?: string[];
  acquisition?: { startDateTime?: string; endDateTime?: string; acquirer?: string };
  extent?: { southWest: { latitude: number; longitude: number }; northEast: { latitude: number; longitude: number } };
  crs?: { id?: string; verticalId?: string };
  authoring?: boolean;
  ownerId?: string;
}

const TEXT_FIELDS = ["displayName", "dataset", "group", "description", "attribution", "termsOfUse"] as const;
const CREATE_KEYS = [
  "iTwinId", "displayName", "dataset", "group", "description", "attribution", "termsOfUse", "rootDocument", "classification",
  "type", "tags", "acquisition", "extent", "crs", "authoring",
];
const UPDATE_KEYS = [...CREATE_KEYS.filter((k) => k !== "iTwinId"), "ownerId"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isDateTime(s: unknown): s is string {
  return typeof s === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s));
}

function canonical<T extends string>(list: readonly T[], v: string): T | undefined {
  const lower = v.toLowerCase();
  return list.find((x) => x.toLowerCase() === lower);
}

/** A wrong value as an error message quotes it: any JSON value, shortened, never throwing. */
function quoted(v: unknown): string {
  return (typeof v === "string" ? v : JSON.stringify(v)).slice(0, 200);
}

export function isGuid(s: unknown): s is string {
  return typeof s === "string" && GUID.test(s);
}

/** Validates a create (all required fields) or update (all optional) body; throws 422 with every problem. */
export function parseRealityDataBody(body: unknown, mode: "create" | "update"): RealityDataFields {
  const details: ErrorDetail[] = [];
  const bad = (target: string, message: string, code = "InvalidProperty") => details.push({ code, message, target });
  if (!isObject(body)) {
    throw errors.unprocessable("management", [{ code: "InvalidProperty", message: "The body must be a JSON object.", target: "" }]);
  }
  const allowed = mode === "create" ? CREATE_KEYS : UPDATE_KEYS;
  for (const k of Object.keys(body)) if (!allowed.includes(k)) bad(k, `Unknown property '${k}'.`);
  const out: RealityDataFields = {};

  if (mode === "create") {
    for (const k of ["iTwinId", "displayName", "type"]) {
      if (body[k] === undefined || body[k] === null) bad(k, `The ${k} field is required.`, "MissingRequiredProperty");
    }
  }
  if (body.iTwinId !== undefined && body.iTwinId !== null) {
    if (!isGuid(body.iTwinId)) bad("iTwinId", "iTwinId must be a GUID.");
    else out.iTwinId = body.iTwinId.toLowerCase();
  }
  for (const k of TEXT_FIELDS) {
    const v = body[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") bad(k, `${k} must be a string.`);
    else if (k === "displayName" && v.trim() === "") bad(k, "displayName must not be empty.");
    else if (v.length > 2048) bad(k, `${k} is too long.`);
    else if (CONTROL.test(v)) bad(k, `${k} may not contain control sequences such as URLs or code.`);
    else out[k] = v;
  }
  if (body.rootDocument !== undefined && body.rootDocument !== null) {
    const v = body.rootDocument;
    if (typeof v !== "string" || v === "" || v.startsWith("/") || v.split("/").includes("..") || /[\u0000-\u001f\\]/.test(v) || v.length > 1024) {
      bad("rootDocument", "rootDocument must be a relative path inside the container, e.g. 'Folder/tileset.json'.");
    } else out.rootDocument = v;
  }
  if (body.type !== undefined && body.type !== null) {
    const t = typeof body.type === "string" ? canonical(REALITY_DATA_TYPES, body.type) : undefined;
    if (!t) bad("type", `Invalid value '${quoted(body.type)}' for property 'type'.`);
    else out.type = t;
  }
  if (body.classification !== undefined && body.classification !== null) {
    const c = typeof body.classification === "string" ? canonical(CLASSIFICATIONS, body.classification) : undefined;
    if (!c) bad("classification", `Invalid value '${quoted(body.classification)}' for property 'classification'.`);
    else out.classification = c;
  }
  if (body.tags !== undefined && body.tags !== null) {
    if (!Array.isArray(body.tags)) bad("tags", "tags must be an array of strings.");
    else if (body.tags.length > MAX_TAGS) bad("tags", `At most ${MAX_TAGS} tags are allowed.`);
    else {
      const tags: string[] = [];
      body.tags.forEach((t, i) => {
        if (typeof t !== "string" || t.trim() === "") bad(`tags[${i}]`, "A tag must be a non-empty string.");
        else if (t.length > MAX_TAG_LENGTH) bad(`tags[${i}]`, `A tag has at most ${MAX_TAG_LENGTH} characters.`);
        else if (TAG_FORBIDDEN.test(t)) bad(`tags[${i}]`, 'A tag may not contain \\ / : * ? , " < > |.');
        else if (!tags.includes(t.toLowerCase())) tags.push(t.toLowerCase());
      });
      out.tags = tags;
    }
  }
  if (body.acquisition !== undefined && body.acquisition !== null) {
    const a = body.acquisition;
    if (!isObject(a)) bad("acquisition", "acquisition must be an object.");
    else {
      for (const k of Object.keys(a)) if (!["startDateTime", "endDateTime", "acquirer"].includes(k)) bad(`acquisition.${k}`, `Unknown property '${k}'.`);
      for (const k of ["startDateTime", "endDateTime"] as const) {
        if (a[k] !== undefined && a[k] !== null && !isDateTime(a[k])) bad(`acquisition.${k}`, `${k} must be an ISO-8601 date-time.`);
      }
      if (a.acquirer !== undefined && a.acquirer !== null && (typeof a.acquirer !== "string" || CONTROL.test(a.acquirer))) {
        bad("acquisition.acquirer", "acquirer must be plain text.");
      }
      if (isDateTime(a.startDateTime) && isDateTime(a.endDateTime) && Date.parse(a.startDateTime) > Date.parse(a.endDateTime)) {
        bad("acquisition.endDateTime", "endDateTime must not be before startDateTime.");
      }
      out.acquisition = Object.fromEntries(Object.entries(a).filter(([, v]) => v !== null && v !== undefined)) as RealityDataFields["acquisition"];
    }
  }
  if (body.extent !== undefined && body.extent !== null) {
    const e = body.extent;
    const corner = (name: string, c: unknown) => {
      if (!isObject(c) || typeof c.latitude !== "number" || typeof c.longitude !== "number") {
        bad(`extent.${name}`, `extent.${name} needs numeric latitude and longitude.`);
        return undefined;
      }
      if (c.latitude < -90 || c.latitude > 90) bad(`extent.${name}.latitude`, "latitude must be within -90..90.");
      if (c.longitude < -180 || c.longitude > 180) bad(`extent.${name}.longitude`, "longitude must be within -180..180.");
      return { latitude: c.latitude, longitude: c.longitude };
    };
    if (!isObject(e)) bad("extent", "extent must be an object.");
    else {
      const sw = corner("southWest", e.southWest);
      const ne = corner("northEast", e.northEast);
      if (sw && ne) out.extent = { southWest: sw, northEast: ne };
    }
  }
  if (body.crs !== undefined && body.crs !== null) {
    const c = body.crs;
    if (!isObject(c)) bad("crs", "crs must be an object.");
    else {
      for (const k of Object.keys(c)) if (!["id", "verticalId"].includes(k)) bad(`crs.${k}`, `Unknown property '${k}'.`);
      for (const k of ["id", "verticalId"] as const) {
        if (c[k] !== undefined && c[k] !== null && (typeof c[k] !== "string" || (c[k] as string).length > 2048)) bad(`crs.${k}`, `crs.${k} must be a string.`);
      }
      out.crs = Object.fromEntries(Object.entries(c).filter(([, v]) => typeof v === "string")) as RealityDataFields["crs"];
    }
  }
  if (body.authoring !== undefined && body.authoring !== null) {
    if (typeof body.authoring !== "boolean") bad("authoring", "authoring must be true or false.");
    else out.authoring = body.authoring;
  }
  if (body.ownerId !== undefined && body.ownerId !== null) {
    if (typeof body.ownerId !== "string" || body.ownerId.trim() === "") bad("ownerId", "ownerId must be a non-empty string.");
    else out.ownerId = body.ownerId;
  }
  if (details.length > 0) throw errors.unprocessable("management", details.slice(0, 100));
  return out;
}
