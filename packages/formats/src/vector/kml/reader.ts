/**
 * KML 2.2 read as a stream of XML events (saxes): each Placemark becomes a feature as soon as it closes,
 * in a layer named after its innermost Folder (else the Document, else the file), as GDAL's LIBKML driver
 * names layers. Properties follow that driver's names: `Name`, `description`, `timestamp`, `begin`, `end`,
 * `altitudeMode` (when not the default clampToGround), `extrude`, `tessellate`, `visibility`, and
 * ExtendedData fields by their own names.
 * Geometries: Point, LineString, LinearRing, Polygon, MultiGeometry (homogeneous ones as Multi*), gx:Track.
 */
import { SaxesParser, type SaxesTag } from "saxes";
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { BlockReader, type FeatureBatch, type Geometry, type Position, type PropertyValue, type VectorFeature, type VectorReader } from "../feature.js";

const local = (name: string) => {
  const i = name.indexOf(":");
  return i < 0 ? name : name.slice(i + 1);
};

type Builder =
  | { kind: "multi"; parts: Geometry[] }
  | { kind: "polygon"; rings: Position[][] }
  | { kind: "track"; coords: Position[] }
  | { kind: "multitrack"; lines: Position[][] };

interface Placemark {
  properties: Record<string, PropertyValue>;
  geometry: Geometry | null;
  builders: Builder[];
  dataName?: string;
}

/** Containers' names by depth (Document, Folder); the layer is the innermost named one. */
interface Container {
  kind: string;
  name?: string;
}

const TEXT_PROPERTIES: Record<string, string> = { name: "Name", description: "description", begin: "begin", end: "end", when: "timestamp", altitudeMode: "altitudeMode" };
const INT_PROPERTIES = new Set(["extrude", "tessellate", "visibility", "drawOrder"]);
const GEOMETRY_ELEMENTS = new Set(["Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track", "MultiTrack"]);

function parseTuples(text: string, file: string, offset: number): Position[] {
  const out: Position[] = [];
  let hasZ = false;
  for (const tuple of text.trim().split(/\s+/)) {
    if (tuple === "") continue;
    const parts = tuple.split(",");
    const p = parts.filter((s) => s !== "").map(Number);
    if (p.length < 2 || p.some((v) => !Number.isFinite(v))) throw new FormatError(`bad coordinates "${tuple.slice(0, 60)}"`, file, offset);
    if (p.length >= 3) hasZ = true;
    out.push(p.slice(0, 3));
  }
  if (hasZ) for (const p of out) if (p.length === 2) p.push(0);
  return out;
}

function homogeneous(parts: Geometry[]): Geometry {
  if (parts.length > 0 && parts.every((p) => p.type === "Point")) return { type: "MultiPoint", coordinates: parts.map((p) => (p as { coordinates: Position }).coordinates) };
  if (parts.length > 0 && parts.every((p) => p.type === "LineString")) return { type: "MultiLineString", coordinates: parts.map((p) => (p as { coordinates: Position[] }).coordinates) };
  if (parts.length > 0 && parts.every((p) => p.type === "Polygon")) return { type: "MultiPolygon", coordinates: parts.map((p) => (p as { coordinates: Position[][] }).coordinates) };
  return { type: "GeometryCollection", geometries: parts };
}

