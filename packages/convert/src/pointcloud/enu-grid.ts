/**
 * Source coordinates -> a tileset's east-north-up frame, fast: the exact transformation (proj4 to ECEF,
 * then a rotation) costs ~1 µs per point, so over the cloud's box it is sampled on a grid and interpolated.
 *
 * Heights enter every such transformation linearly (ECEF = G(lon, lat) + h · up(lon, lat), and the ENU
 * frame is affine in ECEF), so P(x, y, z) = A(x, y) + (z − z0) · U(x, y), with A and U smooth in x and y:
 * they are interpolated bilinearly from exact values at the grid nodes. The grid is refined until the
 * interpolation error, measured against exact values at every cell's centre at the lowest and highest
 * height, is under the tolerance; when it cannot be (at most 256 x 256 cells), no grid is used. Points
 * outside the grid's box are transformed exactly.
 */
import { interpolateInside, type PositionGrid } from "../tiling/position-grid.js";

/** Transforms columns in place, exactly. */
export type ExactTransform = (x: Float64Array, y: Float64Array, z: Float64Array) => void;

export interface EnuGrid {
  /** Transforms n points in place. */
  apply(x: Float64Array, y: Float64Array, z: Float64Array, n: number): void;
  cells: number;
  /** The interpolation as data (for the tiling threads; `apply` adds the exact fallback outside its box). */
  data: PositionGrid;
}

const MAX_CELLS = 256;

export function enuGrid(exact: ExactTransform, box: ArrayLike<number>, tolerance: number): EnuGrid | undefined {
  const pad = 0.01;
  const x0 = box[0] - pad * (box[3] - box[0]) - 1e-9, x1 = box[3] + pad * (box[3] - box[0]) + 1e-9;
  const y0 = box[1] - pad * (box[4] - box[1]) - 1e-9, y1 = box[4] + pad * (box[4] - box[1]) + 1e-9;
  const z0 = box[2], z1 = box[5];
  if (![x0, x1, y0, y1, z0, z1].every(Number.isFinite)) return undefined;
  for (let n = 8; n <= MAX_CELLS; n *= 2) {
    const side = n + 1;
    const dx = (x1 - x0) / n, dy = (y1 - y0) / n;
    // A at height z0 and U (per unit of height) at every node.
    const m = side * side;
    const gx = new Float64Array(2 * m), gy = new Float64Array(2 * m), gz = new Float64Array(2 * m);
    for (let j = 0; j < side; j++) {
      for (let i = 0; i < side; i++) {
        const k = j * side + i;
        gx[k] = gx[m + k] = x0 + i * dx;
        gy[k] = gy[m + k] = y0 + j * dy;
        gz[k] = z0;
        gz[m + k] = z0 + 1;
      }
    }
    exact(gx, gy, gz);
    const grid = new Float64Array(6 * m);
    for (let k = 0; k < m; k++) {
      grid[6 * k] = gx[k];
      grid[6 * k + 1] = gy[k];
      grid[6 * k + 2] = gz[k];
      grid[6 * k + 3] = gx[m + k] - gx[k];
      grid[6 * k + 4] = gy[m + k] - gy[k];
      grid[6 * k + 5] = gz[m + k] - gz[k];
    }
    const mapping = gridMapping(grid, n, x0, y0, dx, dy, z0, exact, [x0, y0, x1, y1]);
    // Check at every cell centre, at both ends of the height range.
    const c = n * n;
    const cx = new Float64Array(2 * c), cy = new Float64Array(2 * c), cz = new Float64Array(2 * c);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const k = j * n + i;
        cx[k] = cx[c + k] = x0 + (i + 0.5) * dx;
        cy[k] = cy[c + k] = y0 + (j + 0.5) * dy;
        cz[k] = z0;
        cz[c + k] = z1;
      }
    }
    const ex = cx.slice(), ey = cy.slice(), ez = cz.slice();
    exact(ex, ey, ez);
    mapping.apply(cx, cy, cz, 2 * c);
    let worst = 0;
    for (let k = 0; k < 2 * c; k++) worst = Math.max(worst, Math.abs(cx[k] - ex[k]), Math.abs(cy[k] - ey[k]), Math.abs(cz[k] - ez[k]));
    if (worst <= tolerance) return mapping;
  }
  return undefined;
}

function gridMapping(grid: Float64Array, n: number, x0: number, y0: number, dx: number, dy: number, z0: number, exact: ExactTransform, box: number[]): EnuGrid {
  const data: PositionGrid = { values: grid, n, x0, y0, dx, dy, z0, box: [box[0], box[1], box[2], box[3]] };
  return {
    cells: n,
    data,
    apply(x, y, z, count) {
      const outside: number[] = [];
      if (interpolateInside(data, x, y, z, count, outside) === 0) return;
      // The few points outside the grid's box, exactly.
      const ox = new Float64Array(outside.length), oy = new Float64Array(outside.length), oz = new Float64Array(outside.length);
      const idx = outside;
      idx.forEach((p, k) => {
        ox[k] = x[p];
        oy[k] = y[p];
        oz[k] = z[p];
      });
      exact(ox, oy, oz);
      idx.forEach((p, k) => {
        x[p] = ox[k];
        y[p] = oy[k];
        z[p] = oz[k];
      });
    },
  };
}
