/**
 * MeshSampling runner on in-memory inputs: colours from the texture (compared with lookups in the texture
 * decoded here), vertex colours, LAZ (laz-perf) and E57 outputs, 3D Tiles (leaves only, tile transforms) and
 * 3MX (finest level, RAW OpenCTM; MG1 refused) inputs made here, units from inputCrs, a huge triangle in
 * bounded chunks, and damaged meshes failing the job with the file's name.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { bytesSource, openE57, openLasOrLaz, positionAt } from "@realconv/formats";
import { decodeWithLazPerf } from "@realconv/formats/testing/lazperf-decode";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { ConversionError, type InputFile } from "../../contract/runner.js";
import { dataset, MemorySink, memoryFile, runInMemory } from "../../testing/memory-io.js";
import { openMeshInputs } from "../../mesh/sources.js";
import { meshTriangles } from "../../mesh/surface-check.js";
import { SurfaceSampler } from "../../mesh/sampler.js";
import { sampleTexture } from "../../mesh/sampler.js";

const meshFile = (...parts: string[]) => memoryFile(new Uint8Array(readFileSync(sharedData("mesh", ...parts))), parts[parts.length - 1]);

async function sample(files: InputFile[], options: Record<string, unknown>) {
  const r = await runInMemory("MeshSampling", { meshes: [dataset("m1", files, "OBJ")] }, { outputFormat: "LAS", ...options });
  return { ...r, sink: r.sink as MemorySink };
}

interface Cloud {
  count: number;
  xyz: Float64Array;
  rgb?: Uint16Array;
}

async function readLas(bytes: Uint8Array): Promise<Cloud> {
  const r = await openLasOrLaz(bytesSource(bytes, "merged.las"));
  const xyz = new Float64Array(r.pointCount * 3);
  const rgb = r.schema.columns.includes("red") ? new Uint16Array(r.pointCount * 3) : undefined;
  const t = new Float64Array(3);
  let i = 0;
  for await (const c of r.chunks()) {
    for (let k = 0; k < c.count; k++, i++) {
      positionAt(c.positions, k, t);
      xyz.set(t, i * 3);
      if (rgb) {
        rgb[i * 3] = c.red![k];
        rgb[i * 3 + 1] = c.green![k];
        rgb[i * 3 + 2] = c.blue![k];
      }
    }
  }
  return { count: i, xyz, rgb };
}

/** Triangles (positions and uvs) of a mesh, read with the mesh readers. */
async function trianglesWithUv(files: InputFile[]) {
  const [input] = await openMeshInputs([dataset("m", files)], new AbortController().signal);
  const pos: number[] = [];
  const uv: number[] = [];
  for await (const b of input.reader.batches()) {
    pos.push(...b.positions);
    uv.push(...(b.uvs ?? new Float32Array(b.count * 6)));
  }
  return { pos: Float64Array.from(pos), uv: Float64Array.from(uv), count: pos.length / 9 };
}

/**
 * For each point, the texture colour at the point's place: the triangle it lies on (closest within a
 * tolerance; on a shared edge any of them), its barycentric coordinates, the interpolated uv and a bilinear
 * lookup in the texture decoded here. Returns the share of points whose colour matches within `tolerance`.
 */
