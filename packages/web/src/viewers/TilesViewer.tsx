/**
 * 3D Tiles (`3DTilesPnts`, `3DTilesGlbc`, ContextScene cameras) in 3d-tiles-renderer with three.js: point
 * size, points coloured by RGB, intensity, classification or height, and a camera that flies to the data.
 * A georeferenced tileset (in ECEF, EPSG:4978: its bounds near the WGS84 ellipsoid, or a `region` volume) is
 * shown at its place on a WGS84 globe, with GlobeControls; another one in a local frame, its z-up axis turned
 * up (ReorientationPlugin), with OrbitControls.
 */
import { useEffect, useRef, useState } from "react";
import {
  AmbientLight, BufferAttribute, Color, DirectionalLight, type BufferGeometry, type Object3D, MathUtils, Matrix4, PerspectiveCamera, Points, PointsMaterial, Scene,
  Sphere, Vector3, WebGLRenderer,
} from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { MeshoptDecoder } from "three/examples/jsm/libs/meshopt_decoder.module.js";
import { GlobeControls, TilesRenderer, WGS84_ELLIPSOID } from "3d-tiles-renderer";
import { GLTFExtensionsPlugin, ImplicitTilingPlugin, ReorientationPlugin, UpdateOnChangePlugin } from "3d-tiles-renderer/plugins";
import { createGlobe, type Globe } from "./globe";

export type ColourMode = "rgb" | "intensity" | "classification" | "height";

/** ASPRS LAS classes. */
const CLASS_COLOURS: Record<number, [number, number, number]> = {
  0: [0.6, 0.6, 0.6], 1: [0.75, 0.75, 0.75], 2: [0.63, 0.45, 0.26], 3: [0.6, 0.85, 0.45], 4: [0.3, 0.7, 0.25], 5: [0.1, 0.45, 0.1],
  6: [0.9, 0.3, 0.2], 7: [0.9, 0.2, 0.9], 8: [1, 1, 0], 9: [0.2, 0.45, 0.95], 10: [0.5, 0.3, 0.1], 11: [0.35, 0.35, 0.35],
  12: [1, 0.9, 0.6], 13: [0.9, 0.9, 0.2], 14: [0.9, 0.6, 0.2], 15: [0.6, 0.2, 0.9], 16: [0.2, 0.9, 0.9], 17: [0.6, 0.6, 0.9], 18: [1, 0.4, 0.6],
};

interface Original {
  color?: BufferAttribute;
}

/** A per-point value: a glTF attribute (`_INTENSITY`, loaded lower-case) or a pnts batch-table property. */
function pointValues(points: Points, names: string[]): ArrayLike<number> | undefined {
  const geometry = points.geometry as BufferGeometry;
  for (const [key, attr] of Object.entries(geometry.attributes)) {
    if (names.includes(key.replace(/^_/, "").toLowerCase())) return (attr as BufferAttribute).array as ArrayLike<number>;
  }
  const table = (points as Points & { batchTable?: { getKeys(): string[]; getPropertyArray(k: string): unknown } }).batchTable;
  if (table) {
    for (const key of table.getKeys()) {
      if (!names.includes(key.toLowerCase())) continue;
      const v = table.getPropertyArray(key);
      if (v && typeof v === "object" && "length" in (v as object)) return v as ArrayLike<number>;
    }
  }
  return undefined;
}

/** Heights for the height colours: along `up` from `centre`, from -half to +half. */
interface Heights {
  centre: Vector3;
  up: Vector3;
  half: number;
}

