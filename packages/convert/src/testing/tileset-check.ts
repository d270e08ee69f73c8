/**
 * Test-only: checks a 3D Tiles tileset folder on disk the way a strict viewer would meet it, since
 * 3d-tiles-validator is not on npm.
 *
 * Walks tileset.json (explicit tiles, external tilesets, and implicit octrees/quadtrees through their
 * subtree files) and reports, with the file and tile at fault:
 * - bounding volumes (box, region, sphere) that do not contain their content's points or their children;
 * - geometric errors that grow from parent to child, or (explicit tiles) are not 0 at leaves;
 * - URIs that do not resolve to a file in the folder;
 * - `.pnts`, GLB and subtree headers, lengths and 8-byte paddings (the format decoders are strict);
 * - implicit availability that disagrees with the files: available content or child subtree without its
 *   file, a file for an unavailable tile or subtree, a tile available under an unavailable parent.
 * - (implicit) availableLevels that is not the deepest available level + 1, and available tiles with
 *   neither content nor an available child (a branch that leads to nothing);
 * - with `loadersGl`: contents loaders.gl cannot parse or reads differently, and a tree that
 *   `Tiles3DLoader` expands to other contents than the walk found (its implicit tiling support included).
 * Points are counted, and optionally collected in world coordinates (every tile transform applied; ECEF
 * for a georeferenced tileset), so tests can compare them with the input.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  decodePointTile,
  decodeSubtree,
  ecefToGeodetic,
  expandTemplate,
  IDENTITY_MATRIX,
  isAvailable,
  mortonDecode3,
  mortonIndex3,
  multiplyMatrices,
  subtreeTileCount,
  subtreeTileIndex,
  transformPoint,
  type BoundingVolume,
  type ImplicitTiling,
  type Tile,
  type Tileset,
} from "@realconv/formats";

export interface TilesetCheckOptions {
  /** The root document inside the folder. Default `tileset.json`. */
  tilesetFile?: string;
  /** Collect every point's world position into `positions`. */
  collectPositions?: boolean;
  /** Metres a point or child may stick out of a bounding volume. Default 1 mm plus 1e-6 of the volume's size. */
  tolerance?: number;
  /** Explicit leaves must have geometric error 0 (realconv's tilesets do). Default true. */
  leavesAtZero?: boolean;
  /**
   * Also parse every content with loaders.gl (`@loaders.gl/3d-tiles` for .pnts, `@loaders.gl/gltf` for GLB)
   * and compare its point count and positions with ours. Default false (slower).
   */
  loadersGl?: boolean;
}

export interface TilesetCheckResult {
  errors: string[];
  /** Tiles visited (explicit and available implicit ones). */
  tiles: number;
  /** Contents decoded. */
  contents: number;
  points: number;
  /** World xyz of every point, 3 * points, when `collectPositions`. */
  positions?: Float64Array;
}

type Mat4 = readonly number[];

/** A bounding volume in world coordinates, able to say whether a point is inside it. */
interface WorldVolume {
  contains(p: readonly number[], tolerance: number): boolean;
  /** Points spanning the volume (corners), for child-in-parent checks. */
  corners(): number[][];
  size: number;
  describe: string;
}