async function textureAgreement(cloud: Cloud, files: InputFile[], texture: Uint8Array, tolerance: number, flipped = false, every = 7): Promise<number> {
  const { data, info } = await sharp(texture).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const tex = { width: info.width, height: info.height, rgba: new Uint8Array(data), repeat: true };
  const tri = await trianglesWithUv(files);
  let checked = 0;
  let agree = 0;
  for (let i = 0; i < cloud.count; i += every) {
    const px = cloud.xyz[i * 3], py = cloud.xyz[i * 3 + 1], pz = cloud.xyz[i * 3 + 2];
    let matched = false;
    for (let t = 0; t < tri.count && !matched; t++) {
      const o = t * 9;
      const ax = tri.pos[o], ay = tri.pos[o + 1], az = tri.pos[o + 2];
      const e1 = [tri.pos[o + 3] - ax, tri.pos[o + 4] - ay, tri.pos[o + 5] - az];
      const e2 = [tri.pos[o + 6] - ax, tri.pos[o + 7] - ay, tri.pos[o + 8] - az];
      const w = [px - ax, py - ay, pz - az];
      const d11 = e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2];
      const d12 = e1[0] * e2[0] + e1[1] * e2[1] + e1[2] * e2[2];
      const d22 = e2[0] * e2[0] + e2[1] * e2[1] + e2[2] * e2[2];
      const w1 = w[0] * e1[0] + w[1] * e1[1] + w[2] * e1[2];
      const w2 = w[0] * e2[0] + w[1] * e2[1] + w[2] * e2[2];
      const den = d11 * d22 - d12 * d12;
      if (!(den > 0)) continue;
      const b1 = (d22 * w1 - d12 * w2) / den;
      const b2 = (d11 * w2 - d12 * w1) / den;
      const b0 = 1 - b1 - b2;
      const eps = 1e-3;
      if (b0 < -eps || b1 < -eps || b2 < -eps) continue;
      const off = [w[0] - b1 * e1[0] - b2 * e2[0], w[1] - b1 * e1[1] - b2 * e2[1], w[2] - b1 * e1[2] - b2 * e2[2]];
      // Within the LAS quantisation of the plane.
      if (Math.hypot(off[0], off[1], off[2]) > 1.5e-4) continue;
      const q = t * 6;
      const u = b0 * tri.uv[q] + b1 * tri.uv[q + 2] + b2 * tri.uv[q + 4];
      const v = b0 * tri.uv[q + 1] + b1 * tri.uv[q + 3] + b2 * tri.uv[q + 5];
      const c = sampleTexture(tex, u, flipped ? 1 - v : v, new Float64Array(3));
      const got = [cloud.rgb![i * 3] / 257, cloud.rgb![i * 3 + 1] / 257, cloud.rgb![i * 3 + 2] / 257];
      if (got.every((g, k) => Math.abs(g - c[k]) <= tolerance)) matched = true;
    }
    checked++;
    if (matched) agree++;
  }
  assert.ok(checked > 100, `${checked} points checked`);
  return agree / checked;
}

test("a textured OBJ takes its colours from the texture (bilinear), through the MTL's map_Kd", async () => {
  const files = [meshFile("fuze", "fuze.obj"), meshFile("fuze", "fuze.obj.mtl"), meshFile("fuze", "fuze uv.jpg")];
  const { sink, warnings } = await sample(files, { sampling: 0.002 });
  assert.deepEqual(warnings, []);
  const cloud = await readLas(sink.files.get("merged.las")!);
  assert.ok(cloud.rgb);
  // The quantised position moves a point by up to half a step, so its lookup by a few levels at most.
  const share = await textureAgreement(cloud, files, new Uint8Array(readFileSync(sharedData("mesh", "fuze", "fuze uv.jpg"))), 12);
  assert.ok(share > 0.97, `colour agreement ${share}`);
  // The comparison tells textures apart: the image upside down agrees far less.
  const upsideDown = await textureAgreement(cloud, files, new Uint8Array(readFileSync(sharedData("mesh", "fuze", "fuze uv.jpg"))), 12, true);
  assert.ok(upsideDown < 0.6, `upside-down agreement ${upsideDown}`);
  // A texture is not a flat colour: the cloud has many colours.
  const distinct = new Set<number>();
  for (let i = 0; i < cloud.count; i++) distinct.add((cloud.rgb[i * 3] >> 11) * 1024 + (cloud.rgb[i * 3 + 1] >> 11) * 32 + (cloud.rgb[i * 3 + 2] >> 11));
  assert.ok(distinct.size > 50, `${distinct.size} colours`);
});

test("a PLY with per-corner texcoords and a TextureFile comment takes its colours from that texture", async () => {
  const files = [meshFile("fuze.ply"), meshFile("fuze", "fuze uv.jpg")];
  const { sink, warnings } = await sample(files, { sampling: 0.002 });
  assert.deepEqual(warnings, []);
  const cloud = await readLas(sink.files.get("merged.las")!);
  const share = await textureAgreement(cloud, files, new Uint8Array(readFileSync(sharedData("mesh", "fuze", "fuze uv.jpg"))), 12);
  assert.ok(share > 0.97, `colour agreement ${share}`);
});

test("without its texture the PLY falls back to vertex colours, with a warning naming the texture", async () => {
  const { sink, warnings } = await sample([meshFile("fuze.ply")], { sampling: 0.004 });
  assert.ok(warnings.some((w) => /fuze uv\.jpg/.test(w.params.join(" "))), JSON.stringify(warnings));
  const cloud = await readLas(sink.files.get("merged.las")!);
  assert.ok(cloud.count > 0 && cloud.rgb);
});