function recolour(points: Points, mode: ColourMode, size: number, heights: Heights): void {
  const material = points.material as PointsMaterial;
  const geometry = points.geometry as BufferGeometry;
  const original = (points.userData.realconv ??= { color: geometry.getAttribute("color") as BufferAttribute | undefined }) as Original;
  material.size = size;
  material.sizeAttenuation = false;
  const count = geometry.getAttribute("position").count;
  let colours: Float32Array | undefined;
  if (mode === "intensity") {
    const v = pointValues(points, ["intensity"]);
    if (v) {
      let max = 0;
      for (let i = 0; i < v.length; i++) if (v[i] > max) max = v[i];
      const scale = max > 255 ? 65535 : 255;
      colours = new Float32Array(count * 3);
      for (let i = 0; i < count; i++) colours.fill(Math.sqrt((v[i] ?? 0) / scale), i * 3, i * 3 + 3);
    }
  } else if (mode === "classification") {
    const v = pointValues(points, ["classification"]);
    if (v) {
      colours = new Float32Array(count * 3);
      for (let i = 0; i < count; i++) colours.set(CLASS_COLOURS[(v[i] ?? 1) & 31] ?? [1, 1, 1], i * 3);
    }
  } else if (mode === "height") {
    const pos = geometry.getAttribute("position");
    const world = new Vector3();
    colours = new Float32Array(count * 3);
    const c = new Color();
    points.updateMatrixWorld();
    for (let i = 0; i < count; i++) {
      world.fromBufferAttribute(pos, i).applyMatrix4(points.matrixWorld).sub(heights.centre);
      const t = (world.dot(heights.up) + heights.half) / Math.max(1e-9, 2 * heights.half);
      c.setHSL(0.66 * (1 - Math.min(1, Math.max(0, t))), 0.9, 0.5);
      colours.set([c.r, c.g, c.b], i * 3);
    }
  }
  if (colours) {
    geometry.setAttribute("color", new BufferAttribute(colours, 3));
    material.vertexColors = true;
  } else if (original.color) {
    geometry.setAttribute("color", original.color);
    material.vertexColors = true;
  } else {
    geometry.deleteAttribute("color");
    material.vertexColors = false;
  }
  material.needsUpdate = true;
}

function eachPoints(root: Object3D, fn: (p: Points) => void): void {
  root.traverse((o) => {
    if ((o as Points).isPoints) fn(o as Points);
  });
}

export type Frame = "pending" | "local" | "globe";

/** Georeferenced: a `region` root volume, or bounds whose centre lies within 1,000 km of the WGS84 ellipsoid (ECEF). */
function georeferenced(tiles: TilesRenderer, sphere: Sphere): boolean {
  const bounded = tiles.getBoundingSphere(sphere);
  const volume = (tiles.root as { boundingVolume?: { region?: unknown } } | null)?.boundingVolume;
  if (volume?.region && bounded) return true;
  if (!bounded || sphere.center.length() < 1e6) return false;
  return Math.abs(WGS84_ELLIPSOID.getPositionElevation(sphere.center)) < 1e6;
}

const LABELS: Record<Frame, string> = {
  pending: "3D view",
  local: "3D view: drag to orbit, arrow keys to pan, + and - or the wheel to zoom",
  globe: "3D view on the globe: drag to move, right-drag or Shift-drag to rotate, arrow keys or W A S D to fly, Q and E up and down, + and - or the wheel to zoom",
};

const fmt = (v: { x: number; y: number; z: number }, digits: number) => [v.x, v.y, v.z].map((c) => c.toFixed(digits)).join(",");

