/**
 * GeoPackage (OGC 12-128) feature tables, read with SQLite (better-sqlite3) from a local copy: every layer
 * of `gpkg_contents` with data type `features`, rows in fid order, geometry blobs decoded by the codecs.
 * Values as GDAL gives them: BOOLEAN columns as true/false, BLOBs as upper-case hex.
 */
import Database from "better-sqlite3";
import { decodeGpkgGeometry, FormatError, type FeatureBatch, type PropertyValue, type VectorFeature, type VectorReader } from "@realconv/formats";

interface Layer {
  table: string;
  geometryColumn: string;
  srsId: number;
  crs: string | undefined;
  count: number;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function crsOf(db: Database.Database, srsId: number): string | undefined {
  // 0: undefined geographic (GDAL reads it as WGS 84 degrees); -1: undefined Cartesian.
  if (srsId === 0) return "EPSG:4326";
  if (srsId === -1) return undefined;
  const row = db.prepare("SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?").get(srsId) as
    | { organization: string | null; organization_coordsys_id: number | null; definition: string | null }
    | undefined;
  if (!row) return undefined;
  if (row.organization?.toUpperCase() === "EPSG" && row.organization_coordsys_id) return `EPSG:${row.organization_coordsys_id}`;
  const def = row.definition?.trim();
  return def && def.toLowerCase() !== "undefined" ? def : undefined;
}

/** Opens a GeoPackage at `path` (a local copy); `label` names it in messages. */
export function openGeoPackage(path: string, label: string, options: { batchSize?: number } = {}): VectorReader & { close(): void } {
  let db: Database.Database;
  let layers: Layer[];
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    layers = (
      db
        .prepare(
          `SELECT c.table_name AS tableName, g.column_name AS geometryColumn, g.srs_id AS srsId
           FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
           WHERE lower(c.data_type) = 'features' ORDER BY c.rowid`,
        )
        .all() as { tableName: string; geometryColumn: string; srsId: number }[]
    ).map((l) => ({
      table: l.tableName,
      geometryColumn: l.geometryColumn,
      srsId: l.srsId,
      crs: crsOf(db, l.srsId),
      count: (db.prepare(`SELECT count(*) AS n FROM ${quote(l.tableName)}`).get() as { n: number }).n,
    }));
  } catch (e) {
    throw new FormatError(`not a readable GeoPackage: ${(e as Error).message}`, label, 0);
  }
  const total = layers.reduce((n, l) => n + l.count, 0);
  const batchSize = options.batchSize ?? 2000;
  return {
    name: label,
    // Progress counts rows: the file is read by SQLite, not front to back.
    size: total,
    warnings: [],
    close: () => db.close(),
    async *batches(signal?: AbortSignal): AsyncIterable<FeatureBatch> {
      let done = 0;
      for (const layer of layers) {
        const info = db.prepare(`PRAGMA table_info(${quote(layer.table)})`).all() as { name: string; type: string; pk: number }[];
        const pk = info.find((c) => c.pk === 1 && /^INT/i.test(c.type))?.name;
        const booleans = new Set(info.filter((c) => /^BOOL/i.test(c.type)).map((c) => c.name));
        const columns = info.map((c) => c.name).filter((n) => n !== pk && n !== layer.geometryColumn);
        const isBoolean = columns.map((c) => booleans.has(c));
        const order = pk ? ` ORDER BY ${quote(pk)}` : "";
        let batch: VectorFeature[] = [];
        let rows: Iterator<unknown>;
        try {
          // Rows as arrays (raw): no object with every column's name per row. The geometry, the key,
          // then the property columns.
          const selected = [layer.geometryColumn, ...(pk ? [pk] : []), ...columns].map(quote).join(", ");
          const from = `SELECT ${selected} FROM ${quote(layer.table)}`;
          if (pk) {
            // Pages of rows by key, each in one call (cheaper per row than stepping a cursor from
            // JavaScript); each page starts after the last key of the one before.
            const firstPage = db.prepare(`${from}${order} LIMIT ${batchSize}`).raw(true);
            const nextPage = db.prepare(`${from} WHERE ${quote(pk)} > ?${order} LIMIT ${batchSize}`).raw(true);
            rows = (function* () {
              let page = firstPage.all() as unknown[][];
              while (page.length > 0) {
                yield* page;
                if (page.length < batchSize) return;
                page = nextPage.all(page[page.length - 1][1]) as unknown[][];
              }
            })();
          } else rows = db.prepare(from).raw(true).iterate();
        } catch (e) {
          throw new FormatError(`cannot read the table ${layer.table}: ${(e as Error).message}`, label, 0);
        }
        for (;;) {
          let next: IteratorResult<unknown>;
          try {
            next = rows.next();
          } catch (e) {
            throw new FormatError(`cannot read the table ${layer.table}: ${(e as Error).message}`, label, 0);
          }
          if (next.done) break;
          const row = next.value as unknown[];
          const blob = row[0];
          let geometry = null;
          if (blob instanceof Uint8Array && blob.byteLength > 0) {
            geometry = decodeGpkgGeometry(blob, `${label} (table ${layer.table}, fid ${pk ? String(row[1]) : "?"})`).geometry;
          }
          const properties: Record<string, PropertyValue> = {};
          const first = pk ? 2 : 1;
          for (let c = 0; c < columns.length; c++) {
            const v = row[first + c];
            if (v instanceof Uint8Array) properties[columns[c]] = Buffer.from(v).toString("hex").toUpperCase();
            else if (isBoolean[c] && typeof v === "number") properties[columns[c]] = v !== 0;
            else if (typeof v === "bigint") properties[columns[c]] = Number(v);
            else properties[columns[c]] = (v ?? null) as PropertyValue;
          }
          batch.push({ geometry, properties });
          done++;
          if (batch.length >= batchSize) {
            signal?.throwIfAborted();
            yield { layer: layer.table, crs: layer.crs, features: batch, bytesRead: done };
            batch = [];
          }
        }
        if (batch.length > 0) yield { layer: layer.table, crs: layer.crs, features: batch, bytesRead: done };
      }
    },
  };
}
