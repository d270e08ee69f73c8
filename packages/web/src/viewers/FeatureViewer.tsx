/**
 * A FeatureDB output through its query endpoint (OGC API Features style): the collections, then the features
 * inside the map's view (`bbox`, `limit`), drawn in MapLibre with their properties in a table.
 */
import { useEffect, useRef, useState } from "react";
import type { GeoJSONSource, StyleSpecification } from "maplibre-gl";
import { ErrorBox } from "../components";
import { appFetch } from "../session";
import { useMap, vectorLayers } from "./MapViewer";
import type { Collection } from "./features-api";


interface ItemsPage {
  type: "FeatureCollection";
  features: { id?: string | number; properties?: Record<string, unknown> | null }[];
  numberMatched?: number;
  numberReturned?: number;
}


const LIMIT = 1000;

export function FeatureViewer({ realityDataId, collections }: { realityDataId: string; collections: Collection[] }) {
  const [current, setCurrent] = useState(collections[0]?.id ?? "");
  const collection = collections.find((c) => c.id === current);
  return (
    <div>
      <div className="viewer-tools">
        <label>
          Collection{" "}
          <select value={current} onChange={(e) => setCurrent(e.target.value)}>
            {collections.map((c) => <option key={c.id} value={c.id}>{c.title ?? c.id} ({c.featureCount ?? "?"} features)</option>)}
          </select>
        </label>
      </div>
      {collection && <CollectionMap key={collection.id} realityDataId={realityDataId} collection={collection} />}
    </div>
  );
}

function CollectionMap({ realityDataId, collection }: { realityDataId: string; collection: Collection }) {
  const container = useRef<HTMLDivElement>(null);
  const [page, setPage] = useState<ItemsPage>();
  const [error, setError] = useState<unknown>();
  const bbox = collection.extent?.spatial?.bbox?.[0];
  const bounds = bbox && bbox.length >= 4 ? ([bbox[0], bbox[1], bbox[bbox.length === 6 ? 3 : 2], bbox[bbox.length === 6 ? 4 : 3]] as [number, number, number, number]) : undefined;
  const style: StyleSpecification = {
    version: 8,
    sources: { data: { type: "geojson", data: { type: "FeatureCollection", features: [] } } },
    layers: [{ id: "background", type: "background", paint: { "background-color": "#e4e9ec" } }, ...vectorLayers("data")],
  };
  const { map } = useMap(container, style, bounds, [collection.id]);

  useEffect(() => {
    if (!map) return;
    let seq = 0;
    const load = async () => {
      const mine = ++seq;
      const b = map.getBounds();
      const q = new URLSearchParams({ bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(7)).join(","), limit: String(LIMIT) });
      try {
        const r = await appFetch<ItemsPage>(`/reality-management/reality-data/${encodeURIComponent(realityDataId)}/collections/${encodeURIComponent(collection.id)}/items?${q}`);
        if (mine !== seq) return;
        (map.getSource("data") as GeoJSONSource).setData(r as unknown as GeoJSON.FeatureCollection);
        setPage(r);
        setError(undefined);
      } catch (e) {
        setError(e);
      }
    };
    void load();
    map.on("moveend", load);
    return () => void map.off("moveend", load);
  }, [map, realityDataId, collection.id]);

  const keys = [...new Set((page?.features ?? []).slice(0, 50).flatMap((f) => Object.keys(f.properties ?? {})))].slice(0, 8);
  return (
    <div className="viewer">
      {error !== undefined && <ErrorBox error={error} />}
      <div ref={container} className="viewer-canvas map" data-testid="feature-viewer" data-features={page?.numberReturned ?? 0} />
      {page && (
        <>
          <p className="muted" role="status">
            {page.numberReturned ?? page.features.length} features in view{page.numberMatched !== undefined ? ` of ${page.numberMatched} matching` : ""}
            {(page.numberMatched ?? 0) > LIMIT ? ` (the first ${LIMIT} are drawn; zoom in for the rest)` : ""}
          </p>
          {keys.length > 0 && (
            <div className="table-wrap">
              <table aria-label="Features">
                <thead><tr><th>id</th>{keys.map((k) => <th key={k}>{k}</th>)}</tr></thead>
                <tbody>
                  {page.features.slice(0, 20).map((f, i) => (
                    <tr key={String(f.id ?? i)}><td>{String(f.id ?? "")}</td>{keys.map((k) => <td key={k}>{String(f.properties?.[k] ?? "")}</td>)}</tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}