test("vertex colours are interpolated (autzen OBJ: every point's colour within its triangle's corner colours)", async () => {
  const { sink } = await sample([meshFile("autzen-obj", "1.2-with-color.obj"), meshFile("autzen-obj", "1.2-with-color.obj.mtl")], { sampling: 30 });
  const cloud = await readLas(sink.files.get("merged.las")!);
  assert.ok(cloud.count > 10_000);
  // Red and green cover 0..255: the colours are not one material colour.
  let minR = 65535, maxR = 0;
  for (let i = 0; i < cloud.count; i++) {
    minR = Math.min(minR, cloud.rgb![i * 3]);
    maxR = Math.max(maxR, cloud.rgb![i * 3]);
  }
  assert.ok(maxR - minR > 30000, `${minR}..${maxR}`);
});

test("LAZ decodes with laz-perf to the LAS output's records; E57 holds the same points with normals", async () => {
  const files = [meshFile("Box.glb")];
  const las = (await sample(files, { sampling: 0.05 })).sink.files.get("merged.las")!;
  const laz = (await sample(files, { sampling: 0.05, outputFormat: "LAZ" })).sink.files.get("merged.laz")!;
  const decoded = await decodeWithLazPerf(laz);
  const lasCloud = await readLas(las);
  assert.equal(decoded.count, lasCloud.count);
  const start = new DataView(las.buffer, las.byteOffset).getUint32(96, true);
  assert.ok(Buffer.from(decoded.records).equals(Buffer.from(las.subarray(start))), "laz-perf records equal the LAS records");
  const e57 = (await sample(files, { sampling: 0.05, outputFormat: "E57" })).sink.files.get("merged.e57")!;
  const reader = await openE57(bytesSource(e57, "merged.e57"));
  assert.equal(reader.scans.length, 1);
  assert.equal(reader.scans[0].pointCount, lasCloud.count);
  assert.ok(reader.scans[0].columns.includes("normalZ"));
  let n = 0;
  for await (const c of reader.scanChunks(0)) {
    for (let k = 0; k < c.count; k++) {
      const len = Math.hypot(c.normalX![k], c.normalY![k], c.normalZ![k]);
      assert.ok(Math.abs(len - 1) < 1e-3, `normal length ${len}`);
      // A box: every normal is along an axis.
      assert.ok(Math.max(Math.abs(c.normalX![k]), Math.abs(c.normalY![k]), Math.abs(c.normalZ![k])) > 0.999);
    }
    n += c.count;
  }
  assert.equal(n, lasCloud.count);
});

function b3dm(glb: Uint8Array, featureTable: object): Uint8Array {
  let ft = new TextEncoder().encode(JSON.stringify(featureTable));
  const pad = (8 - ((28 + ft.length) % 8)) % 8;
  ft = new TextEncoder().encode(JSON.stringify(featureTable) + " ".repeat(pad));
  const out = new Uint8Array(28 + ft.length + glb.length);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode("b3dm"));
  dv.setUint32(4, 1, true);
  dv.setUint32(8, out.length, true);
  dv.setUint32(12, ft.length, true);
  out.set(ft, 28);
  out.set(glb, 28 + ft.length);
  return out;
}

test("3D Tiles: only the leaves are sampled, with tile transforms and RTC_CENTER", async () => {
  const box = new Uint8Array(readFileSync(sharedData("mesh", "Box.glb")));
  const tileset = {
    asset: { version: "1.0" },
    geometricError: 100,
    root: {
      geometricError: 10,
      refine: "REPLACE",
      boundingVolume: { box: [0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 100] },
      content: { uri: "coarse.b3dm" },
      children: [
        { geometricError: 0, boundingVolume: { box: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1] }, content: { uri: "tiles/a.b3dm" } },
        {
          geometricError: 0,
          transform: [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 10, 0, 0, 1],
          boundingVolume: { box: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1] },
          content: { uri: "tiles/b.glb" },
        },
      ],
    },
  };
  const files = [
    memoryFile(new TextEncoder().encode(JSON.stringify(tileset)), "tileset.json"),
    memoryFile(b3dm(box, { BATCH_LENGTH: 0, RTC_CENTER: [0, 0, 50] }), "coarse.b3dm"),
    memoryFile(b3dm(box, { BATCH_LENGTH: 0, RTC_CENTER: [0, 0, 5] }), "tiles/a.b3dm"),
    memoryFile(box, "tiles/b.glb"),
  ];
  const d = 0.05;
  const { sink } = await sample(files, { sampling: d });
  const cloud = await readLas(sink.files.get("merged.las")!);
  // Box a: 6 m² around (0, 0, 5); box b: scaled 2 (24 m²) around (10, 0, 0); the coarse tile not at all.
  const expected = (6 + 24) / (d * d);
  assert.ok(Math.abs(cloud.count / expected - 1) < 0.1, `${cloud.count} vs ${expected}`);
  let inA = 0, inB = 0;
  for (let i = 0; i < cloud.count; i++) {
    const [x, y, z] = [cloud.xyz[i * 3], cloud.xyz[i * 3 + 1], cloud.xyz[i * 3 + 2]];
    if (Math.abs(x) <= 0.501 && Math.abs(y) <= 0.501 && Math.abs(z - 5) <= 0.501) inA++;
    else if (Math.abs(x - 10) <= 1.001 && Math.abs(y) <= 1.001 && Math.abs(z) <= 1.001) inB++;
    else assert.fail(`point ${x} ${y} ${z} outside both leaves`);
  }
  assert.ok(Math.abs(inA / (6 / d / d) - 1) < 0.1 && Math.abs(inB / (24 / d / d) - 1) < 0.1, `${inA} ${inB}`);
});

