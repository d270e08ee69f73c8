/**
 * Table shapes, for kysely. One schema for SQLite and PostgreSQL: dates are ISO-8601 UTC text with
 * milliseconds (`2026-04-01T09:56:14.000Z`), which sorts and compares correctly as text in both.
 */
import type { ColumnType, Generated } from "kysely";

/** The SQL dialects realconv runs on. */
export type Dialect = "sqlite" | "postgres";

export interface JobsTable {
  /** Insertion order; the keyset for paging. */
  seq: Generated<number>;
  id: string;
  name: string | null;
  type: string;
  state: string;
  itwin_id: string;
  user_id: string;
  /** Creator's e-mail, lower case: not on the wire, but `$filter=email eq ...` needs it. */
  email: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  processing_units: number | null;
  /** JSON of the canonical { inputs, output, options }. */
  specifications: string;
  output_id: string;
  progress: number;
  attempts: number;
  /** Worker that holds the job while Active, and until when (ISO); an expired lease means the worker died. */
  lease_owner: string | null;
  lease_expires_at: string | null;
  cpu_ms: number;
  /** The job's wire JSON, kept current by the database (see migrations). */
  wire: ColumnType<string | null, never, never>;
}

export interface JobInputsTable {
  job_id: string;
  reality_data_id: string;
  /** Specification key (pointCloud, pointClouds, meshes, ...). */
  input_key: string;
  position: number;
}

export interface JobMessagesTable {
  seq: Generated<number>;
  job_id: string;
  kind: "error" | "warning";
  code: string;
  title: string;
  message: string;
  /** JSON array of strings. */
  params: string;
}

export interface ITwinsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ITwinMembersTable {
  itwin_id: string;
  /** Lower case. */
  email: string;
}

export interface RealityDataTable {
  seq: Generated<number>;
  id: string;
  /** The iTwin it was created in. */
  itwin_id: string;
  display_name: string;
  type: string;
  classification: string;
  root_document: string | null;
  /** Kilobytes, as the API reports it. */
  size_kb: number;
  authoring: ColumnType<number, number, number>;
  owner_id: string;
  created_at: string;
  modified_at: string;
  last_accessed_at: string;
  /** JSON of the remaining documented fields (description, dataset, group, tags, extent, crs, ...). */
  details: string;
  /** Extent and acquisition copied out of `details` so listings can filter on them in SQL. */
  extent_south: number | null;
  extent_west: number | null;
  extent_north: number | null;
  extent_east: number | null;
  acquisition_start: string | null;
  acquisition_end: string | null;
}

export interface RealityDataTagsTable {
  reality_data_id: string;
  tag: string;
}

export interface RealityDataITwinsTable {
  reality_data_id: string;
  itwin_id: string;
}

/** A part of a job in parts that a worker finished, with the manifest its runner recorded. */
export interface JobPartsTable {
  job_id: string;
  part_id: string;
  /** JSON. */
  manifest: string;
  finished_at: string;
}

/** A one-time sign-in code, by its hash; deleted when used. */
export interface SignInCodesTable {
  /** Hex SHA-256 of the code. */
  code_hash: string;
  email: string;
  expires_at: string;
  created_at: string;
}

export interface Database {
  jobs: JobsTable;
  job_parts: JobPartsTable;
  job_inputs: JobInputsTable;
  job_messages: JobMessagesTable;
  itwins: ITwinsTable;
  itwin_members: ITwinMembersTable;
  reality_data: RealityDataTable;
  reality_data_itwins: RealityDataITwinsTable;
  reality_data_tags: RealityDataTagsTable;
  sign_in_codes: SignInCodesTable;
}
