/**
 * One reality data: its metadata, the viewer its content calls for (3D Tiles, tile map, GeoJSON, FeatureDB),
 * and its files with a download each (LAS/LAZ with their header's summary).
 */
import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import type { RealityData } from "@realconv/sdk";
import { ErrorBox, formatBytes, formatDate } from "../components";
import { fileUrl, listFiles, withSas, type ContainerFile } from "./container";
import { parseLasHeader, readHead, type LasSummary } from "./las";
import type { MapContent, TileJson } from "./MapViewer";
import { featureCollections } from "./features-api";

const TilesViewer = lazy(() => import("./TilesViewer").then((m) => ({ default: m.TilesViewer })));
const MapViewer = lazy(() => import("./MapViewer").then((m) => ({ default: m.MapViewer })));
const FeatureViewer = lazy(() => import("./FeatureViewer").then((m) => ({ default: m.FeatureViewer })));

type Viewer =
  | { kind: "tiles"; url: string }
  | { kind: "map"; content: MapContent }
  | { kind: "features"; collections: Awaited<ReturnType<typeof featureCollections>> }
  | { kind: "none" };

/** A TileJSON tile template, relative to the document, as an absolute URL with the container's signature. */
function tileTemplate(containerUrl: string, root: string, template: string, sas: (u: string) => string): string {
  if (/^https?:\/\//.test(template)) return sas(template);
  const c = new URL(containerUrl);
  const dir = root.includes("/") ? root.slice(0, root.lastIndexOf("/") + 1) : "";
  // Assembled by hand: URL() would percent-encode the {z}/{x}/{y} placeholders.
  return `${c.origin}${c.pathname.replace(/\/+$/, "")}/${dir}${template}${c.search}`;
}

async function chooseViewer(rd: RealityData, containerUrl: string, files: ContainerFile[], shared: boolean, sas: (u: string) => string): Promise<Viewer> {
  const root = rd.rootDocument;
  if (rd.type === "Cesium3DTiles" || root?.endsWith("tileset.json")) return { kind: "tiles", url: fileUrl(containerUrl, root ?? "tileset.json") };
  const json = root?.toLowerCase().endsWith(".json") ? root : undefined;
  if (json) {
    const doc = (await (await fetch(fileUrl(containerUrl, json))).json()) as Partial<TileJson> & { type?: string };
    if (Array.isArray(doc.tiles)) {
      return { kind: "map", content: { kind: "tiles", tileJson: doc as TileJson, tileUrl: (t) => tileTemplate(containerUrl, json, t, sas) } };
    }
    if (doc.type === "FeatureCollection" || doc.type === "Feature") return { kind: "map", content: { kind: "geojson", data: doc as GeoJSON.GeoJSON } };
  }
  const geojson = rd.type === "GeoJSON" ? files.find((f) => /\.(geo)?json$/i.test(f.name)) : files.find((f) => /\.geojson$/i.test(f.name));
  if (geojson) return { kind: "map", content: { kind: "geojson", data: (await (await fetch(geojson.url)).json()) as GeoJSON.GeoJSON } };
  // FeatureDB has no registered type; its query endpoint says whether this is one (and needs a signed-in user).
  if (!shared && rd.type === "Unstructured") {
    const collections = await featureCollections(rd.id).catch(() => undefined);
    if (collections && collections.length > 0) return { kind: "features", collections };
  }
  return { kind: "none" };
}

export function RealityDataView({ rd, containerUrl, shared }: { rd: RealityData; containerUrl: string; shared: boolean }) {
  const [files, setFiles] = useState<ContainerFile[]>();
  const [viewer, setViewer] = useState<Viewer>();
  const [error, setError] = useState<unknown>();
  const [las, setLas] = useState<Record<string, LasSummary>>({});
  const sas = useMemo(() => withSas(containerUrl), [containerUrl]);

  useEffect(() => {
    let stopped = false;
    (async () => {
      const list = await listFiles(containerUrl);
      if (stopped) return;
      setFiles(list);
      const v = await chooseViewer(rd, containerUrl, list, shared, sas);
      if (!stopped) setViewer(v);
      for (const f of list.filter((x) => /\.la[sz]$/i.test(x.name)).slice(0, 10)) {
        const summary = parseLasHeader(await readHead(f.url).catch(() => new Uint8Array()));
        if (summary && !stopped) setLas((old) => ({ ...old, [f.name]: summary }));
      }
    })().catch((e) => !stopped && setError(e));
    return () => {
      stopped = true;
    };
  }, [rd, containerUrl, shared, sas]);

  return (
    <div className="reality-data">
      {error !== undefined && <ErrorBox error={error} />}
      <Suspense fallback={<p>Loading the viewer…</p>}>
        {viewer?.kind === "tiles" && <TilesViewer url={viewer.url} sas={sas} />}
        {viewer?.kind === "map" && <MapViewer content={viewer.content} />}
        {viewer?.kind === "features" && <FeatureViewer realityDataId={rd.id} collections={viewer.collections} />}
      </Suspense>
      <div className="columns">
        <dl className="props" aria-label="Metadata">
          <dt>Type</dt><dd data-testid="rd-type">{rd.type}</dd>
          <dt>Size</dt><dd>{formatBytes(rd.size * 1024)}</dd>
          <dt>Classification</dt><dd>{rd.classification}</dd>
          {rd.rootDocument && <><dt>Root document</dt><dd><code>{rd.rootDocument}</code></dd></>}
          {rd.crs?.id && <><dt>CRS</dt><dd><Crs id={rd.crs.id} />{rd.crs.verticalId ? ` + ${rd.crs.verticalId}` : ""}</dd></>}
          {rd.extent && (
            <><dt>Extent</dt><dd>{rd.extent.southWest.longitude.toFixed(5)}, {rd.extent.southWest.latitude.toFixed(5)} to {rd.extent.northEast.longitude.toFixed(5)}, {rd.extent.northEast.latitude.toFixed(5)}</dd></>
          )}
          <dt>Created</dt><dd>{formatDate(rd.createdDateTime)}</dd>
          <dt>Modified</dt><dd>{formatDate(rd.modifiedDateTime)}</dd>
          {rd.description && <><dt>Description</dt><dd>{rd.description}</dd></>}
        </dl>
        <div>
          <h2>Files</h2>
          {!files && <p>Listing…</p>}
          {files?.length === 0 && <p className="muted">No file.</p>}
          {files && files.length > 0 && (
            <div className="table-wrap">
              <table aria-label="Files">
                <thead><tr><th>Name</th><th>Size</th><th><span className="sr">Download</span></th></tr></thead>
                <tbody>
                  {files.slice(0, 200).map((f) => (
                    <tr key={f.name}>
                      <td>
                        <code>{f.name}</code>
                        {las[f.name] && (
                          <div className="muted">
                            LAS {las[f.name].version}{las[f.name].compressed ? " (LAZ)" : ""}, point format {las[f.name].pointFormat}, {las[f.name].points.toLocaleString()} points,
                            {" "}Z {las[f.name].min[2].toFixed(2)} to {las[f.name].max[2].toFixed(2)}
                          </div>
                        )}
                      </td>
                      <td>{formatBytes(f.size)}</td>
                      <td><a href={f.url} download={f.name.split("/").pop()}>Download</a></td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {files.length > 200 && <p className="muted">{files.length - 200} more files not shown.</p>}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

/** A CRS as its code, or a WKT folded behind its name. */
function Crs({ id }: { id: string }) {
  if (id.length <= 40) return <>{id}</>;
  const name = /^\w+\["([^"]+)"/.exec(id)?.[1] ?? `${id.slice(0, 32)}…`;
  return (
    <details>
      <summary>{name}</summary>
      <code>{id}</code>
    </details>
  );
}