export function openKml(source: ByteSource, options: { batchSize?: number; blockSize?: number } = {}): VectorReader {
  const batchSize = options.batchSize ?? 2000;
  const file = source.name;
  const fallbackLayer = file.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  const warnings: string[] = [];
  return {
    name: file,
    size: source.size,
    warnings,
    async *batches(signal?: AbortSignal): AsyncIterable<FeatureBatch> {
      const parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
      const containers: Container[] = [];
      const path: string[] = [];
      let text = "";
      let placemark: Placemark | undefined;
      let sawKml = false;
      let blockStart = 0;
      const ready: FeatureBatch[] = [];
      let current: { layer: string; features: VectorFeature[] } | undefined;
      let position = 0;

      const layerName = () => {
        for (let i = containers.length - 1; i >= 0; i--) if (containers[i].name !== undefined) return containers[i].name!;
        return fallbackLayer;
      };
      const emit = (f: VectorFeature) => {
        const layer = layerName();
        if (!current || current.layer !== layer || current.features.length >= batchSize) {
          if (current) ready.push({ layer: current.layer, crs: "EPSG:4326", features: current.features, bytesRead: position });
          current = { layer, features: [] };
        }
        current.features.push(f);
      };
      const attach = (g: Geometry) => {
        if (!placemark) return;
        const parent = placemark.builders[placemark.builders.length - 1];
        if (parent?.kind === "multi") parent.parts.push(g);
        // A Placemark holds one geometry: a later one replaces an earlier one, as in libkml.
        else placemark.geometry = g;
      };

      parser.on("error", (e) => {
        throw new FormatError(`not well-formed XML: ${e.message}`, file, blockStart);
      });
      parser.on("opentag", (tag: SaxesTag) => {
        const name = local(tag.name);
        if (path.length === 0) {
          if (name !== "kml") throw new FormatError(`not a KML document (its root element is <${tag.name}>)`, file, 0);
          sawKml = true;
        }
        path.push(name);
        text = "";
        if (name === "Document" || name === "Folder") containers.push({ kind: name });
        else if (name === "Placemark") placemark = { properties: {}, geometry: null, builders: [] };
        else if (placemark) {
          if (name === "MultiGeometry") placemark.builders.push({ kind: "multi", parts: [] });
          else if (name === "Polygon") placemark.builders.push({ kind: "polygon", rings: [] });
          else if (name === "Track") placemark.builders.push({ kind: "track", coords: [] });
          else if (name === "MultiTrack") placemark.builders.push({ kind: "multitrack", lines: [] });
          else if (name === "Data" || name === "SimpleData") placemark.dataName = String((tag.attributes as Record<string, string>).name ?? "");
        }
      });
      parser.on("text", (t) => {
        text += t;
      });
      parser.on("cdata", (t) => {
        text += t;
      });
      parser.on("closetag", (tag: SaxesTag) => {
        const name = local(tag.name);
        path.pop();
        const parent = path[path.length - 1];
        const value = text;
        text = "";
        if (name === "Document" || name === "Folder") {
          containers.pop();
          return;
        }
        if (!placemark) {
          if (name === "name" && (parent === "Document" || parent === "Folder")) containers[containers.length - 1].name = value;
          return;
        }
        if (name === "Placemark") {
          emit({ geometry: placemark.geometry, properties: placemark.properties });
          placemark = undefined;
          return;
        }
        const top = placemark.builders[placemark.builders.length - 1];
        if (name === "coordinates") {
          const coords = parseTuples(value, file, blockStart);
          if (parent === "Point") attach({ type: "Point", coordinates: coords[0] ?? [] });
          else if (parent === "LineString") attach({ type: "LineString", coordinates: coords });
          else if (parent === "LinearRing") {
            if (top?.kind === "polygon") top.rings[path[path.length - 2] === "outerBoundaryIs" ? "unshift" : "push"](coords);
            else attach({ type: "LineString", coordinates: coords });
          }
        } else if (name === "coord" && top?.kind === "track") {
          const p = value.trim().split(/\s+/).map(Number);
          if (p.length < 2 || p.some((v) => !Number.isFinite(v))) throw new FormatError(`bad gx:coord "${value.trim().slice(0, 60)}"`, file, blockStart);
          top.coords.push(p.slice(0, 3));
        } else if (name === "Polygon" && top?.kind === "polygon") {
          placemark.builders.pop();
          attach({ type: "Polygon", coordinates: top.rings });
        } else if (name === "MultiGeometry" && top?.kind === "multi") {
          placemark.builders.pop();
          attach(homogeneous(top.parts));
        } else if (name === "Track" && top?.kind === "track") {
          placemark.builders.pop();
          const outer = placemark.builders[placemark.builders.length - 1];
          if (outer?.kind === "multitrack") outer.lines.push(top.coords);
          else attach({ type: "LineString", coordinates: top.coords });
        } else if (name === "MultiTrack" && top?.kind === "multitrack") {
          placemark.builders.pop();
          attach({ type: "MultiLineString", coordinates: top.lines });
        } else if ((name === "value" && parent === "Data") || name === "SimpleData") {
          if (placemark.dataName) placemark.properties[placemark.dataName] = value;
        } else if (parent === "Placemark" || parent === "TimeSpan" || parent === "TimeStamp" || GEOMETRY_ELEMENTS.has(parent ?? "")) {
          if (name in TEXT_PROPERTIES && !(name === "name" && parent !== "Placemark")) {
            // Times as GDAL writes them back: whole seconds without a zero fraction.
            if (name === "altitudeMode" && value.trim() === "clampToGround") return;
            placemark.properties[TEXT_PROPERTIES[name]] = parent === "TimeSpan" || parent === "TimeStamp" ? value.trim().replace(/\.0+(?=Z|[+-]\d\d(:?\d\d)?$|$)/, "") : value;
          }
          else if (INT_PROPERTIES.has(name)) {
            const v = Number(value.trim() === "true" ? 1 : value.trim() === "false" ? 0 : value.trim());
            if (Number.isInteger(v)) placemark.properties[name] = v;
          }
        }
      });

      const decoder = new TextDecoder("utf-8");
      const blocks = new BlockReader(source, options.blockSize ?? 1 << 20);
      for (let b = await blocks.next(); b; b = await blocks.next()) {
        signal?.throwIfAborted();
        blockStart = position;
        position += b.byteLength;
        parser.write(decoder.decode(b, { stream: true }));
        yield* ready.splice(0);
      }
      blockStart = position;
      parser.write(decoder.decode());
      parser.close();
      if (!sawKml) throw new FormatError("not a KML document (no <kml> element)", file, 0);
      if (current) ready.push({ layer: current.layer, crs: "EPSG:4326", features: current.features, bytesRead: position });
      yield* ready.splice(0);
    },
  };
}
