/**
 * 3D Tiles (`3DTilesPnts`, `3DTilesGlbc`, ContextScene cameras) in 3d-tiles-renderer with three.js: orbit,
 * point size, points coloured by RGB, intensity or classification, and a camera that flies to the data.
 * The tileset is turned so that its ground is level at the origin: a georeferenced one from its place on the
 * globe, another from the z-up axis of 3D Tiles (ReorientationPlugin).
 */
import { useEffect, useRef, useState } from "react";
import {
  AmbientLight, BufferAttribute, Color, DirectionalLight, type BufferGeometry, type Object3D, PerspectiveCamera, Points, PointsMaterial, Scene, Sphere, Vector3, WebGLRenderer,
} from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { MeshoptDecoder } from "three/examples/jsm/libs/meshopt_decoder.module.js";
import { TilesRenderer } from "3d-tiles-renderer";
import { GLTFExtensionsPlugin, ImplicitTilingPlugin, ReorientationPlugin } from "3d-tiles-renderer/plugins";

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

function recolour(points: Points, mode: ColourMode, size: number, heightRange: [number, number]): void {
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
      world.fromBufferAttribute(pos, i).applyMatrix4(points.matrixWorld);
      const t = (world.y - heightRange[0]) / Math.max(1e-9, heightRange[1] - heightRange[0]);
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

export function TilesViewer({ url, sas }: { url: string; sas: (u: string) => string }) {
  const host = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [mode, setMode] = useState<ColourMode>("rgb");
  const [size, setSize] = useState(3);
  const [status, setStatus] = useState<{ loaded: number; error?: string; ready: boolean }>({ loaded: 0, ready: false });
  const api = useRef<{ fly(): void; apply(mode: ColourMode, size: number): void }>(undefined);

  useEffect(() => {
    const el = host.current!;
    const renderer = new WebGLRenderer({ canvas: canvas.current!, antialias: true, preserveDrawingBuffer: true });
    renderer.setPixelRatio(Math.min(2, window.devicePixelRatio));
    renderer.setClearColor(0x1d232a);
    const scene = new Scene();
    scene.add(new AmbientLight(0xffffff, 1.5));
    const sun = new DirectionalLight(0xffffff, 2);
    sun.position.set(1, 2, 1.5);
    scene.add(sun);
    const camera = new PerspectiveCamera(60, 1, 0.1, 1e7);
    camera.position.set(0, 50, 100);
    const controls = new OrbitControls(camera, renderer.domElement);
    controls.enableDamping = true;
    controls.listenToKeyEvents(el);
    // OrbitControls pans with the arrow keys; + and - zoom towards and away from the target.
    const onKey = (e: KeyboardEvent) => {
      const factor = e.key === "+" || e.key === "=" ? 0.8 : e.key === "-" || e.key === "_" ? 1.25 : 0;
      if (!factor) return;
      e.preventDefault();
      camera.position.sub(controls.target).multiplyScalar(factor).add(controls.target);
      controls.update();
    };
    el.addEventListener("keydown", onKey);

    const tiles = new TilesRenderer(url);
    // 3DTilesGlbc: GLB contents compressed with EXT_meshopt_compression, laid out by implicit tiling (subtrees).
    tiles.registerPlugin(new ImplicitTilingPlugin());
    tiles.registerPlugin(new GLTFExtensionsPlugin({ meshoptDecoder: MeshoptDecoder }));
    tiles.registerPlugin(new ReorientationPlugin({ up: "+z", recenter: true }));
    // Last, so that it signs the URLs the other plugins rewrite (subtrees, implicit tiles) too.
    tiles.registerPlugin({ name: "RealconvSasPlugin", preprocessURL: (u: string | URL) => sas(String(u)) });
    tiles.errorTarget = 4;
    tiles.setCamera(camera);
    scene.add(tiles.group);

    let current = { mode: "rgb" as ColourMode, size: 3 };
    let loaded = 0;
    const heightRange: [number, number] = [0, 1];
    const sphere = new Sphere();
    // The tileset's bounds come in the frame of its group, which the reorientation moves.
    const bounds = () => {
      if (!tiles.getBoundingSphere(sphere)) return false;
      tiles.group.updateMatrixWorld();
      sphere.applyMatrix4(tiles.group.matrixWorld);
      return true;
    };
    const updateHeights = () => {
      if (bounds()) {
        heightRange[0] = sphere.center.y - sphere.radius * 0.5;
        heightRange[1] = sphere.center.y + sphere.radius * 0.5;
      }
    };
    const fly = () => {
      if (!bounds()) return;
      const distance = sphere.radius / Math.sin((camera.fov * Math.PI) / 360);
      const dir = new Vector3(0.6, 0.7, 1).normalize();
      camera.position.copy(sphere.center).addScaledVector(dir, distance * 0.7);
      camera.near = Math.max(0.01, distance / 1000);
      camera.far = distance * 100;
      camera.updateProjectionMatrix();
      controls.target.copy(sphere.center);
      controls.update();
    };
    let flown = false;
    tiles.addEventListener("load-model", ({ scene: model }) => {
      loaded++;
      updateHeights();
      eachPoints(model, (p) => recolour(p, current.mode, current.size, heightRange));
      if (!flown) {
        flown = true;
        fly();
      }
      setStatus((s) => ({ ...s, loaded, ready: true }));
    });
    tiles.addEventListener("load-error", ({ error, url: failed }) => setStatus((s) => ({ ...s, error: `${String(failed).split("?")[0]}: ${error.message}` })));
    api.current = {
      fly,
      apply(mode, size) {
        current = { mode, size };
        updateHeights();
        tiles.forEachLoadedModel((model) => eachPoints(model, (p) => recolour(p, mode, size, heightRange)));
      },
    };

    const resize = () => {
      const w = Math.max(1, el.clientWidth);
      const h = Math.max(1, el.clientHeight);
      renderer.setSize(w, h, false);
      camera.aspect = w / h;
      camera.updateProjectionMatrix();
      tiles.setResolutionFromRenderer(camera, renderer);
    };
    const observer = new ResizeObserver(resize);
    observer.observe(el);
    resize();

    let frame = 0;
    const loop = () => {
      frame = requestAnimationFrame(loop);
      // Until the first content arrives the camera follows the tileset's bounds, wherever the plugins put them.
      if (!flown) fly();
      controls.update();
      camera.updateMatrixWorld();
      tiles.update();
      renderer.render(scene, camera);
    };
    loop();
    return () => {
      cancelAnimationFrame(frame);
      el.removeEventListener("keydown", onKey);
      observer.disconnect();
      controls.dispose();
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
        <span className="muted" role="status">{status.ready ? `${status.loaded} tiles loaded` : "Loading tiles…"}</span>
      </div>
      {status.error && <p className="error" role="alert">{status.error}</p>}
      <div
        ref={host}
        className="viewer-canvas"
        tabIndex={0}
        aria-label="3D view: drag to orbit, arrow keys to pan, + and - or the wheel to zoom"
        data-testid="tiles-viewer"
        data-tiles-loaded={status.loaded}
      >
        <canvas ref={canvas} />
      </div>
    </div>
  );
}
