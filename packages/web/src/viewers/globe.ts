/**
 * A plain WGS84 globe drawn from nothing but the ellipsoid (no imagery, nothing fetched): a shaded surface and
 * a graticule, lines every 10° everywhere and every 1° around a place of interest, the lines on the far side
 * of the globe hidden. Everything in ECEF (EPSG:4978) metres, the frame of a georeferenced 3D Tiles tileset.
 */
import {
  AmbientLight, BufferGeometry, Color, DirectionalLight, Float32BufferAttribute, Group, LineSegments, Mesh, MeshLambertMaterial,
  type PerspectiveCamera, Scene, ShaderMaterial, SphereGeometry, Vector3,
} from "three";
import { WGS84_ELLIPSOID } from "3d-tiles-renderer";

/** The surface's colour, which the browser tests look for in a view of the whole globe. */
export const GLOBE_COLOUR = 0x2f5f8f;

const DEG = Math.PI / 180;

/** Line segments along meridians and parallels, `step` degrees apart, sampled every `sample` degrees. */
function graticule(step: number, sample: number, latRange: [number, number], lonRange: [number, number]): BufferGeometry {
  const out: number[] = [];
  const p = new Vector3();
  const push = (lat: number, lon: number) => {
    WGS84_ELLIPSOID.getCartographicToPosition(lat * DEG, lon * DEG, 0, p);
    out.push(p.x, p.y, p.z);
  };
  const [lat0, lat1] = latRange;
  const [lon0, lon1] = lonRange;
  for (let lon = Math.ceil(lon0 / step) * step; lon <= lon1 + 1e-9; lon += step) {
    if (lon1 - lon0 >= 360 && lon >= lon0 + 360 - 1e-9) break;
    for (let lat = lat0; lat < lat1 - 1e-9; lat += sample) {
      push(lat, lon);
      push(Math.min(lat1, lat + sample), lon);
    }
  }
  for (let lat = Math.ceil(lat0 / step) * step; lat <= lat1 + 1e-9; lat += step) {
    if (Math.abs(lat) >= 90 - 1e-9) continue;
    for (let lon = lon0; lon < lon1 - 1e-9; lon += sample) {
      push(lat, lon);
      push(lat, Math.min(lon1, lon + sample));
    }
  }
  const g = new BufferGeometry();
  g.setAttribute("position", new Float32BufferAttribute(out, 3));
  return g;
}

/** Lines in one colour, dropped where the ellipsoid hides them from the camera (`eye`, ECEF). */
function lineMaterial(colour: number, opacity: number): ShaderMaterial {
  const { x: a, z: b } = WGS84_ELLIPSOID.radius;
  return new ShaderMaterial({
    transparent: true,
    depthTest: false,
    depthWrite: false,
    uniforms: { eye: { value: new Vector3() }, colour: { value: new Color(colour) }, opacity: { value: opacity } },
    vertexShader: `
      uniform vec3 eye;
      varying float facing;
      void main() {
        vec3 n = normalize(position * vec3(${(1 / (a * a)).toExponential(12)}, ${(1 / (a * a)).toExponential(12)}, ${(1 / (b * b)).toExponential(12)}));
        facing = dot(eye - position, n);
        gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
      }`,
    fragmentShader: `
      uniform vec3 colour;
      uniform float opacity;
      varying float facing;
      void main() {
        if (facing < 0.0) discard;
        gl_FragColor = vec4(colour, opacity);
      }`,
  });
}

export interface Globe {
  scene: Scene;
  /** Before each frame: the camera's place lights the globe and decides which lines show. */
  update(camera: PerspectiveCamera): void;
  dispose(): void;
}

/** The globe, with 1° lines within 6° of `focus` (ECEF), where a camera close to the data sees them. */
export function createGlobe(focus: Vector3): Globe {
  const scene = new Scene();
  const { x: a, z: b } = WGS84_ELLIPSOID.radius;
  // 1° facets: their edges run along the graticule's whole degrees. Drawn without depth, before the data,
  // so that a surface a little under the data (or data under the ellipsoid) never hides the data.
  const surfaceGeometry = new SphereGeometry(1, 360, 180);
  surfaceGeometry.rotateX(Math.PI / 2);
  surfaceGeometry.scale(a, a, b);
  const surfaceMaterial = new MeshLambertMaterial({ color: GLOBE_COLOUR, depthTest: false, depthWrite: false });
  const surface = new Mesh(surfaceGeometry, surfaceMaterial);
  surface.name = "globe";
  scene.add(surface);

  const cart = { lat: 0, lon: 0, height: 0 };
  WGS84_ELLIPSOID.getPositionToCartographic(focus, cart);
  const lat = cart.lat / DEG;
  const lon = cart.lon / DEG;
  const coarse = new LineSegments(graticule(10, 0.5, [-90, 90], [-180, 180]), lineMaterial(0xa8c8e8, 0.55));
  const fineLat: [number, number] = [Math.max(-89, Math.floor(lat) - 6), Math.min(89, Math.ceil(lat) + 6)];
  const fineLon: [number, number] = [Math.floor(lon) - 6, Math.ceil(lon) + 6];
  const fine = new LineSegments(graticule(1, 0.05, fineLat, fineLon), lineMaterial(0xa8c8e8, 0.35));
  for (const l of [coarse, fine]) {
    l.frustumCulled = false;
    l.renderOrder = 1;
    scene.add(l);
  }

  scene.add(new AmbientLight(0xffffff, 0.9));
  const headlight = new DirectionalLight(0xffffff, 1.6);
  scene.add(headlight, headlight.target);

  return {
    scene,
    update(camera) {
      headlight.position.copy(camera.position);
      headlight.target.position.set(0, 0, 0);
      headlight.target.updateMatrixWorld();
      for (const l of [coarse, fine]) (l.material as ShaderMaterial).uniforms.eye.value.copy(camera.position);
      // The 1° lines only near the ground: from afar they would fill the view.
      fine.visible = WGS84_ELLIPSOID.getPositionElevation(camera.position) < 1_500_000;
    },
    dispose() {
      surfaceGeometry.dispose();
      surfaceMaterial.dispose();
      for (const l of [coarse, fine]) {
        l.geometry.dispose();
        (l.material as ShaderMaterial).dispose();
      }
    },
  };
}