export function TilesViewer({ url, sas }: { url: string; sas: (u: string) => string }) {
  const host = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [mode, setMode] = useState<ColourMode>("rgb");
  const [size, setSize] = useState(3);
  const [frame, setFrame] = useState<Frame>("pending");
  const [status, setStatus] = useState<{ loaded: number; error?: string; ready: boolean }>({ loaded: 0, ready: false });
  const api = useRef<{ fly(): void; wholeGlobe(): void; apply(mode: ColourMode, size: number): void }>(undefined);

  useEffect(() => {
    const el = host.current!;
    // Logarithmic depth: centimetres apart near the camera and a globe thousands of kilometres away.
    const renderer = new WebGLRenderer({ canvas: canvas.current!, antialias: true, preserveDrawingBuffer: true, logarithmicDepthBuffer: true });
    renderer.setPixelRatio(Math.min(2, window.devicePixelRatio));
    renderer.setClearColor(0x1d232a);
    renderer.autoClear = false;
    const scene = new Scene();
    scene.add(new AmbientLight(0xffffff, 1.5));
    const sun = new DirectionalLight(0xffffff, 2);
    sun.position.set(1, 2, 1.5);
    scene.add(sun);
    const camera = new PerspectiveCamera(60, 1, 0.1, 1e7);
    camera.position.set(0, 50, 100);

    const tiles = new TilesRenderer(url);
    // 3DTilesGlbc: GLB contents compressed with EXT_meshopt_compression, laid out by implicit tiling (subtrees).
    tiles.registerPlugin(new ImplicitTilingPlugin());
    tiles.registerPlugin(new GLTFExtensionsPlugin({ meshoptDecoder: MeshoptDecoder }));
    // Frames are drawn when something changed only (the camera, tiles, colours): an idle view costs nothing.
    tiles.registerPlugin(new UpdateOnChangePlugin());
    // Last, so that it signs the URLs the other plugins rewrite (subtrees, implicit tiles) too.
    tiles.registerPlugin({ name: "RealconvSasPlugin", preprocessURL: (u: string | URL) => sas(String(u)) });
    tiles.errorTarget = 4;
    tiles.setCamera(camera);
    scene.add(tiles.group);

    let kind: Frame = "pending";
    let orbit: OrbitControls | undefined;
    let globeControls: GlobeControls | undefined;
    let globe: Globe | undefined;
    let current = { mode: "rgb" as ColourMode, size: 3 };
    let loaded = 0;
    const heights: Heights = { centre: new Vector3(), up: new Vector3(0, 1, 0), half: 1 };
    const sphere = new Sphere();
    const v = new Vector3();
    const up = new Vector3();
    // The tileset's bounds come in the frame of its group, which the reorientation moves (local frame only).
    const bounds = () => {
      if (!tiles.getBoundingSphere(sphere)) return false;
      tiles.group.updateMatrixWorld();
      sphere.applyMatrix4(tiles.group.matrixWorld);
      return true;
    };
    /** The local vertical: the ellipsoid's normal on the globe, +Y in the local frame. */
    const upAt = (p: Vector3, target: Vector3) => (kind === "globe" ? WGS84_ELLIPSOID.getPositionToNormal(p, target) : target.set(0, 1, 0));
    const updateHeights = () => {
      if (!bounds()) return;
      heights.centre.copy(sphere.center);
      upAt(sphere.center, heights.up);
      heights.half = sphere.radius * 0.5;
    };
    /** Half the narrower angle of view: what must hold the data in a tall, narrow window too. */
    const halfFov = () => {
      const vertical = MathUtils.degToRad(camera.fov) / 2;
      return Math.min(vertical, Math.atan(Math.tan(vertical) * camera.aspect));
    };
    const fly = () => {
      if (!bounds()) return;
      const distance = sphere.radius / Math.sin(halfFov());
      if (kind === "globe") {
        // From the south, 50° down, the local vertical up on the screen.
        const cart = { lat: 0, lon: 0, height: 0 };
        WGS84_ELLIPSOID.getPositionToCartographic(sphere.center, cart);
        const east = new Vector3();
        const north = new Vector3();
        WGS84_ELLIPSOID.getEastNorthUpAxes(cart.lat, cart.lon, east, north, up);
        const tilt = MathUtils.degToRad(50);
        v.copy(up).multiplyScalar(Math.sin(tilt)).addScaledVector(north, -Math.cos(tilt));
        camera.position.copy(sphere.center).addScaledVector(v, distance * 0.6);
        camera.up.copy(up);
        camera.lookAt(sphere.center);
        camera.updateMatrixWorld();
        globeControls?.resetState();
        return;
      }
      const dir = new Vector3(0.6, 0.7, 1).normalize();
      camera.position.copy(sphere.center).addScaledVector(dir, distance * 0.7);
      camera.near = Math.max(0.01, distance / 1000);
      camera.far = distance * 100;
      camera.updateProjectionMatrix();
      orbit?.target.copy(sphere.center);
      orbit?.update();
    };
    /** The whole Earth, the data at the centre of the view, north up. */
    const wholeGlobe = () => {
      if (kind !== "globe" || !bounds()) return;
      const cart = { lat: 0, lon: 0, height: 0 };
      WGS84_ELLIPSOID.getPositionToCartographic(sphere.center, cart);
      const east = new Vector3();
      const north = new Vector3();
      WGS84_ELLIPSOID.getEastNorthUpAxes(cart.lat, cart.lon, east, north, up);
      camera.position.copy(up).multiplyScalar((1.15 * WGS84_ELLIPSOID.radius.x) / Math.sin(halfFov()));
      camera.up.copy(north);
      camera.lookAt(0, 0, 0);
      camera.updateMatrixWorld();
      globeControls?.resetState();
    };

    let dirty = true;
    const redraw = () => {
      dirty = true;
    };
    for (const type of ["needs-update", "load-model", "dispose-model", "tile-visibility-change"] as const) tiles.addEventListener(type, redraw);

    tiles.addEventListener("load-root-tileset", () => {
      dirty = true;
      if (georeferenced(tiles, sphere)) {
        kind = "globe";
        globe = createGlobe(sphere.center.clone());
        globeControls = new GlobeControls(scene, camera, el);
        globeControls.setEllipsoid(tiles.ellipsoid, tiles.group);
        globeControls.enableDamping = true;
        // No terrain to stay above: nothing to raycast under the camera each frame.
        globeControls.adjustHeight = false;
        globeControls.enableFlight = true;
        // Metres per second: flightSpeed x 2 x max(altitude, 1000 m).
        globeControls.flightSpeed = 0.05;
      } else {
        kind = "local";
        tiles.registerPlugin(new ReorientationPlugin({ up: "+z", recenter: true }));
        orbit = new OrbitControls(camera, renderer.domElement);
        orbit.enableDamping = true;
        orbit.listenToKeyEvents(el);
      }
      setFrame(kind);
    });

    // + and - zoom towards and away from the point at the centre of the view (OrbitControls pans with the
    // arrow keys; on the globe, they fly).
    const onKey = (e: KeyboardEvent) => {
      const factor = e.key === "+" || e.key === "=" ? 0.8 : e.key === "-" || e.key === "_" ? 1.25 : 0;
      if (!factor) return;
      e.preventDefault();
      if (globeControls) {
        globeControls.getPivotPoint(v);
        camera.position.sub(v).multiplyScalar(factor).add(v);
        const max = (2.5 * WGS84_ELLIPSOID.radius.x) / Math.sin(halfFov());
        if (camera.position.length() > max) camera.position.setLength(max);
        camera.updateMatrixWorld();
      } else if (orbit) {
        camera.position.sub(orbit.target).multiplyScalar(factor).add(orbit.target);
        orbit.update();
      }
      dirty = true;
    };
    el.addEventListener("keydown", onKey);

    let flown = false;
    tiles.addEventListener("load-model", ({ scene: model }) => {
      loaded++;
      updateHeights();
      eachPoints(model, (p) => recolour(p, current.mode, current.size, heights));
      if (!flown) {
        flown = true;
        fly();
      }
      setStatus((s) => ({ ...s, loaded, ready: true }));
    });
    tiles.addEventListener("load-error", ({ error, url: failed }) => setStatus((s) => ({ ...s, error: `${String(failed).split("?")[0]}: ${error.message}` })));
    api.current = {
      fly,
      wholeGlobe,
      apply(mode, size) {
        current = { mode, size };
        updateHeights();
        tiles.forEachLoadedModel((model) => eachPoints(model, (p) => recolour(p, mode, size, heights)));
        dirty = true;
      },
    };

    const resize = () => {
      const w = Math.max(1, el.clientWidth);
      const h = Math.max(1, el.clientHeight);
      renderer.setSize(w, h, false);
      camera.aspect = w / h;
      camera.updateProjectionMatrix();
      tiles.setResolutionFromRenderer(camera, renderer);
      dirty = true;
    };
    const observer = new ResizeObserver(resize);
    observer.observe(el);
    resize();

    // Where the camera is and how it is turned, for whoever reads the page (the browser tests do), at each frame drawn.
    const publish = () => {
      const m = camera.matrixWorld.elements;
      el.dataset.camera = fmt(camera.position, 2);
      el.dataset.cameraUp = fmt({ x: m[4], y: m[5], z: m[6] }, 4);
      el.dataset.cameraRight = fmt({ x: m[0], y: m[1], z: m[2] }, 4);
    };

    const drawn = { view: new Matrix4(), projection: new Matrix4() };
    let frame = 0;
    const loop = () => {
      frame = requestAnimationFrame(loop);
      // Until the first content arrives the camera follows the tileset's bounds, wherever the plugins put them.
      if (!flown && kind !== "pending") fly();
      (globeControls ?? orbit)?.update();
      camera.updateMatrixWorld();
      if (!drawn.view.equals(camera.matrixWorld) || !drawn.projection.equals(camera.projectionMatrix)) dirty = true;
      drawn.view.copy(camera.matrixWorld);
      drawn.projection.copy(camera.projectionMatrix);
      if (!globe) {
        tiles.update();
        if (dirty) {
          dirty = false;
          renderer.clear();
          renderer.render(scene, camera);
          publish();
        }
        return;
      }
      // On the globe the data has a clip range of its own, around its bounds (GlobeControls gives the
      // globe's, to the horizon); it is not drawn when the Earth is in between.
      const near = camera.near;
      const far = camera.far;
      const clip = (n: number, f: number) => {
        camera.near = n;
        camera.far = f;
        camera.updateProjectionMatrix();
      };
      let dataNear = near;
      let dataFar = far;
      if (bounds()) {
        const d = camera.position.distanceTo(sphere.center);
        dataFar = d + sphere.radius * 1.05;
        dataNear = Math.max(d - sphere.radius * 1.05, dataFar * 1e-7, 1e-3);
        upAt(sphere.center, up);
        const visible = v.subVectors(camera.position, sphere.center).dot(up) > -(sphere.radius + 1000);
        if (visible !== tiles.group.visible) dirty = true;
        tiles.group.visible = visible;
      }
      clip(dataNear, dataFar);
      tiles.update();
      clip(near, far);
      if (!dirty) return;
      dirty = false;
      // The globe first, without depth: a surface a little above the data (data under the ellipsoid) must
      // not hide it. Then the data over it.
      renderer.clear();
      globe.update(camera);
      renderer.render(globe.scene, camera);
      renderer.clearDepth();
      clip(dataNear, dataFar);
      renderer.render(scene, camera);
      clip(near, far);
      publish();
    };
    loop();
    return () => {
      cancelAnimationFrame(frame);
      el.removeEventListener("keydown", onKey);
      observer.disconnect();
      orbit?.dispose();
      globeControls?.dispose();
      globe?.dispose();
      tiles.dispose();
      renderer.dispose();
    };
  }, [url, sas]);

  useEffect(() => api.current?.apply(mode, size), [mode, size]);

  return (
    <div className="viewer">
      <div className="viewer-tools" role="toolbar" aria-label="3D viewer">
        <label>
          Colour{" "}
          <select value={mode} onChange={(e) => setMode(e.target.value as ColourMode)}>
            <option value="rgb">RGB</option>
            <option value="intensity">Intensity</option>
            <option value="classification">Classification</option>
            <option value="height">Height</option>
          </select>
        </label>
        <label>
          Point size <input type="range" min={1} max={12} step={1} value={size} onChange={(e) => setSize(Number(e.target.value))} aria-valuetext={`${size} pixels`} />
        </label>
        <button type="button" onClick={() => api.current?.fly()}>Fly to the data</button>
        {frame === "globe" && <button type="button" onClick={() => api.current?.wholeGlobe()}>Whole globe</button>}
        <span className="muted" role="status">{status.ready ? `${status.loaded} tiles loaded` : "Loading tiles…"}{frame === "globe" ? ", on the WGS84 globe" : ""}</span>
      </div>
      {status.error && <p className="error" role="alert">{status.error}</p>}
      <div
        ref={host}
        className="viewer-canvas"
        tabIndex={0}
        aria-label={LABELS[frame]}
        data-testid="tiles-viewer"
        data-tiles-loaded={status.loaded}
        data-frame={frame}
      >
        <canvas ref={canvas} />
      </div>
    </div>
  );
}