function boxVolume(box: readonly number[], m: Mat4): WorldVolume {
  const c = transformPoint(m, box.slice(0, 3));
  const axes = [0, 1, 2].map((i) => {
    const a = box.slice(3 + 3 * i, 6 + 3 * i);
    return [m[0] * a[0] + m[4] * a[1] + m[8] * a[2], m[1] * a[0] + m[5] * a[1] + m[9] * a[2], m[2] * a[0] + m[6] * a[1] + m[10] * a[2]];
  });
  const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const cross = (a: readonly number[], b: readonly number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const lengths = axes.map((a) => Math.sqrt(dot(a, a)));
  const size = 2 * Math.hypot(...lengths);
  return {
    size,
    describe: `box centre ${c.map((v) => v.toFixed(3)).join(",")} half-lengths ${lengths.map((v) => v.toFixed(3)).join(",")}`,
    contains(p, tolerance) {
      const d0 = p[0] - c[0];
      const d1 = p[1] - c[1];
      const d2 = p[2] - c[2];
      for (let i = 0; i < 3; i++) {
        const u = axes[i];
        if (lengths[i] > 0) {
          if (Math.abs(d0 * u[0] + d1 * u[1] + d2 * u[2]) / lengths[i] > lengths[i] + tolerance) return false;
        } else {
          const d = [d0, d1, d2];
          // Flat box: the point must lie in the plane of the other two axes.
          const n = cross(axes[(i + 1) % 3], axes[(i + 2) % 3]);
          const nl = Math.sqrt(dot(n, n));
          if (nl > 0 && Math.abs(dot(d, n)) / nl > tolerance) return false;
        }
      }
      return true;
    },
    corners() {
      const out: number[][] = [];
      for (let k = 0; k < 8; k++) {
        const s = [k & 1 ? 1 : -1, k & 2 ? 1 : -1, k & 4 ? 1 : -1];
        out.push([0, 1, 2].map((j) => c[j] + s[0] * axes[0][j] + s[1] * axes[1][j] + s[2] * axes[2][j]));
      }
      return out;
    },
  };
}

function sphereVolume(sphere: readonly number[], m: Mat4): WorldVolume {
  const c = transformPoint(m, sphere.slice(0, 3));
  const scale = Math.max(...[0, 1, 2].map((i) => Math.hypot(m[4 * i], m[4 * i + 1], m[4 * i + 2])));
  const r = sphere[3] * scale;
  return {
    size: 2 * r,
    describe: `sphere centre ${c.map((v) => v.toFixed(3)).join(",")} radius ${r.toFixed(3)}`,
    contains: (p, tolerance) => Math.hypot(p[0] - c[0], p[1] - c[1], p[2] - c[2]) <= r + tolerance,
    corners: () => [0, 1, 2].flatMap((a) => [-1, 1].map((s) => c.map((v, j) => (j === a ? v + s * r : v)))),
  };
}

/** Regions are geodetic (EPSG:4979), never transformed by tile transforms. */
function regionVolume(region: readonly number[]): WorldVolume {
  const [west, south, east, north, minH, maxH] = region;
  const a = 6378137;
  return {
    size: Math.hypot((east - west) * a, (north - south) * a, maxH - minH),
    describe: `region ${region.map((v) => v.toFixed(9)).join(",")}`,
    contains(p, tolerance) {
      const [lon, lat, h] = ecefToGeodetic(p[0], p[1], p[2]);
      const angular = tolerance / a;
      const inLon = west <= east ? lon >= west - angular && lon <= east + angular : lon >= west - angular || lon <= east + angular;
      return inLon && lat >= south - angular && lat <= north + angular && h >= minH - tolerance && h <= maxH + tolerance;
    },
    corners() {
      const out: number[][] = [];
      for (const lon of [west, east]) for (const lat of [south, north]) for (const h of [minH, maxH]) out.push(geodeticRadians(lon, lat, h));
      return out;
    },
  };
}

function geodeticRadians(lon: number, lat: number, h: number): number[] {
  const e2 = (1 / 298.257223563) * (2 - 1 / 298.257223563);
  const n = 6378137 / Math.sqrt(1 - e2 * Math.sin(lat) ** 2);
  return [(n + h) * Math.cos(lat) * Math.cos(lon), (n + h) * Math.cos(lat) * Math.sin(lon), (n * (1 - e2) + h) * Math.sin(lat)];
}

function worldVolume(bv: BoundingVolume | undefined, m: Mat4): WorldVolume | string {
  if (!bv || typeof bv !== "object") return "has no boundingVolume";
  if ("box" in bv) return Array.isArray(bv.box) && bv.box.length === 12 && bv.box.every(Number.isFinite) ? boxVolume(bv.box, m) : "box is not 12 finite numbers";
  if ("sphere" in bv) return Array.isArray(bv.sphere) && bv.sphere.length === 4 && bv.sphere.every(Number.isFinite) && bv.sphere[3] >= 0 ? sphereVolume(bv.sphere, m) : "sphere is not 4 finite numbers with a radius >= 0";
  if ("region" in bv) {
    const r = bv.region;
    if (!Array.isArray(r) || r.length !== 6 || !r.every(Number.isFinite)) return "region is not 6 finite numbers";
    if (r[1] > r[3] || r[4] > r[5] || Math.abs(r[1]) > Math.PI / 2 || Math.abs(r[3]) > Math.PI / 2) return `region ${r.join(",")} has south > north, min > max height or a latitude past the poles`;
    return regionVolume(r);
  }
  return "boundingVolume has none of box, region, sphere";
}

/** Implicit tile bounding volume by even subdivision of the root's (box or region). */
function implicitVolume(root: BoundingVolume, level: number, x: number, y: number, z: number): BoundingVolume {
  const n = 2 ** level;
  if ("box" in root) {
    const b = root.box;
    const t = [x, y, z].map((c) => (2 * (c + 0.5)) / n - 1);
    const centre = [0, 1, 2].map((j) => b[j] + t[0] * b[3 + j] + t[1] * b[6 + j] + t[2] * b[9 + j]);
    return { box: [...centre, ...b.slice(3).map((v) => v / n)] };
  }
  const r = (root as { region: number[] }).region;
  const lon = (i: number) => r[0] + ((r[2] - r[0]) * i) / n;
  const lat = (i: number) => r[1] + ((r[3] - r[1]) * i) / n;
  const h = (i: number) => r[4] + ((r[5] - r[4]) * i) / n;
  return { region: [lon(x), lat(y), lon(x + 1), lat(y + 1), h(z), h(z + 1)] };
}

export async function checkTileset(folder: string, options: TilesetCheckOptions = {}): Promise<TilesetCheckResult> {
  const root = resolve(folder);
  const errors: string[] = [];
  const collect = options.collectPositions ?? false;
  const leavesAtZero = options.leavesAtZero ?? true;
  const baseTolerance = options.tolerance ?? 1e-3;
  let positions = collect ? new Float64Array(3 * 1024) : undefined;
  const result = { tiles: 0, contents: 0, points: 0 };
  const referenced = new Set<string>();
  const implicitPatterns: RegExp[] = [];
  /** Content files decoded, and whether an external tileset was met (loaders.gl does not follow those when it loads the root). */
  const decoded = new Set<string>();
  let external = false;

  // Every file of the folder, listed once: the implicit walk asks about thousands of unavailable tiles.
  const files = await listFiles(root);
  const existing = new Set(files);
  const tolerance = (v: WorldVolume) => baseTolerance + 1e-6 * v.size;
  const rel = (abs: string) => relative(root, abs).split(sep).join("/");

  /** Resolves a tile URI against the document that holds it; undefined (and an error) when it does not resolve. */
  const resolveUri = async (uri: unknown, baseDir: string, where: string): Promise<string | undefined> => {
    if (typeof uri !== "string" || uri.length === 0) {
      errors.push(`${where}: content uri ${JSON.stringify(uri)} is not a non-empty string`);
      return undefined;
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("/")) {
      errors.push(`${where}: uri ${uri} is absolute; a tileset folder needs relative URIs`);
      return undefined;
    }
    const path = resolve(baseDir, decodeURIComponent(uri.split(/[?#]/)[0]));
    if (path !== root && !path.startsWith(root + sep)) {
      errors.push(`${where}: uri ${uri} points outside the tileset folder`);
      return undefined;
    }
    referenced.add(path);
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile()) {
      errors.push(`${where}: uri ${uri} does not resolve (${rel(path)} missing)`);
      return undefined;
    }
    return path;
  };

  const addPositions = (world: Float64Array) => {
    if (!positions) return;
    const need = 3 * result.points;
    if (need > positions.length) {
      const grown = new Float64Array(Math.max(need, 2 * positions.length));
      grown.set(positions.subarray(0, 3 * result.points - world.length));
      positions = grown;
    }
    positions.set(world, 3 * result.points - world.length);
  };

  /** Decodes one content, checks its points against the tile's volume(s), counts and collects them. */
  const checkContent = async (path: string, m: Mat4, volumes: WorldVolume[], where: string) => {
    const bytes = new Uint8Array(await readFile(path));
    let tile;
    try {
      tile = await decodePointTile(bytes, rel(path));
    } catch (e) {
      errors.push(`${where}: ${(e as Error).message}`);
      return;
    }
    result.contents++;
    decoded.add(path);
    if (options.loadersGl) {
      const mismatch = await compareWithLoadersGl(bytes, tile.positions, tile.count, tile.format).catch((e: unknown) => `loaders.gl does not parse it: ${(e as Error).message}`);
      if (mismatch) errors.push(`${where}: ${rel(path)}: ${mismatch}`);
    }
    const world = new Float64Array(3 * tile.count);
    const outside = volumes.map(() => 0);
    const first: Array<number[] | undefined> = volumes.map(() => undefined);
    const tolerances = volumes.map(tolerance);
    const w = [0, 0, 0];
    for (let i = 0; i < tile.count; i++) {
      const x = tile.positions[3 * i];
      const y = tile.positions[3 * i + 1];
      const z = tile.positions[3 * i + 2];
      w[0] = m[0] * x + m[4] * y + m[8] * z + m[12];
      w[1] = m[1] * x + m[5] * y + m[9] * z + m[13];
      w[2] = m[2] * x + m[6] * y + m[10] * z + m[14];
      world[3 * i] = w[0];
      world[3 * i + 1] = w[1];
      world[3 * i + 2] = w[2];
      for (let k = 0; k < volumes.length; k++) {
        if (!volumes[k].contains(w, tolerances[k])) {
          outside[k]++;
          first[k] ??= [...w];
        }
      }
    }
    volumes.forEach((v, k) => {
      if (outside[k] > 0) errors.push(`${where}: ${outside[k]} of ${tile.count} points of ${rel(path)} lie outside the ${v.describe} (first at ${first[k]!.map((c) => c.toFixed(3)).join(",")})`);
    });
    result.points += tile.count;
    addPositions(world);
  };

  const checkChildInside = (child: WorldVolume, parent: WorldVolume, where: string) => {
    const out = child.corners().filter((c) => !parent.contains(c, tolerance(parent)));
    if (out.length > 0) errors.push(`${where}: bounding volume (${child.describe}) is not inside its parent's (${parent.describe})`);
  };

  const walkTileset = async (path: string, parentMatrix: Mat4, parentVolume: WorldVolume | undefined, parentError: number, where: string) => {
    let tileset: Tileset;
    try {
      tileset = JSON.parse(await readFile(path, "utf8")) as Tileset;
    } catch (e) {
      errors.push(`${where}: ${rel(path)} does not parse as JSON: ${(e as Error).message}`);
      return;
    }
    const name = rel(path);
    if (!tileset.asset || (tileset.asset.version !== "1.0" && tileset.asset.version !== "1.1")) errors.push(`${name}: asset.version ${JSON.stringify(tileset.asset?.version)} is not "1.0" or "1.1"`);
    if (typeof tileset.geometricError !== "number" || !(tileset.geometricError >= 0)) errors.push(`${name}: geometricError ${tileset.geometricError} is not a number >= 0`);
    if (!tileset.root || typeof tileset.root !== "object") {
      errors.push(`${name}: no root tile`);
      return;
    }
    if (tileset.root.geometricError > tileset.geometricError) errors.push(`${name}: root geometricError ${tileset.root.geometricError} exceeds the tileset's ${tileset.geometricError}`);
    if (tileset.root.refine === undefined) errors.push(`${name}: the root tile has no refine (required at the root)`);
    const version = tileset.asset?.version === "1.0" ? "1.0" : "1.1";
    await walkTile(tileset.root, dirname(path), parentMatrix, parentVolume, Math.min(parentError, tileset.geometricError), `${name} root`, version, new Set(tileset.extensionsUsed ?? []));
  };

  const walkTile = async (tile: Tile, baseDir: string, parentMatrix: Mat4, parentVolume: WorldVolume | undefined, parentError: number, where: string, version: "1.0" | "1.1", extensions: Set<string>): Promise<void> => {
    result.tiles++;
    let m = parentMatrix;
    if (tile.transform !== undefined) {
      if (!Array.isArray(tile.transform) || tile.transform.length !== 16 || !tile.transform.every(Number.isFinite)) errors.push(`${where}: transform is not 16 finite numbers`);
      else m = multiplyMatrices(parentMatrix, tile.transform);
    }
    const volume = worldVolume(tile.boundingVolume, m);
    if (typeof volume === "string") {
      errors.push(`${where}: ${volume}`);
      return;
    }
    if (parentVolume) checkChildInside(volume, parentVolume, where);
    if (typeof tile.geometricError !== "number" || !(tile.geometricError >= 0)) errors.push(`${where}: geometricError ${tile.geometricError} is not a number >= 0`);
    else if (tile.geometricError > parentError) errors.push(`${where}: geometricError ${tile.geometricError} exceeds its parent's ${parentError}`);
    if (tile.refine !== undefined && tile.refine !== "ADD" && tile.refine !== "REPLACE") errors.push(`${where}: refine ${JSON.stringify(tile.refine)} is not ADD or REPLACE`);

    if (tile.implicitTiling) {
      if (version === "1.0" && !extensions.has("3DTILES_implicit_tiling")) errors.push(`${where}: implicitTiling needs asset.version "1.1" (or 3DTILES_implicit_tiling in extensionsUsed)`);
      await walkImplicit(tile, tile.implicitTiling, baseDir, m, where);
      return;
    }
    const contents = [...(tile.content ? [tile.content] : []), ...(tile.contents ?? [])];
    for (const content of contents) {
      const path = await resolveUri(content?.uri, baseDir, where);
      if (!path) continue;
      if (path.endsWith(".json")) {
        external = true;
        await walkTileset(path, m, volume, tile.geometricError, `${where} -> ${rel(path)}`);
        continue;
      }
      const volumes = [volume];
      if (content.boundingVolume) {
        const cv = worldVolume(content.boundingVolume, m);
        if (typeof cv === "string") errors.push(`${where}: content ${cv}`);
        else volumes.push(cv);
      }
      if (version === "1.0" && path.endsWith(".glb") && !extensions.has("3DTILES_content_gltf")) errors.push(`${where}: GLB content ${rel(path)} needs asset.version "1.1" (or 3DTILES_content_gltf in extensionsUsed)`);
      await checkContent(path, m, volumes, where);
    }
    const children = tile.children ?? [];
    if (!Array.isArray(children)) {
      errors.push(`${where}: children is not an array`);
      return;
    }
    if (children.length === 0 && leavesAtZero && tile.geometricError !== 0 && !contents.some((c) => c?.uri?.endsWith(".json"))) {
      errors.push(`${where}: leaf geometricError is ${tile.geometricError}, expected 0`);
    }
    for (let i = 0; i < children.length; i++) await walkTile(children[i], baseDir, m, volume, tile.geometricError, `${where}/children[${i}]`, version, extensions);
  };

  const walkImplicit = async (tile: Tile, tiling: ImplicitTiling, baseDir: string, m: Mat4, where: string) => {
    const scheme = tiling.subdivisionScheme;
    if (scheme !== "OCTREE" && scheme !== "QUADTREE") {
      errors.push(`${where}: subdivisionScheme ${JSON.stringify(scheme)} is not OCTREE or QUADTREE`);
      return;
    }
    if (scheme === "QUADTREE") {
      errors.push(`${where}: QUADTREE implicit tiling is not checked (realconv writes octrees)`);
      return;
    }
    const { subtreeLevels, availableLevels } = tiling;
    if (!Number.isInteger(subtreeLevels) || subtreeLevels < 1 || !Number.isInteger(availableLevels) || availableLevels < 1) {
      errors.push(`${where}: subtreeLevels ${subtreeLevels} / availableLevels ${availableLevels} are not integers >= 1`);
      return;
    }
    const rootBv = tile.boundingVolume;
    if (!("box" in rootBv) && !("region" in rootBv)) {
      errors.push(`${where}: implicit tiling needs a box or region bounding volume`);
      return;
    }
    const contentTemplate = tile.content?.uri;
    const subtreeTemplate = tiling.subtrees?.uri;
    if (typeof subtreeTemplate !== "string") {
      errors.push(`${where}: implicitTiling.subtrees.uri is missing`);
      return;
    }
    const patternOf = (template: string) => new RegExp("^" + posix.join(rel(baseDir) || ".", template).replace(/^\.\//, "").replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{(level|x|y|z)\\?\}/g, "\\d+") + "$");
    implicitPatterns.push(patternOf(subtreeTemplate));
    if (contentTemplate) implicitPatterns.push(patternOf(contentTemplate));

    const visitSubtree = async (level: number, x: number, y: number, z: number, parentAvailable: boolean): Promise<void> => {
      const subtreeUri = expandTemplate(subtreeTemplate, level, x, y, z);
      const subtreeWhere = `${where} subtree ${level}/${x}/${y}/${z}`;
      const path = await resolveUri(subtreeUri, baseDir, subtreeWhere);
      if (!path) return;
      let subtree;
      try {
        subtree = decodeSubtree(new Uint8Array(await readFile(path)), subtreeLevels, rel(path));
      } catch (e) {
        errors.push(`${subtreeWhere}: ${(e as Error).message}`);
        return;
      }
      if (!isAvailable(subtree.tileAvailability, 0)) errors.push(`${subtreeWhere}: the subtree root tile is not available`);
      if (!parentAvailable) errors.push(`${subtreeWhere}: the subtree exists under an unavailable tile`);
      const levels = Math.min(subtreeLevels, availableLevels - level);
      for (let l = 0; l < subtreeLevels; l++) {
        const first = subtreeTileCount(l);
        for (let morton = 0; morton < 8 ** l; morton++) {
          const bit = first + morton;
          const available = isAvailable(subtree.tileAvailability, bit);
          const contentBits = subtree.contentAvailability;
          const [lx, ly, lz] = mortonDecode3(morton);
          const [gl, gx, gy, gz] = [level + l, (x << l) + lx, (y << l) + ly, (z << l) + lz];
          const tileWhere = `${where} tile ${gl}/${gx}/${gy}/${gz}`;
          const hasContent = contentBits.some((c) => isAvailable(c, bit));
          if (!available) {
            if (hasContent) errors.push(`${tileWhere}: content available but the tile is not`);
            continue;
          }
          if (l >= levels) {
            errors.push(`${tileWhere}: available beyond availableLevels ${availableLevels}`);
            continue;
          }
          if (l > 0) {
            const parentBit = subtreeTileIndex(l - 1, lx >> 1, ly >> 1, lz >> 1);
            if (!isAvailable(subtree.tileAvailability, parentBit)) errors.push(`${tileWhere}: available under an unavailable parent`);
          }
          if (gl > 0) result.tiles++; // the implicit root was counted as an explicit tile
          deepest = Math.max(deepest, gl);
          if (!hasContent) {
            // A tile with no content must lead to some: an available child here, or a child subtree.
            let child = false;
            for (let k = 0; k < 8 && !child; k++) {
              const [cx, cy, cz] = [2 * lx + (k & 1), 2 * ly + ((k >> 1) & 1), 2 * lz + ((k >> 2) & 1)];
              child = l + 1 < subtreeLevels ? isAvailable(subtree.tileAvailability, subtreeTileIndex(l + 1, cx, cy, cz)) : isAvailable(subtree.childSubtreeAvailability, mortonIndex3(cx, cy, cz));
            }
            if (!child) errors.push(`${tileWhere}: available with neither content nor an available child`);
          }
          const bv = implicitVolume(rootBv, gl, gx, gy, gz);
          const volume = worldVolume(bv, m) as WorldVolume;
          if (!contentTemplate) continue;
          const contentUri = expandTemplate(contentTemplate, gl, gx, gy, gz);
          const contentPath = resolve(baseDir, contentUri);
          if (hasContent) {
            const found = await resolveUri(contentUri, baseDir, tileWhere);
            if (found) await checkContent(found, m, [volume], tileWhere);
          } else if (existing.has(contentPath)) {
            errors.push(`${tileWhere}: content unavailable but ${rel(contentPath)} exists`);
            referenced.add(contentPath); // reported here, not again as unreferenced
          }
        }
      }
      // Child subtrees hang below the subtree's last level.
      for (let morton = 0; morton < 8 ** subtreeLevels; morton++) {
        const [cx, cy, cz] = mortonDecode3(morton);
        const [cl, gx, gy, gz] = [level + subtreeLevels, (x << subtreeLevels) + cx, (y << subtreeLevels) + cy, (z << subtreeLevels) + cz];
        const parentBit = subtreeTileIndex(subtreeLevels - 1, cx >> 1, cy >> 1, cz >> 1);
        const childPath = resolve(baseDir, expandTemplate(subtreeTemplate, cl, gx, gy, gz));
        if (isAvailable(subtree.childSubtreeAvailability, morton)) {
          if (cl >= availableLevels) errors.push(`${subtreeWhere}: child subtree ${cl}/${gx}/${gy}/${gz} available beyond availableLevels ${availableLevels}`);
          else await visitSubtree(cl, gx, gy, gz, isAvailable(subtree.tileAvailability, parentBit));
        } else if (existing.has(childPath)) {
          errors.push(`${subtreeWhere}: child subtree ${cl}/${gx}/${gy}/${gz} unavailable but ${rel(childPath)} exists`);
          referenced.add(childPath);
        }
      }
    };
    let deepest = -1;
    await visitSubtree(0, 0, 0, 0, true);
    if (deepest >= 0 && deepest !== availableLevels - 1) errors.push(`${where}: availableLevels is ${availableLevels} but the deepest available tile is at level ${deepest}`);
  };

  const rootDocument = join(root, options.tilesetFile ?? "tileset.json");
  await walkTileset(rootDocument, IDENTITY_MATRIX, undefined, Infinity, "");
  if (options.loadersGl && !external) {
    // The tree as @loaders.gl/3d-tiles expands it (implicit tiling: every subtree read when the tileset
    // loads): the same contents as our walk found.
    const name = rel(rootDocument);
    const theirs = await loadersGlContents(rootDocument).catch((e: unknown) => {
      errors.push(`${name}: @loaders.gl/3d-tiles does not load it: ${(e as Error).message}`);
      return undefined;
    });
    if (theirs) {
      const missing = [...decoded].filter((p) => !theirs.has(p)).map(rel).sort();
      const extra = [...theirs].filter((p) => !decoded.has(p)).map(rel).sort();
      if (missing.length > 0) errors.push(`${name}: @loaders.gl/3d-tiles finds no tile for ${missing.length} contents (${missing.slice(0, 5).join(", ")})`);
      if (extra.length > 0) errors.push(`${name}: @loaders.gl/3d-tiles finds contents the walk did not decode (${extra.slice(0, 5).join(", ")})`);
    }
  }

  // Files an implicit template would name but no available tile or subtree references.
  if (implicitPatterns.length > 0) {
    for (const file of files) {
      const name = rel(file);
      if (!referenced.has(file) && implicitPatterns.some((p) => p.test(name))) errors.push(`${name}: file matches an implicit template but no available tile or subtree names it`);
    }
  }
  const out: TilesetCheckResult = { errors: [...new Set(errors)], ...result };
  if (positions) out.positions = positions.slice(0, 3 * result.points);
  return out;
}

/**
 * Content files of every tile of the tree `Tiles3DLoader` builds from a root document on disk (local
 * files through a `fetch` of our own: loaders.gl reads only URLs in Node without its polyfills).
 */
async function loadersGlContents(rootDocument: string): Promise<Set<string>> {
  const { load } = await import("@loaders.gl/core");
  const { Tiles3DLoader } = await import("@loaders.gl/3d-tiles");
  const fetch = async (url: string | URL | Request): Promise<Response> => {
    const href = typeof url === "string" ? url : url instanceof URL ? url.href : url.url;
    const response = new Response(await readFile(href.startsWith("file:") ? fileURLToPath(href) : href));
    Object.defineProperty(response, "url", { value: href });
    return response;
  };
  type LoadedTile = { contentUrl?: string; children?: LoadedTile[] };
  const tileset = (await load(pathToFileURL(rootDocument).href, Tiles3DLoader, { fetch })) as unknown as { root: LoadedTile };
  const out = new Set<string>();
  const walk = (t: LoadedTile) => {
    if (t.contentUrl && !t.contentUrl.endsWith(".json")) out.add(t.contentUrl.startsWith("file:") ? fileURLToPath(t.contentUrl) : resolve(t.contentUrl));
    for (const c of t.children ?? []) walk(c);
  };
  walk(tileset.root);
  return out;
}

/** loaders.gl's reading of a point content against ours (same file order): undefined when they agree. */
async function compareWithLoadersGl(bytes: Uint8Array, ours: Float64Array, count: number, format: "pnts" | "glb"): Promise<string | undefined> {
  const { parse } = await import("@loaders.gl/core");
  const theirs = new Float64Array(3 * count);
  let theirCount: number;
  if (format === "pnts") {
    const { Tiles3DLoader } = await import("@loaders.gl/3d-tiles");
    const tile = (await parse(bytes.slice().buffer, Tiles3DLoader, { "3d-tiles": { loadGLTF: false, decodeQuantizedPositions: true } })) as unknown as { pointsLength: number; rtcCenter?: number[]; attributes: { positions: ArrayLike<number> } };
    theirCount = tile.pointsLength;
    const rtc = tile.rtcCenter ?? [0, 0, 0];
    const p = tile.attributes.positions;
    for (let i = 0; i < Math.min(3 * count, p.length); i++) theirs[i] = p[i] + rtc[i % 3];
  } else {
    const { GLTFLoader, postProcessGLTF } = await import("@loaders.gl/gltf");
    const gltf = postProcessGLTF(await parse(bytes.slice().buffer, GLTFLoader, { gltf: { decompressMeshes: true } }));
    theirCount = 0;
    type GltfNode = { translation?: number[]; rotation?: number[]; scale?: number[]; matrix?: number[]; mesh?: { primitives: Array<{ attributes: Record<string, { value: ArrayLike<number>; count: number }> }> }; children?: GltfNode[] };
    const visit = (node: GltfNode, parent: readonly number[]) => {
      const m = multiplyMatrices(parent, node.matrix ?? trsMatrix(node.translation, node.rotation, node.scale));
      for (const primitive of node.mesh?.primitives ?? []) {
        const position = primitive.attributes.POSITION;
        const k = position.count;
        const stride = k > 0 ? position.value.length / k : 3; // 3, or 4 when a padded u16 vec3 is kept as is
        const v = position.value;
        for (let i = 0; i < k && 3 * (theirCount + i) + 2 < theirs.length; i++) {
          const [x, y, z] = [v[stride * i], v[stride * i + 1], v[stride * i + 2]];
          const at = 3 * (theirCount + i);
          // y-up -> z-up: (x, y, z)_gl -> (x, -z, y)
          theirs[at] = m[0] * x + m[4] * y + m[8] * z + m[12];
          theirs[at + 1] = -(m[2] * x + m[6] * y + m[10] * z + m[14]);
          theirs[at + 2] = m[1] * x + m[5] * y + m[9] * z + m[13];
        }
        theirCount += k;
      }
      for (const child of node.children ?? []) visit(child, m);
    };
    const scene = (gltf.scene ?? gltf.scenes?.[0] ?? { nodes: gltf.nodes }) as unknown as { nodes: GltfNode[] };
    for (const node of scene.nodes ?? []) visit(node, IDENTITY_MATRIX);
  }
  if (theirCount !== count) return `loaders.gl reads ${theirCount} points, we read ${count}`;
  for (let i = 0; i < 3 * count; i++) {
    if (Math.abs(theirs[i] - ours[i]) > 1e-3 + 1e-7 * Math.abs(ours[i])) return `point ${Math.floor(i / 3)} is at ${theirs.subarray(i - (i % 3), i - (i % 3) + 3).join(",")} for loaders.gl, ${ours.subarray(i - (i % 3), i - (i % 3) + 3).join(",")} for us`;
  }
  return undefined;
}

function trsMatrix(t: number[] = [0, 0, 0], r: number[] = [0, 0, 0, 1], s: number[] = [1, 1, 1]): number[] {
  const [x, y, z, w] = r;
  return [
    (1 - 2 * (y * y + z * z)) * s[0], 2 * (x * y + z * w) * s[0], 2 * (x * z - y * w) * s[0], 0,
    2 * (x * y - z * w) * s[1], (1 - 2 * (x * x + z * z)) * s[1], 2 * (y * z + x * w) * s[1], 0,
    2 * (x * z + y * w) * s[2], 2 * (y * z - x * w) * s[2], (1 - 2 * (x * x + y * y)) * s[2], 0,
    t[0], t[1], t[2], 1,
  ];
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
