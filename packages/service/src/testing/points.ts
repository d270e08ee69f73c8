/** Test-only: read a whole (small) point cloud into plain arrays, to compare two clouds point by point. */
import { bytesSource, openLasOrLaz, positionAt, type PointChunk } from "@realconv/formats";

export interface Cloud {
  count: number;
  /** x, y, z as doubles, interleaved. */
  xyz: Float64Array;
  columns: Record<string, number[]>;
}

export async function readCloud(bytes: Uint8Array, name = "cloud.las"): Promise<Cloud> {
  const reader = await openLasOrLaz(bytesSource(bytes, name));
  const xyz: number[] = [];
  const columns: Record<string, number[]> = {};
  const tmp = new Float64Array(3);
  let count = 0;
  for await (const chunk of reader.chunks()) {
    for (let i = 0; i < chunk.count; i++) {
      positionAt(chunk.positions, i, tmp);
      xyz.push(tmp[0], tmp[1], tmp[2]);
    }
    for (const c of reader.schema.columns) {
      const col = chunk[c as keyof PointChunk] as ArrayLike<number> | undefined;
      if (!col) continue;
      (columns[c] ??= []).push(...Array.from(col));
    }
    count += chunk.count;
  }
  return { count, xyz: Float64Array.from(xyz), columns };
}