/** An OpenCTM RAW file of a unit square (two triangles) at z = 0, with uvs. */
function ctmSquare(method = "RAW"): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  const tag = (s: string) => parts.push(...[...s.padEnd(4, "\0")].map((c) => c.charCodeAt(0)));
  const f32 = (v: number) => {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    parts.push(...b);
  };
  tag("OCTM");
  u32(5);
  tag(method);
  u32(4);
  u32(2);
  u32(1);
  u32(0);
  u32(0);
  u32(0);
  tag("INDX");
  [0, 1, 2, 0, 2, 3].forEach(u32);
  tag("VERT");
  [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0].forEach(f32);
  tag("TEXC");
  u32(0);
  u32(0);
  [0, 0, 1, 0, 1, 1, 0, 1].forEach(f32);
  return Uint8Array.from(parts);
}

function mxb(header: object, buffers: Uint8Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const total = 9 + json.length + buffers.reduce((s, b) => s + b.length, 0);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode("3MXBO"));
  new DataView(out.buffer).setUint32(5, json.length, true);
  out.set(json, 9);
  let at = 9 + json.length;
  for (const b of buffers) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function threeMx(method: string): InputFile[] {
  const coarse = ctmSquare();
  const fine = ctmSquare(method);
  const root = mxb(
    { version: 1, nodes: [{ id: "n0", bbMin: [0, 0, 0], bbMax: [1, 1, 0], maxScreenDiameter: 100, children: ["fine.3mxb"], resources: ["g0"] }], resources: [{ type: "geometryBuffer", format: "ctm", id: "g0", size: coarse.length }] },
    [coarse],
  );
  const child = mxb(
    { version: 1, nodes: [{ id: "n1", bbMin: [0, 0, 0], bbMax: [1, 1, 0], maxScreenDiameter: 1000, children: [], resources: ["g1"] }], resources: [{ type: "geometryBuffer", format: "ctm", id: "g1", size: fine.length }] },
    [fine],
  );
  const doc = { "3mxVersion": 1, name: "square", layers: [{ type: "meshPyramid", id: "mesh0", SRS: "EPSG:32631", SRSOrigin: [500000, 4000000, 100], root: "Data/root.3mxb" }] };
  return [memoryFile(new TextEncoder().encode(JSON.stringify(doc)), "scene.3mx"), memoryFile(root, "Data/root.3mxb"), memoryFile(child, "Data/fine.3mxb")];
}

test("3MX: the finest level is sampled at its SRS origin, in its SRS", async () => {
  const d = 0.02;
  const { sink } = await sample(threeMx("RAW"), { sampling: d });
  const cloud = await readLas(sink.files.get("merged.las")!);
  assert.ok(Math.abs(cloud.count * d * d - 1) < 0.05, `${cloud.count} points on 1 m²`);
  for (let i = 0; i < cloud.count; i++) {
    assert.ok(cloud.xyz[i * 3] >= 500000 - 1e-3 && cloud.xyz[i * 3] <= 500001 + 1e-3);
    assert.ok(Math.abs(cloud.xyz[i * 3 + 2] - 100) < 1e-3);
  }
  assert.equal(sink.crs, "EPSG:32631");
  assert.ok(sink.extent);
});

test("3MX with OpenCTM MG1 geometry fails with UnsupportedFormat naming the file", async () => {
  await assert.rejects(
    sample(threeMx("MG1"), { sampling: 0.05 }),
    (e: unknown) => e instanceof ConversionError && e.code === "UnsupportedFormat" && /fine\.3mxb/.test(e.params.join(" ")) && /MG1/.test(e.params.join(" ")),
  );
});

