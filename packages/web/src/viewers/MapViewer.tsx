/**
 * XYZ tile maps (a TileJSON root document) and GeoJSON in MapLibre GL. No base map: nothing may come from
 * outside realconv, so the layer is drawn on a plain background.
 */
import { useEffect, useRef, useState } from "react";
import { Map as MapLibre, NavigationControl, ScaleControl, setWorkerUrl, type LngLatBoundsLike, type StyleSpecification } from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import "maplibre-gl/dist/maplibre-gl.css";

setWorkerUrl(workerUrl);

export interface TileJson {
  tilejson?: string;
  name?: string;
  tiles: string[];
  minzoom?: number;
  maxzoom?: number;
  bounds?: [number, number, number, number];
  attribution?: string;
}

export type MapContent =
  | { kind: "tiles"; tileJson: TileJson; tileUrl: (template: string) => string }
  | { kind: "geojson"; data: GeoJSON.GeoJSON | string; bounds?: [number, number, number, number] };

const background = { id: "background", type: "background", paint: { "background-color": "#e4e9ec" } } as const;

export const vectorLayers = (source: string) =>
  [
    { id: `${source}-fill`, type: "fill", source, filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": "#2a7ab0", "fill-opacity": 0.35 } },
    { id: `${source}-line`, type: "line", source, filter: ["in", ["geometry-type"], ["literal", ["LineString", "Polygon"]]], paint: { "line-color": "#17527a", "line-width": 1.5 } },
    { id: `${source}-point`, type: "circle", source, filter: ["==", ["geometry-type"], "Point"], paint: { "circle-color": "#d9482b", "circle-radius": 4, "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
  ] as StyleSpecification["layers"];

/** [west, south, east, north] of every coordinate of a GeoJSON object. */
export function geoJsonBounds(g: unknown): [number, number, number, number] | undefined {
  const b = [Infinity, Infinity, -Infinity, -Infinity] as [number, number, number, number];
  const visit = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === "number" && typeof c[1] === "number") {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
      return;
    }
    c.forEach(visit);
  };
  const walk = (o: unknown): void => {
    if (!o || typeof o !== "object") return;
    const x = o as { type?: string; features?: unknown[]; geometry?: unknown; geometries?: unknown[]; coordinates?: unknown };
    if (x.features) x.features.forEach(walk);
    else if (x.geometry) walk(x.geometry);
    else if (x.geometries) x.geometries.forEach(walk);
    else visit(x.coordinates);
  };
  walk(g);
  return Number.isFinite(b[0]) ? b : undefined;
}

/**
 * A MapLibre map in a container, fitted to `bounds`; `idle` is true while every tile in view is loaded and
 * drawn (set from the map's own events, registered before it can first go idle).
 */
export function useMap(container: React.RefObject<HTMLDivElement | null>, style: StyleSpecification, bounds: [number, number, number, number] | undefined, deps: unknown[]) {
  const [map, setMap] = useState<MapLibre>();
  const [idle, setIdle] = useState(false);
  useEffect(() => {
    const m = new MapLibre({ container: container.current!, style, attributionControl: { compact: true }, canvasContextAttributes: { preserveDrawingBuffer: true } });
    m.addControl(new NavigationControl({}), "top-right");
    m.addControl(new ScaleControl({}), "bottom-left");
    m.on("idle", () => setIdle(true));
    m.on("movestart", () => setIdle(false));
    // A move that changes nothing draws nothing, so no "idle" follows it.
    m.on("moveend", () => m.loaded() && m.areTilesLoaded() && setIdle(true));
    const fit = () => bounds && m.fitBounds(bounds as LngLatBoundsLike, { padding: 20, animate: false });
    fit();
    let size = `${container.current!.clientWidth}x${container.current!.clientHeight}`;
    // The container may still change size as the page around it loads: follow it, and keep the data in view
    // until the user moves the map.
    let userMoved = false;
    m.on("dragstart", () => (userMoved = true));
    m.on("zoomstart", (e) => {
      if ((e as { originalEvent?: unknown }).originalEvent) userMoved = true;
    });
    const observer = new ResizeObserver(() => {
      const now = `${container.current?.clientWidth}x${container.current?.clientHeight}`;
      if (now === size) return;
      size = now;
      m.resize();
      if (!userMoved) fit();
    });
    observer.observe(container.current!);
    m.on("load", () => setMap(m));
    return () => {
      observer.disconnect();
      setMap(undefined);
      m.remove();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { map, idle };
}

export function MapViewer({ content }: { content: MapContent }) {
  const container = useRef<HTMLDivElement>(null);
  let style: StyleSpecification;
  let bounds: [number, number, number, number] | undefined;
  if (content.kind === "tiles") {
    const t = content.tileJson;
    bounds = t.bounds;
    style = {
      version: 8,
      sources: {
        data: {
          type: "raster",
          tiles: t.tiles.map(content.tileUrl),
          tileSize: 256,
          minzoom: t.minzoom ?? 0,
          maxzoom: t.maxzoom ?? 22,
          ...(t.bounds ? { bounds: t.bounds } : {}),
          ...(t.attribution ? { attribution: t.attribution } : {}),
        },
      },
      layers: [background, { id: "data", type: "raster", source: "data" }],
    };
  } else {
    bounds = content.bounds ?? (typeof content.data === "string" ? undefined : geoJsonBounds(content.data));
    style = { version: 8, sources: { data: { type: "geojson", data: content.data } }, layers: [background, ...vectorLayers("data")] };
  }
  const { map, idle } = useMap(container, style, bounds, [content]);
  return (
    <div className="viewer">
      <div
        ref={container}
        className="viewer-canvas map"
        data-testid="map-viewer"
        data-ready={map ? "true" : "false"}
        data-idle={idle ? "true" : "false"}
      />
    </div>
  );
}
