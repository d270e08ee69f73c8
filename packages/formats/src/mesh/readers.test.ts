/**
 * Mesh readers against the shared samples' inspected figures (SOURCES.md: face/triangle counts, vertex
 * bounds), inline OBJ/PLY cases (polygons, negative indices, ascii = binary), glTF with Draco and meshopt
 * compression written here with @gltf-transform's encoders (same surface as the plain file), b3dm unwrapping
 * and OpenCTM RAW decoding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { WebIO } from "@gltf-transform/core";
import { EXTMeshoptCompression, KHRDracoMeshCompression } from "@gltf-transform/extensions";
import draco3d from "draco3dgltf";
import { MeshoptEncoder } from "meshoptimizer";
import { bytesSource } from "../io/byte-source.js";
import { sharedData } from "../testing/shared-data.js";
import { openGltf, openObj, openPlyMesh, tileGlb, decodeOpenCtm, type MeshReader, type RelatedFileResolver } from "./index.js";

const read = (...p: string[]) => new Uint8Array(readFileSync(sharedData("mesh", ...p)));
const resolverNextTo = (...p: string[]): RelatedFileResolver => async (rel) => {
  try {
    return new Uint8Array(readFileSync(join(dirname(sharedData("mesh", ...p)), rel)));
  } catch {
    return undefined;
  }
};
const none: RelatedFileResolver = async () => undefined;

async function surface(reader: MeshReader): Promise<{ triangles: number; area: number; positions: number[] }> {
  let triangles = 0;
  let area = 0;
  const positions: number[] = [];
  for await (const b of reader.batches()) {
    triangles += b.count;
    for (let t = 0; t < b.count; t++) {
      const p = b.positions, k = t * 9;
      const e1 = [p[k + 3] - p[k], p[k + 4] - p[k + 1], p[k + 5] - p[k + 2]];
      const e2 = [p[k + 6] - p[k], p[k + 7] - p[k + 1], p[k + 8] - p[k + 2]];
      area += Math.hypot(e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]) / 2;
    }
    positions.push(...b.positions);
  }
  return { triangles, area, positions };
}

function assertBounds(actual: Float64Array, expected: number[], tolerance: number, label: string) {
  expected.forEach((v, i) => assert.ok(Math.abs(actual[i] - v) <= tolerance, `${label} bound ${i}: ${actual[i]} vs ${v}`));
}

test("OBJ samples: counts and bounds as inspected; MTL and texture found; per-vertex colours", async () => {
  const fuze = await openObj(bytesSource(read("fuze", "fuze.obj"), "fuze.obj"), resolverNextTo("fuze", "fuze.obj"));
  assert.equal(fuze.triangleCount, 1000);
  assertBounds(fuze.bounds, [-0.0364, -0.0367, 0.004, 0.0362, 0.0368, 0.2191], 1e-4, "fuze");
  assert.equal(fuze.textures.length, 1);
  assert.equal(fuze.textures[0].name, "fuze uv.jpg");
  assert.deepEqual(fuze.materials.map((m) => m.texture), [0]);
  const first = (await fuze.batches()[Symbol.asyncIterator]().next()).value!;
  assert.ok(first.uvs && first.normals && first.materials);
  const autzen = await openObj(bytesSource(read("autzen-obj", "1.2-with-color.obj"), "a.obj"), resolverNextTo("autzen-obj", "1.2-with-color.obj"));
  assert.equal(autzen.triangleCount, 1672);
  assertBounds(autzen.bounds, [635619.875, 848899.6875, 406.59, 638982.5625, 853535.4375, 583.73], 1e-3, "autzen");
  const b = (await autzen.batches()[Symbol.asyncIterator]().next()).value!;
  assert.ok(b.colours);
  // "v 636896.3125 849087.6875 446.390015 1 0 0" is red.
  assert.ok(autzen.materials.length > 1000);
});

test("OBJ: quads and n-gons are fanned, negative indices are relative, v/vt/vn forms", async () => {
  const text = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf -4/-4 -3/-3 -2/-2 -1/-1\nv 0 0 1\nv 1 0 1\nv 1 1 1\nv 0.5 1.5 1\nv 0 1 1\nf 5 6 7 8 9\n";
  const r = await openObj(bytesSource(new TextEncoder().encode(text), "q.obj"), none);
  assert.equal(r.triangleCount, 2 + 3);
  const s = await surface(r);
  assert.ok(Math.abs(s.area - (1 + 1.25)) < 1e-12, `${s.area}`);
  await assert.rejects(openObj(bytesSource(new TextEncoder().encode("v 0 0 0\nf 1 2 3\n"), "bad.obj"), none), /bad\.obj: line 2: face refers to vertex 2/);
});

test("PLY samples: counts and bounds as inspected; ascii and binary give the same triangles", async () => {
  const cases: [string, number, number[]][] = [
    ["bunny.ply", 16301, [-0.0946, 0.0334, -0.0619, 0.0609, 0.1866, 0.0587]],
    ["ankylosaurus_mesh.ply", 69636, [-0.4308, 0.948, 2.6069, 0.5793, 1.2907, 3.2109]],
    ["fuze.ply", 1000, [-0.0364, -0.0367, 0.004, 0.0362, 0.0368, 0.2191]],
  ];
  for (const [name, faces, bounds] of cases) {
    const r = await openPlyMesh(bytesSource(read(name), name), resolverNextTo(name));
    assert.equal(r.triangleCount, faces, name);
    assertBounds(r.bounds, bounds, 1e-4, name);
  }
  const fuze = await openPlyMesh(bytesSource(read("fuze.ply"), "fuze.ply"), async (rel) => (rel === "fuze uv.jpg" ? read("fuze", "fuze uv.jpg") : undefined));
  assert.equal(fuze.textures.length, 1);
  const first = (await fuze.batches()[Symbol.asyncIterator]().next()).value!;
  assert.ok(first.uvs && first.colours);
  const ascii = "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0 255 0 0\n2 0 0 0 255 0\n2 2 0 0 0 255\n0 2 0 9 9 9\n4 0 1 2 3\n";
  const header = "ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n";
  const body = new Uint8Array(4 * 15 + 1 + 16);
  const dv = new DataView(body.buffer);
  [[0, 0, 0, 255, 0, 0], [2, 0, 0, 0, 255, 0], [2, 2, 0, 0, 0, 255], [0, 2, 0, 9, 9, 9]].forEach((v, i) => {
    for (let a = 0; a < 3; a++) dv.setFloat32(i * 15 + a * 4, v[a], true);
    body.set(v.slice(3), i * 15 + 12);
  });
  body[60] = 4;
  [0, 1, 2, 3].forEach((v, k) => dv.setInt32(61 + 4 * k, v, true));
  const bin = new Uint8Array([...new TextEncoder().encode(header), ...body]);
  const a = await surface(await openPlyMesh(bytesSource(new TextEncoder().encode(ascii), "a.ply"), none));
  const b = await surface(await openPlyMesh(bytesSource(bin, "b.ply"), none));
  assert.deepEqual(a, b);
  assert.equal(a.triangles, 2);
  assert.equal(a.area, 4);
});

/** The Box with its mesh compressed by an extension, written here with that extension's encoder. */
async function compressedBox(kind: "draco" | "meshopt"): Promise<Uint8Array> {
  const io = new WebIO().registerExtensions([KHRDracoMeshCompression, EXTMeshoptCompression]);
  if (kind === "draco") io.registerDependencies({ "draco3d.encoder": await draco3d.createEncoderModule() });
  else {
    await MeshoptEncoder.ready;
    io.registerDependencies({ "meshopt.encoder": MeshoptEncoder });
  }
  const doc = await io.readBinary(read("Box.glb") as Uint8Array<ArrayBuffer>);
  if (kind === "draco") doc.createExtension(KHRDracoMeshCompression).setRequired(true).setEncoderOptions({ method: KHRDracoMeshCompression.EncoderMethod.SEQUENTIAL });
  else doc.createExtension(EXTMeshoptCompression).setRequired(true).setEncoderOptions({ method: EXTMeshoptCompression.EncoderMethod.FILTER });
  const out = await io.writeBinary(doc);
  const used = JSON.parse(new TextDecoder().decode(out.subarray(20, 20 + new DataView(out.buffer, out.byteOffset).getUint32(12, true)))).extensionsUsed as string[];
  assert.ok(used.includes(kind === "draco" ? "KHR_draco_mesh_compression" : "EXT_meshopt_compression"), JSON.stringify(used));
  return out;
}