test("units: a mesh in a CRS in feet is sampled at the spacing in metres", async () => {
  const files = [meshFile("autzen-obj", "1.2-with-color.obj"), meshFile("autzen-obj", "1.2-with-color.obj.mtl")];
  const [input] = await openMeshInputs([dataset("m", files)], new AbortController().signal);
  const areaFt2 = (await meshTriangles(input.reader)).area;
  const d = 10;
  const { sink } = await sample(files, { sampling: d, inputCrs: "EPSG:2994" });
  const cloud = await readLas(sink.files.get("merged.las")!);
  const expected = (areaFt2 * 0.3048 * 0.3048) / (d * d);
  assert.ok(Math.abs(cloud.count / expected - 1) < 0.1, `${cloud.count} vs ${expected}`);
  assert.equal(sink.crs, "EPSG:2994");
  // outputCrs reprojects the points (Oregon Lambert feet to UTM 10N metres): same points, new coordinates.
  const utm = await sample(files, { sampling: d, inputCrs: "EPSG:2994", outputCrs: "EPSG:32610" });
  const moved = await readLas(utm.sink.files.get("merged.las")!);
  assert.equal(moved.count, cloud.count);
  assert.equal(utm.sink.crs, "EPSG:32610");
  for (let i = 0; i < moved.count; i += 97) {
    assert.ok(moved.xyz[i * 3] > 490000 && moved.xyz[i * 3] < 500000 && moved.xyz[i * 3 + 1] > 4870000 && moved.xyz[i * 3 + 1] < 4880000, `${moved.xyz[i * 3]} ${moved.xyz[i * 3 + 1]}`);
  }
});

test("a huge triangle is sampled in bounded chunks, with the count of its area", async () => {
  const sampler = new SurfaceSampler({ spacing: 0.01, origin: [0, 0, 0], materials: [], chunkPoints: 65_536, colour: false, normals: "columns" });
  const counted = sampler.count({ count: 1, positions: new Float64Array([0, 0, 0, 40, 0, 0, 0, 40, 10]) });
  const area = Math.hypot(0, -400, 1600) / 2;
  assert.ok(Math.abs(counted / (area / 1e-4) - 1) < 0.01, `${counted}`);
  // Through the runner: 8 M points from one OBJ triangle, each chunk at most 65 536 points.
  const obj = new TextEncoder().encode("v 0 0 0\nv 40 0 0\nv 0 40 10\nf 1 2 3\n");
  const sink = new MemorySink();
  await runInMemory("MeshSampling", { meshes: [dataset("m", [memoryFile(obj, "big.obj")])] }, { outputFormat: "LAS", sampling: 0.01 }, { sink });
  const las = sink.files.get("merged.las")!;
  const count = new DataView(las.buffer, las.byteOffset).getUint32(107, true);
  assert.equal(count, counted);
});

test("damaged meshes fail the job with a message naming the file", async () => {
  const ply = new Uint8Array(readFileSync(sharedData("mesh", "bunny.ply")));
  const glb = new Uint8Array(readFileSync(sharedData("mesh", "Box.glb")));
  const brokenGlb = glb.slice();
  brokenGlb.fill(0x7b, 24, 60);
  const binHeader = new TextEncoder().encode("ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n");
  const binary = new Uint8Array(binHeader.length + 36 + 13);
  binary.set(binHeader);
  const cases: [string, Uint8Array][] = [
    ["cut.ply", ply.subarray(0, Math.floor(ply.length / 2))],
    ["cut-vertices.ply", binary.subarray(0, binHeader.length + 20)],
    ["cut-faces.ply", binary.subarray(0, binHeader.length + 36 + 6)],
    ["bad-index.obj", new TextEncoder().encode("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 7\n")],
    ["no-faces.obj", new TextEncoder().encode("v 0 0 0\nv 1 0 0\n")],
    ["broken.glb", brokenGlb],
    ["cut.glb", glb.subarray(0, 900)],
  ];
  for (const [name, bytes] of cases) {
    await assert.rejects(
      sample([memoryFile(bytes, name)], { sampling: 0.01 }),
      (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && e.params.join(" ").includes(name),
      name,
    );
  }
  // A reality data without any mesh says so.
  await assert.rejects(sample([memoryFile(new TextEncoder().encode("hello"), "notes.txt")], { sampling: 0.01 }), (e: unknown) => e instanceof ConversionError && /no mesh/.test(e.message));
});
