import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parse } from "@loaders.gl/core";
import { GLTFLoader, postProcessGLTF } from "@loaders.gl/gltf";
import { cubeContent, tinyContent, unmatchedPoint } from "../testing/point-tiles.js";
import { linearToSrgb8, srgbToLinear, type PointTileContent } from "./content.js";
import { decodePointGlb, encodePointGlb } from "./glb.js";
import { encodePointGlbWithDocument } from "../testing/glb-document.js";

const validator = createRequire(import.meta.url)("gltf-validator") as {
  validateBytes(bytes: Uint8Array, options?: Record<string, unknown>): Promise<{ issues: { numErrors: number; numWarnings: number; messages: Array<{ code: string; message: string; severity: number; pointer?: string }> } }>;
};

function glbJson(bytes: Uint8Array): any {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(v.getUint32(0, true), 0x46546c67);
  assert.equal(v.getUint32(8, true), bytes.byteLength);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + v.getUint32(12, true))));
}

function assertSamePoints(c: PointTileContent, positions: ArrayLike<number>, got: { rgb?: ArrayLike<number>; intensity?: ArrayLike<number>; classification?: ArrayLike<number> }, tolerance: number) {
  assert.equal(unmatchedPoint(c, positions, got, tolerance), undefined);
}

describe("GLB point tiles", () => {
  it("converts sRGB 8-bit to linear u16 and back exactly", () => {
    for (let v = 0; v < 256; v++) assert.equal(linearToSrgb8(Math.round(srgbToLinear(v) * 65535) / 65535), v);
  });

  it("encodes the tiny tile deterministically (golden)", async () => {
    const a = await encodePointGlb(tinyContent(0.001));
    const b = await encodePointGlb(tinyContent(0.001));
    assert.deepEqual(a, b);
    // Checked in after reading it back with gltf-validator, loaders.gl and decodePointGlb (the tests below).
    const golden = readFileSync(new URL("../../src/tiles3d/golden/tiny-quantised.glb", import.meta.url));
    assert.equal(a.byteLength, golden.byteLength);
    assert.ok(Buffer.from(a).equals(golden), "bytes equal the checked-in GLB");
    const tiny = tinyContent(0.001);
    const d = await decodePointGlb(golden);
    assertSamePoints(tiny, d.positions, d, 0.0005 + 1e-6);
  });

  it("writes the bytes a glTF-Transform Document of the same tile writes", async () => {
    const variants: PointTileContent[] = [tinyContent(0.001), tinyContent(), cubeContent(5000, 3, 1e-4), cubeContent(3000, 500, 1e-4), cubeContent(2000, 50)];
    const base = cubeContent(1000, 2, 1e-4);
    variants.push({ ...base, rgb: undefined }, { ...base, intensity: undefined }, { ...base, classification: undefined }, { ...base, intensity: undefined, classification: undefined });
    variants.push({ ...base, rtcCenter: [0, 0, 0] });
    // One point: every quantisation step is 1 (the scale is left out), and at the origin no translation.
    variants.push({ count: 1, positions: new Float32Array([0, 0, 0]), rtcCenter: [0, 0, 0], precision: 1e-4 }, { count: 1, positions: new Float32Array([1, 2, 3]), rtcCenter: [5, 6, 7], precision: 1e-4, classification: new Uint8Array([7]) });
    // Flat along one axis: that step is 1.
    const flat = cubeContent(500, 4, 1e-4);
    for (let i = 0; i < flat.count; i++) flat.positions[3 * i + 2] = 0.5;
    variants.push(flat);
    for (const [i, c] of variants.entries()) {
      const mine = await encodePointGlb(c);
      const theirs = await encodePointGlbWithDocument(c);
      assert.ok(Buffer.from(mine).equals(theirs), `variant ${i}: same bytes`);
    }
  });

  it("declares meshopt, quantisation, unlit and structural metadata as the 3D Tiles 1.1 viewers read them", async () => {
    const json = glbJson(await encodePointGlb(tinyContent(0.001)));
    assert.deepEqual(json.extensionsRequired.sort(), ["EXT_meshopt_compression", "KHR_mesh_quantization"]);
    assert.ok(json.extensionsUsed.includes("EXT_structural_metadata") && json.extensionsUsed.includes("KHR_materials_unlit"));
    const primitive = json.meshes[0].primitives[0];
    assert.equal(primitive.mode, 0);
    assert.deepEqual(Object.keys(primitive.attributes).sort(), ["COLOR_0", "POSITION", "_CLASSIFICATION", "_INTENSITY"]);
    assert.equal(json.accessors[primitive.attributes.POSITION].componentType, 5123);
    assert.equal(json.accessors[primitive.attributes.COLOR_0].normalized, true);
    assert.deepEqual(primitive.extensions.EXT_structural_metadata, { propertyAttributes: [0] });
    const meta = json.extensions.EXT_structural_metadata;
    assert.deepEqual(meta.propertyAttributes[0], { class: "point", properties: { intensity: { attribute: "_INTENSITY" }, classification: { attribute: "_CLASSIFICATION" } } });
    assert.equal(meta.schema.classes.point.properties.intensity.componentType, "UINT16");
    for (const view of json.bufferViews) assert.ok(view.extensions?.EXT_meshopt_compression, "every buffer view is meshopt-compressed");
    // RTC centre in the node, y-up: translation z = -(rtc.y + max y).
    const t = json.nodes[0].translation;
    assert.ok(Math.abs(t[0] - (4000000.5 - 3)) < 1e-9 && Math.abs(t[1] - (4900000.125 + 0)) < 1e-9 && Math.abs(t[2] + (300000.25 + 4)) < 1e-9, String(t));
    const float = glbJson(await encodePointGlb(tinyContent()));
    assert.equal(float.accessors[float.meshes[0].primitives[0].attributes.POSITION].componentType, 5126);
    assert.deepEqual(float.extensionsRequired, ["EXT_meshopt_compression"]);
  });

  it("gltf-validator reports no errors", async () => {
    for (const c of [tinyContent(0.001), tinyContent(), cubeContent(5000, 30, 0.001), { ...cubeContent(10, 3), intensity: undefined, classification: undefined, rgb: undefined }]) {
      const bytes = await encodePointGlb(c);
      const report = await validator.validateBytes(bytes);
      assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.filter((m) => m.severity === 0)));
    }
  });

  it("round-trips through its own reader: same points, colours, intensity, classification", async () => {
    for (const precision of [undefined, 0.001]) {
      const c = cubeContent(2000, 40, precision);
      const d = await decodePointGlb(await encodePointGlb(c));
      assert.equal(d.count, c.count);
      assert.ok(d.extensionsUsed.includes("EXT_meshopt_compression"));
      assertSamePoints(c, d.positions, d, (precision ?? 0) / 2 + 1e-6);
    }
  });

  it("reads back with @loaders.gl/gltf (meshopt decoded) to the same points", async () => {
    for (const precision of [undefined, 0.001]) {
      const c = cubeContent(1500, 40, precision);
      const bytes = await encodePointGlb(c);
      const gltf = postProcessGLTF(await parse(bytes.slice().buffer, GLTFLoader, { gltf: { decompressMeshes: true } }));
      const node = gltf.nodes[0] as unknown as { translation: number[]; scale?: number[] };
      const primitive = gltf.meshes[0].primitives[0] as unknown as { mode: number; attributes: Record<string, { value: ArrayLike<number>; normalized?: boolean; byteStride?: number; components?: number }> };
      assert.equal(primitive.mode, 0);
      const pos = primitive.attributes.POSITION.value;
      const stride = pos.length / c.count; // meshopt pads u16 vec3 to 4 components
      const s = node.scale ?? [1, 1, 1];
      const positions = new Float64Array(3 * c.count);
      for (let i = 0; i < c.count; i++) {
        const gl = [0, 1, 2].map((a) => pos[stride * i + a] * s[a] + node.translation[a]);
        positions.set([gl[0], -gl[2], gl[1]], 3 * i);
      }
      const colour = primitive.attributes.COLOR_0.value;
      const cstride = colour.length / c.count;
      const rgb = new Uint8Array(3 * c.count);
      for (let i = 0; i < c.count; i++) for (let a = 0; a < 3; a++) rgb[3 * i + a] = linearToSrgb8(colour[cstride * i + a] / 65535);
      const stridedScalar = (v: ArrayLike<number>) => {
        const k = v.length / c.count;
        return Array.from({ length: c.count }, (_, i) => v[k * i]);
      };
      assertSamePoints(c, positions, { rgb, intensity: stridedScalar(primitive.attributes._INTENSITY.value), classification: stridedScalar(primitive.attributes._CLASSIFICATION.value) }, (precision ?? 0) / 2 + 1e-6);
    }
  });
});