test("glTF samples: triangle counts as inspected, node transforms applied, Y-up turned Z-up", async () => {
  // Triangles of the scene, each mesh once per node using it (SOURCES.md counts each mesh once: 2 856 and
  // 75 730): the milk truck's wheel mesh (768 triangles) has two nodes, and so have many engine parts. The
  // scene figures were counted from the files' JSON (indices per primitive, summed over the scene's nodes).
  const cases: [string, number][] = [["Box.glb", 12], ["Box-embedded.gltf", 12], ["CesiumMilkTruck.glb", 3624], ["2CylinderEngine.glb", 121496]];
  for (const [name, triangles] of cases) {
    const r = await openGltf(read(name), name, none);
    assert.equal(r.triangleCount, triangles, name);
    const s = await surface(r);
    assert.equal(s.triangles, triangles, name);
  }
  // Box: a unit cube whose node turns it (Z-up source in a Y-up file): back to [-0.5, 0.5]^3, area 6.
  const box = await openGltf(read("Box.glb"), "Box.glb", none);
  assertBounds(box.bounds, [-0.5, -0.5, -0.5, 0.5, 0.5, 0.5], 1e-6, "Box");
  assert.ok(Math.abs((await surface(box)).area - 6) < 1e-6);
  // The milk truck stands on z = 0 once Z-up (its wheels touch the ground in the Y-up file).
  const truck = await openGltf(read("CesiumMilkTruck.glb"), "t.glb", none);
  assert.ok(Math.abs(truck.bounds[2]) < 0.01, `truck z min ${truck.bounds[2]}`);
  assert.equal(truck.textures.length, 1);
});

test("glTF with Draco and with meshopt compression reads the same surface as the plain file", async () => {
  const plain = await surface(await openGltf(read("Box.glb"), "Box.glb", none));
  for (const kind of ["draco", "meshopt"] as const) {
    const r = await openGltf(await compressedBox(kind), `box-${kind}.glb`, none);
    const s = await surface(r);
    assert.equal(s.triangles, plain.triangles, kind);
    assert.ok(Math.abs(s.area - plain.area) < 1e-3, `${kind} area ${s.area}`);
    assertBounds(r.bounds, [-0.5, -0.5, -0.5, 0.5, 0.5, 0.5], 1e-3, kind);
  }
});

test("a .gltf with an external buffer gets it from the resolver; a missing one fails naming it", async () => {
  const json = JSON.parse(new TextDecoder().decode(read("Box-embedded.gltf")));
  const uri: string = json.buffers[0].uri;
  const bin = Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64");
  json.buffers[0].uri = "Box0.bin";
  const text = new TextEncoder().encode(JSON.stringify(json));
  const r = await openGltf(text, "Box.gltf", async (rel) => (rel === "Box0.bin" ? new Uint8Array(bin) : undefined));
  assert.equal(r.triangleCount, 12);
  await assert.rejects(openGltf(text, "Box.gltf", none), /Box\.gltf: .*Box0\.bin/);
});

test("b3dm: the glTF and RTC_CENTER are unwrapped; point tiles are skipped", () => {
  const glb = read("Box.glb");
  const ft = new TextEncoder().encode(JSON.stringify({ BATCH_LENGTH: 0, RTC_CENTER: [1, 2, 3] }).padEnd(36, " "));
  const b = new Uint8Array(28 + ft.length + glb.length);
  b.set(new TextEncoder().encode("b3dm"));
  const dv = new DataView(b.buffer);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, b.length, true);
  dv.setUint32(12, ft.length, true);
  b.set(ft, 28);
  b.set(glb, 28 + ft.length);
  const out = tileGlb(b, "t.b3dm");
  assert.ok(typeof out !== "string");
  assert.deepEqual(out.rtc, [1, 2, 3]);
  assert.deepEqual([...out.glb.subarray(0, 4)], [...glb.subarray(0, 4)]);
  assert.match(tileGlb(new TextEncoder().encode("pnts\u0001\u0000\u0000\u0000"), "p.pnts") as string, /pnts/);
});

test("OpenCTM RAW decodes; MG2 is refused naming the file", () => {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  const tag = (s: string) => parts.push(...[...s.padEnd(4, "\0")].map((c) => c.charCodeAt(0)));
  const f32 = (v: number) => parts.push(...new Uint8Array(new Float32Array([v]).buffer));
  tag("OCTM");
  u32(5);
  tag("RAW");
  [3, 1, 0, 0, 0].forEach(u32);
  u32(0);
  tag("INDX");
  [0, 1, 2].forEach(u32);
  tag("VERT");
  [0, 0, 0, 1, 0, 0, 0, 1, 0].forEach(f32);
  const ctm = decodeOpenCtm(Uint8Array.from(parts), "g.ctm");
  assert.deepEqual([...ctm.indices], [0, 1, 2]);
  assert.deepEqual([...ctm.vertices], [0, 0, 0, 1, 0, 0, 0, 1, 0]);
  const mg2 = Uint8Array.from(parts);
  mg2.set(new TextEncoder().encode("MG2\0"), 8);
  assert.throws(() => decodeOpenCtm(mg2, "node.3mxb (g0)"), /node\.3mxb \(g0\): OpenCTM MG2/);
});
