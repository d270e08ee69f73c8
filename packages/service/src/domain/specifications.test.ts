import { test } from "node:test";
import assert from "node:assert/strict";
import { declarations, registry, type OptionDeclaration } from "@realconv/convert";
import { ApiError } from "./errors.js";
import { JOB_TYPES } from "./job.js";
import {
  JOB_TYPE_RULES,
  MAX_INPUTS,
  OUTPUT_FORMATS,
  checkInputTypes,
  outputRealityDataType,
  parseJobCreation,
  type JobCreation,
} from "./specifications.js";

const ITWIN = "019b18b4-e4c1-4211-b8bb-1bd26b8e955e";
const A = "dbad181b-5079-4224-8561-96ad218bcfc9";
const B = "ea881e3e-b0e3-4b23-bc3f-4ee8e9acdf61";
const PC = "df091f39-377c-48fb-a9c9-9fd0998e151a";

/** Runs parseJobCreation expecting a 400 and returns its details as [code, target] pairs. */
function problems(body: unknown): Array<[string, string | undefined]> {
  try {
    parseJobCreation(body);
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.code, "InvalidRealityConversionRequest");
    assert.equal(e.message, "Invalid request to Reality Conversion.");
    assert.ok(e.details && e.details.length > 0);
    for (const d of e.details) assert.equal(typeof d.message, "string");
    return e.details.map((d) => [d.code, d.target]);
  }
  assert.fail("expected a 400 ApiError");
}

function detailsOf(body: unknown) {
  try {
    parseJobCreation(body);
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return e.details ?? [];
  }
  assert.fail("expected a 400 ApiError");
}

/** A valid body of the given type, with specifications replaced by `spec`. */
function body(type: unknown, spec: unknown, extra: Record<string, unknown> = {}) {
  return { type, iTwinId: ITWIN, specifications: spec, ...extra };
}

const pcBody = (options: unknown) => body("PointCloudConversion", { inputs: { pointCloud: PC }, options });
const tmBody = (options: unknown) => body("TileMapOptimization", { inputs: { tileMaps: [A] }, options });

test("the documented create example (section 1.2) is accepted, with the prod spelling 3DTilesPNTS", () => {
  const c = parseJobCreation({
    specifications: {
      inputs: { pointCloud: PC },
      options: { outputFormat: "3DTilesPNTS" },
    },
    name: "My first PC Conversion job",
    type: "PointCloudConversion",
    iTwinId: ITWIN,
  });
  assert.deepEqual(c, {
    type: "PointCloudConversion",
    name: "My first PC Conversion job",
    iTwinId: ITWIN,
    inputs: { pointCloud: PC },
    options: { outputFormat: "3DTilesPnts" },
    outputFormat: "3DTilesPnts",
    inputIds: [PC],
  } satisfies JobCreation);
});

test("valid bodies of all six types (section 1.7 examples) give the canonical form", () => {
  const cases: Array<[unknown, Partial<JobCreation>]> = [
    [
      { type: "PointCloudOptimization", iTwinId: ITWIN, name: "opt",
        specifications: { inputs: { pointClouds: [A, B] }, options: { outputFormat: "3DTilesGlbc" } } },
      { type: "PointCloudOptimization", name: "opt", inputs: { pointClouds: [A, B] }, options: { outputFormat: "3DTilesGlbc" },
        outputFormat: "3DTilesGlbc", inputIds: [A, B] },
    ],
    [
      body("MeshSampling", { inputs: { meshes: [A, B] }, options: { outputFormat: "3DTilesGlbc", sampling: 0.05 } }),
      { type: "MeshSampling", inputs: { meshes: [A, B] }, options: { outputFormat: "3DTilesGlbc", sampling: 0.05 },
        outputFormat: "3DTilesGlbc", inputIds: [A, B] },
    ],
    [
      body("TileMapOptimization", { inputs: { tileMaps: [A, B] }, options: { outputFormat: "XYZTileMap", backgroundColor: "#000000" } }),
      { type: "TileMapOptimization", inputs: { tileMaps: [A, B] }, options: { outputFormat: "XYZTileMap", backgroundColor: "#000000" },
        outputFormat: "XYZTileMap", inputIds: [A, B] },
    ],
    [
      body("VectorOptimization", { inputs: { vectors: [A, B] }, options: { outputFormat: "FeatureDB", featureClassDisplayName: "Road" } }),
      { type: "VectorOptimization", inputs: { vectors: [A, B] }, options: { outputFormat: "FeatureDB", featureClassDisplayName: "Road" },
        outputFormat: "FeatureDB", inputIds: [A, B] },
    ],
    [
      body("ContextSceneTiler", { inputs: { scene: A }, options: { objectToTile: "Cameras" } }),
      { type: "ContextSceneTiler", inputs: { scene: A }, options: { objectToTile: "Cameras" }, outputFormat: undefined, inputIds: [A] },
    ],
    [
      pcBody({ outputFormat: "LAZ", inputCrs: "EPSG:2056", outputCrs: "EPSG:4978" }),
      { type: "PointCloudConversion", inputs: { pointCloud: PC }, options: { outputFormat: "LAZ", inputCrs: "EPSG:2056", outputCrs: "EPSG:4978" },
        outputFormat: "LAZ", inputIds: [PC] },
    ],
  ];
  for (const [input, expected] of cases) {
    const c = parseJobCreation(input);
    assert.deepEqual(c, { iTwinId: ITWIN, ...expected });
  }
});

test("ContextSceneTiler needs neither options nor outputFormat", () => {
  const c = parseJobCreation(body("ContextSceneTiler", { inputs: { scene: A } }));
  assert.deepEqual(c.options, {});
  assert.equal(c.outputFormat, undefined);
});

test("all TileMapOptimization options are validated and echoed in documented order", () => {
  const c = parseJobCreation(
    tmBody({ jpgQuality: 90, imageFormat: "jpg", bottomLevel: 18, topLevel: 10, outputCrs: "EPSG:3857", outputFormat: "xyztilemap" }),
  );
  assert.deepEqual(Object.entries(c.options), [
    ["outputFormat", "XYZTileMap"],
    ["outputCrs", "EPSG:3857"],
    ["topLevel", 10],
    ["bottomLevel", 18],
    ["imageFormat", "JPG"],
    ["jpgQuality", 90],
  ]);
  // Equal levels are fine (a single level), as are the range ends.
  assert.equal(parseJobCreation(tmBody({ outputFormat: "XYZTileMap", topLevel: 0, bottomLevel: 0 })).options.topLevel, 0);
  assert.equal(parseJobCreation(tmBody({ outputFormat: "XYZTileMap", bottomLevel: 30 })).options.bottomLevel, 30);
  assert.equal(parseJobCreation(tmBody({ outputFormat: "XYZTileMap", jpgQuality: 10 })).options.jpgQuality, 10);
  assert.equal(parseJobCreation(tmBody({ outputFormat: "XYZTileMap", jpgQuality: 99 })).options.jpgQuality, 99);
});

test("leniency: case-insensitive type, keys and values; canonical spelling stored", () => {
  // The list-jobs page shows `pointcloud` and `opc` in lower case.
  const c = parseJobCreation({
    TYPE: "pointcloudconversion",
    itwinid: ITWIN.toUpperCase(),
    Specifications: { Inputs: { pointcloud: PC.toUpperCase() }, OPTIONS: { OutputFormat: "opc" } },
  });
  assert.equal(c.type, "PointCloudConversion");
  assert.equal(c.iTwinId, ITWIN);
  assert.deepEqual(c.inputs, { pointCloud: PC });
  assert.deepEqual(c.options, { outputFormat: "OPC" });
  assert.deepEqual(c.inputIds, [PC]);
  const v = parseJobCreation(body("VectorOptimization", { inputs: { VECTORS: [A.toUpperCase()] }, options: { outputformat: "geojson" } }));
  assert.deepEqual(v.inputs, { vectors: [A] });
  assert.equal(v.outputFormat, "GeoJSON");
  const s = parseJobCreation(body("contextscenetiler", { inputs: { Scene: A }, options: { objecttotile: "tiepoints" } }));
  assert.equal(s.type, "ContextSceneTiler");
  assert.deepEqual(s.options, { objectToTile: "TiePoints" });
});

test("leniency: pointClouds as one string on PointCloudConversion (section 1.6 doc bug) becomes pointCloud", () => {
  const c = parseJobCreation(body("PointCloudConversion", { inputs: { pointClouds: PC }, options: { outputFormat: "3DTilesPnts" } }));
  assert.deepEqual(c.inputs, { pointCloud: PC });
  // ...but not as an array, and not together with pointCloud.
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: { pointClouds: [PC] }, options: { outputFormat: "OPC" } })), [
    ["InvalidProperty", "specifications.inputs.pointClouds"],
  ]);
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: { pointCloud: PC, pointClouds: PC }, options: { outputFormat: "OPC" } })), [
    ["InvalidProperty", "specifications.inputs.pointClouds"],
  ]);
});

test("leniency: one id string where an id array is expected", () => {
  const c = parseJobCreation(body("PointCloudOptimization", { inputs: { pointClouds: A }, options: { outputFormat: "OPC" } }));
  assert.deepEqual(c.inputs, { pointClouds: [A] });
});

test("leniency: early-draft option name `format` is stored as outputFormat", () => {
  const c = parseJobCreation(pcBody({ format: "3dtilesglbc" }));
  assert.deepEqual(c.options, { outputFormat: "3DTilesGlbc" });
  assert.equal(c.outputFormat, "3DTilesGlbc");
  assert.deepEqual(problems(pcBody({ format: "OPC", outputFormat: "OPC" })), [["InvalidProperty", "specifications.options.outputFormat"]]);
});

test("null options, null name and null options object are dropped; -1 levels count as omitted", () => {
  const c = parseJobCreation({ ...pcBody({ outputFormat: "E57", inputCrs: null, outputCrs: null }), name: null });
  assert.equal("name" in c, false);
  assert.deepEqual(c.options, { outputFormat: "E57" });
  const t = parseJobCreation(tmBody({ outputFormat: "XYZTileMap", topLevel: -1, bottomLevel: null, jpgQuality: null, imageFormat: null, backgroundColor: null }));
  assert.deepEqual(t.options, { outputFormat: "XYZTileMap" });
  const s = parseJobCreation(body("ContextSceneTiler", { inputs: { scene: A }, options: null }));
  assert.deepEqual(s.options, {});
  const o = parseJobCreation(body("ContextSceneTiler", { inputs: { scene: A }, options: { objectToTile: null } }));
  assert.deepEqual(o.options, {});
});

test("the body must be a JSON object", () => {
  for (const b of [null, [], "x", 3, true, undefined]) assert.deepEqual(problems(b), [["InvalidProperty", ""]]);
});

test("required properties", () => {
  assert.deepEqual(problems({}), [
    ["MissingRequiredProperty", "type"],
    ["MissingRequiredProperty", "iTwinId"],
    ["MissingRequiredProperty", "specifications"],
  ]);
  assert.deepEqual(problems({ type: null, iTwinId: null, specifications: null }), [
    ["MissingRequiredProperty", "type"],
    ["MissingRequiredProperty", "iTwinId"],
    ["MissingRequiredProperty", "specifications"],
  ]);
  assert.deepEqual(problems(body("PointCloudConversion", { options: { outputFormat: "OPC" } })), [
    ["MissingRequiredProperty", "specifications.inputs"],
  ]);
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: {}, options: { outputFormat: "OPC" } })), [
    ["MissingRequiredProperty", "specifications.inputs.pointCloud"],
  ]);
  assert.deepEqual(problems(body("MeshSampling", { inputs: { meshes: null }, options: { outputFormat: "OPC" } })), [
    ["MissingRequiredProperty", "specifications.inputs.meshes"],
  ]);
  const d = detailsOf({ iTwinId: ITWIN, specifications: { inputs: {} } });
  assert.deepEqual(d, [{ code: "MissingRequiredProperty", message: "The type field is required.", target: "type" }]);
});

test("outputFormat is required for every type but ContextSceneTiler", () => {
  const inputs: Record<string, unknown> = { pointCloud: PC, pointClouds: [A], meshes: [A], tileMaps: [A], vectors: [A] };
  for (const [type, rule] of Object.entries(JOB_TYPE_RULES)) {
    if (type === "ContextSceneTiler") continue;
    const spec: Record<string, unknown> = { inputs: { [rule.input]: inputs[rule.input] } };
    assert.deepEqual(problems(body(type, spec)), [["MissingRequiredProperty", "specifications.options.outputFormat"]], type);
    assert.deepEqual(problems(body(type, { ...spec, options: { outputFormat: null } })), [
      ["MissingRequiredProperty", "specifications.options.outputFormat"],
    ]);
  }
});

test("type must be a job type, with the hosted message", () => {
  const d = detailsOf(body("PCConversion", { inputs: { pointCloud: PC } }));
  assert.equal(d.length, 1);
  assert.equal(d[0].code, "InvalidProperty");
  assert.equal(d[0].target, "type");
  assert.match(d[0].message, /^Invalid value 'PCConversion' for property 'type'\./);
  assert.deepEqual(problems(body(7, { inputs: {} })), [["InvalidProperty", "type"]]);
});

test("iTwinId and input ids must be GUIDs", () => {
  assert.deepEqual(problems({ ...pcBody({ outputFormat: "OPC" }), iTwinId: "not-a-guid" }), [["InvalidValue", "iTwinId"]]);
  assert.deepEqual(problems({ ...pcBody({ outputFormat: "OPC" }), iTwinId: 12 }), [["InvalidProperty", "iTwinId"]]);
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: { pointCloud: `{${PC}}` }, options: { outputFormat: "OPC" } })), [
    ["InvalidValue", "specifications.inputs.pointCloud"],
  ]);
  assert.deepEqual(problems(body("PointCloudOptimization", { inputs: { pointClouds: [A, "x", 5] }, options: { outputFormat: "OPC" } })), [
    ["InvalidValue", "specifications.inputs.pointClouds[1]"],
    ["InvalidProperty", "specifications.inputs.pointClouds[2]"],
  ]);
  assert.deepEqual(problems(body("ContextSceneTiler", { inputs: { scene: { id: A } } })), [["InvalidProperty", "specifications.inputs.scene"]]);
});

test("id arrays: non-empty, no repeats (case-insensitive), at most 1000", () => {
  const opt = { outputFormat: "OPC" };
  assert.deepEqual(problems(body("PointCloudOptimization", { inputs: { pointClouds: [] }, options: opt })), [
    ["InvalidValue", "specifications.inputs.pointClouds"],
  ]);
  assert.deepEqual(problems(body("MeshSampling", { inputs: { meshes: [A, B, A.toUpperCase()] }, options: opt })), [
    ["InvalidValue", "specifications.inputs.meshes[2]"],
  ]);
  assert.deepEqual(problems(body("MeshSampling", { inputs: { meshes: { a: A } }, options: opt })), [
    ["InvalidProperty", "specifications.inputs.meshes"],
  ]);
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`);
  const ok = parseJobCreation(body("PointCloudOptimization", { inputs: { pointClouds: ids(MAX_INPUTS) }, options: opt }));
  assert.equal(ok.inputIds.length, MAX_INPUTS);
  assert.deepEqual(problems(body("PointCloudOptimization", { inputs: { pointClouds: ids(MAX_INPUTS + 1) }, options: opt })), [
    ["InvalidValue", "specifications.inputs.pointClouds"],
  ]);
});

test("name: optional, string, 3..256 characters, no forbidden characters", () => {
  const ok = (name: string) => parseJobCreation({ ...pcBody({ outputFormat: "OPC" }), name }).name;
  assert.equal(ok("abc"), "abc");
  assert.equal(ok("x".repeat(256))?.length, 256);
  assert.equal(ok("Relevé 2024 - zone (A)"), "Relevé 2024 - zone (A)");
  for (const bad of ["ab", "x".repeat(257), 'a"b"c', "a<b>c", "a|bc", "a:bc", "a*bc", "a?bc", "a\\bc", "a/bc", "ab\u0001c", "ab\nc"]) {
    assert.deepEqual(problems({ ...pcBody({ outputFormat: "OPC" }), name: bad }), [["InvalidValue", "name"]], JSON.stringify(bad));
  }
  assert.deepEqual(problems({ ...pcBody({ outputFormat: "OPC" }), name: 123 }), [["InvalidProperty", "name"]]);
});

test("unknown properties are rejected at every level, and output cannot be given", () => {
  assert.deepEqual(problems({ ...pcBody({ outputFormat: "OPC" }), state: "Active" }), [["InvalidProperty", "state"]]);
  const d = detailsOf({ ...pcBody({ outputFormat: "OPC" }), extra: 1 });
  assert.equal(d[0].message, "Unknown property 'extra'.");
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: { pointCloud: PC }, options: { outputFormat: "OPC" }, output: A })), [
    ["InvalidProperty", "specifications.output"],
  ]);
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: { pointCloud: PC }, options: { outputFormat: "OPC" }, outputs: "opc" })), [
    ["InvalidProperty", "specifications.outputs"],
  ]);
  // An input key of another type is unknown for this one.
  assert.deepEqual(problems(body("PointCloudOptimization", { inputs: { pointCloud: PC }, options: { outputFormat: "OPC" } })), [
    ["InvalidProperty", "specifications.inputs.pointCloud"],
    ["MissingRequiredProperty", "specifications.inputs.pointClouds"],
  ]);
  assert.deepEqual(problems(body("MeshSampling", { inputs: { meshes: [A], extra: [B] }, options: { outputFormat: "OPC" } })), [
    ["InvalidProperty", "specifications.inputs.extra"],
  ]);
  // Options of another type are unknown for this one.
  assert.deepEqual(problems(pcBody({ outputFormat: "OPC", jpgQuality: 80, sampling: 1, merge: true })), [
    ["InvalidProperty", "specifications.options.jpgQuality"],
    ["InvalidProperty", "specifications.options.sampling"],
    ["InvalidProperty", "specifications.options.merge"],
  ]);
  assert.deepEqual(problems(body("ContextSceneTiler", { inputs: { scene: A }, options: { outputFormat: "OPC" } })), [
    ["InvalidProperty", "specifications.options.outputFormat"],
  ]);
  // Two spellings of one key.
  assert.deepEqual(problems({ ...pcBody({ outputFormat: "OPC" }), Type: "PointCloudConversion" }), [["InvalidProperty", "Type"]]);
});

test("specifications, inputs and options must be objects", () => {
  assert.deepEqual(problems(body("PointCloudConversion", [])), [["InvalidProperty", "specifications"]]);
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: [PC], options: { outputFormat: "OPC" } })), [
    ["InvalidProperty", "specifications.inputs"],
  ]);
  assert.deepEqual(problems(body("PointCloudConversion", { inputs: { pointCloud: PC }, options: "OPC" })), [
    ["InvalidProperty", "specifications.options"],
  ]);
});

test("outputFormat must belong to the job type's enumeration", () => {
  assert.deepEqual(problems(pcBody({ outputFormat: "XYZTileMap" })), [["InvalidProperty", "specifications.options.outputFormat"]]);
  assert.deepEqual(problems(pcBody({ outputFormat: "PNTS" })), [["InvalidProperty", "specifications.options.outputFormat"]]);
  assert.deepEqual(problems(pcBody({ outputFormat: 3 })), [["InvalidProperty", "specifications.options.outputFormat"]]);
  assert.deepEqual(problems(tmBody({ outputFormat: "OPC" })), [["InvalidProperty", "specifications.options.outputFormat"]]);
  assert.deepEqual(problems(pcBody({ format: "glb" })), [["InvalidProperty", "specifications.options.format"]]);
  for (const f of ["OPC", "3DTilesPnts", "3DTilesGlbc", "LAS", "LAZ", "E57", "POD"]) {
    assert.equal(parseJobCreation(pcBody({ outputFormat: f.toLowerCase() })).outputFormat, f);
  }
  const d = detailsOf(pcBody({ outputFormat: "GLB" }));
  assert.match(d[0].message, /^Invalid value 'GLB' for property 'specifications\.options\.outputFormat'\. Allowed values: OPC, 3DTilesPnts/);
});

test("CRS options: CRSs this server knows, non-blank, of at most 2048 characters", () => {
  const wkt = 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]';
  assert.equal(parseJobCreation(pcBody({ outputFormat: "OPC", inputCrs: wkt })).options.inputCrs, wkt);
  assert.deepEqual(problems(pcBody({ outputFormat: "OPC", inputCrs: "x".repeat(2048) })), [["InvalidValue", "specifications.options.inputCrs"]]);
  assert.deepEqual(problems(pcBody({ outputFormat: "OPC", inputCrs: "" })), [["InvalidValue", "specifications.options.inputCrs"]]);
  assert.deepEqual(problems(pcBody({ outputFormat: "OPC", outputCrs: "   " })), [["InvalidValue", "specifications.options.outputCrs"]]);
  assert.deepEqual(problems(pcBody({ outputFormat: "OPC", outputCrs: "x".repeat(2049) })), [["InvalidValue", "specifications.options.outputCrs"]]);
  assert.deepEqual(problems(pcBody({ outputFormat: "OPC", inputCrs: 4326 })), [["InvalidProperty", "specifications.options.inputCrs"]]);
});

test("MeshSampling sampling: finite number > 0", () => {
  const ms = (sampling: unknown) => body("MeshSampling", { inputs: { meshes: [A] }, options: { outputFormat: "LAS", sampling } });
  assert.equal(parseJobCreation(ms(0.001)).options.sampling, 0.001);
  assert.deepEqual(problems(ms(0)), [["InvalidValue", "specifications.options.sampling"]]);
  assert.deepEqual(problems(ms(-1)), [["InvalidValue", "specifications.options.sampling"]]);
  assert.deepEqual(problems(ms("0.5")), [["InvalidProperty", "specifications.options.sampling"]]);
});

test("TileMapOptimization options: levels, image format, quality, colour", () => {
  const p = (o: Record<string, unknown>) => problems(tmBody({ outputFormat: "XYZTileMap", ...o }));
  assert.deepEqual(p({ topLevel: 31 }), [["InvalidValue", "specifications.options.topLevel"]]);
  assert.deepEqual(p({ bottomLevel: -2 }), [["InvalidValue", "specifications.options.bottomLevel"]]);
  assert.deepEqual(p({ topLevel: 2.5 }), [["InvalidValue", "specifications.options.topLevel"]]);
  assert.deepEqual(p({ topLevel: "3" }), [["InvalidProperty", "specifications.options.topLevel"]]);
  assert.deepEqual(p({ topLevel: 12, bottomLevel: 5 }), [["InvalidValue", "specifications.options.topLevel"]]);
  assert.deepEqual(p({ imageFormat: "WEBP" }), [["InvalidProperty", "specifications.options.imageFormat"]]);
  assert.deepEqual(p({ jpgQuality: 9 }), [["InvalidValue", "specifications.options.jpgQuality"]]);
  assert.deepEqual(p({ jpgQuality: 100 }), [["InvalidValue", "specifications.options.jpgQuality"]]);
  assert.deepEqual(p({ jpgQuality: 50.5 }), [["InvalidValue", "specifications.options.jpgQuality"]]);
  for (const c of ["000000", "#00000", "#0000000", "#GGGGGG", "255.255.255"]) {
    assert.deepEqual(p({ backgroundColor: c }), [["InvalidValue", "specifications.options.backgroundColor"]], c);
  }
  assert.deepEqual(p({ backgroundColor: 0 }), [["InvalidProperty", "specifications.options.backgroundColor"]]);
  assert.equal(parseJobCreation(tmBody({ outputFormat: "XYZTileMap", backgroundColor: "#a0B1c2" })).options.backgroundColor, "#a0B1c2");
  assert.equal(parseJobCreation(tmBody({ outputFormat: "XYZTileMap", imageFormat: "png" })).options.imageFormat, "PNG");
});

test("VectorOptimization and ContextSceneTiler options", () => {
  const v = (o: Record<string, unknown>) => body("VectorOptimization", { inputs: { vectors: [A] }, options: { outputFormat: "GeoJSON", ...o } });
  assert.deepEqual(problems(v({ featureClassDisplayName: "" })), [["InvalidValue", "specifications.options.featureClassDisplayName"]]);
  assert.deepEqual(problems(v({ featureClassDisplayName: ["Road"] })), [["InvalidProperty", "specifications.options.featureClassDisplayName"]]);
  assert.deepEqual(problems(v({ outputFormat: "SHP" })), [["InvalidProperty", "specifications.options.outputFormat"]]);
  assert.deepEqual(problems(body("ContextSceneTiler", { inputs: { scene: A }, options: { objectToTile: "Photos" } })), [
    ["InvalidProperty", "specifications.options.objectToTile"],
  ]);
  assert.deepEqual(problems(body("ContextSceneTiler", { inputs: { scene: [A] } })), [["InvalidProperty", "specifications.inputs.scene"]]);
});

test("every problem of a body is reported at once, and long values are cut in messages", () => {
  const d = detailsOf({
    type: "MeshSampling",
    iTwinId: "x",
    name: "a",
    specifications: { inputs: { meshes: [] }, options: { outputFormat: "GLB", sampling: 0, foo: 1 } },
  });
  assert.deepEqual(
    d.map((x) => [x.code, x.target]),
    [
      ["InvalidValue", "name"],
      ["InvalidValue", "iTwinId"],
      ["InvalidValue", "specifications.inputs.meshes"],
      ["InvalidProperty", "specifications.options.foo"],
      ["InvalidProperty", "specifications.options.outputFormat"],
      ["InvalidValue", "specifications.options.sampling"],
    ],
  );
  const long = detailsOf({ ...pcBody({ outputFormat: "OPC" }), name: "<".repeat(10_000) });
  assert.ok(long[0].message.length < 300);
  // A body wrong in thousands of places still gives a bounded answer.
  const many = detailsOf(body("PointCloudOptimization", { inputs: { pointClouds: Array(1000).fill("bad") }, options: { outputFormat: "OPC" } }));
  assert.equal(many.length, 100);
});

test("outputRealityDataType for every output format and ContextSceneTiler", () => {
  const expected: Record<string, { type: string; rootDocument?: string }> = {
    OPC: { type: "OPC" },
    "3DTilesPnts": { type: "Cesium3DTiles", rootDocument: "tileset.json" },
    "3DTilesGlbc": { type: "Cesium3DTiles", rootDocument: "tileset.json" },
    LAS: { type: "LAS" },
    LAZ: { type: "LAZ" },
    E57: { type: "E57" },
    COPC: { type: "LAZ" },
    POD: { type: "PointCloud" },
    XYZTileMap: { type: "Unstructured", rootDocument: "tilemap.json" },
    GeoJSON: { type: "GeoJSON" },
    FeatureDB: { type: "Unstructured" },
  };
  assert.deepEqual(Object.keys(expected).sort(), [...OUTPUT_FORMATS].sort());
  for (const [type, rule] of Object.entries(JOB_TYPE_RULES)) {
    for (const f of rule.formats) assert.deepEqual(outputRealityDataType(type as never, f), expected[f], `${type} ${f}`);
  }
  assert.deepEqual(outputRealityDataType("ContextSceneTiler", undefined), { type: "Cesium3DTiles", rootDocument: "tileset.json" });
  assert.throws(() => outputRealityDataType("PointCloudConversion", "XYZTileMap"));
  assert.throws(() => outputRealityDataType("TileMapOptimization", undefined));
});

test("checkInputTypes accepts the documented types and refuses others with 422 InvalidInputType", () => {
  const pc = parseJobCreation(body("PointCloudOptimization", { inputs: { pointClouds: [A, B] }, options: { outputFormat: "OPC" } }));
  checkInputTypes(pc, new Map([[A, "LAS"], [B.toUpperCase(), "pointcloud"]]));
  checkInputTypes(pc, new Map([[A, "Unstructured"], [B, "E57"]]));
  try {
    checkInputTypes(pc, new Map([[A, "LAS"], [B, "Cesium3DTiles"]]));
    assert.fail("expected 422");
  } catch (e) {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 422);
    assert.equal(e.code, "InvalidRealityConversionRequest");
    assert.equal(e.details?.length, 1);
    assert.equal(e.details?.[0].code, "InvalidInputType");
    assert.equal(e.details?.[0].target, "specifications.inputs.pointClouds");
    assert.match(e.details?.[0].message ?? "", new RegExp(`'${B}' has type 'Cesium3DTiles'`));
  }
  // An id the caller could not resolve is a 404.
  assert.throws(() => checkInputTypes(pc, new Map([[A, "LAS"]])), (e: unknown) => e instanceof ApiError && e.status === 404);

  const scene = parseJobCreation(body("ContextSceneTiler", { inputs: { scene: A } }));
  checkInputTypes(scene, new Map([[A, "ContextScene"]]));
  assert.throws(
    () => checkInputTypes(scene, new Map([[A, "LAS"]])),
    (e: unknown) => e instanceof ApiError && e.status === 422 && e.details?.[0].target === "specifications.inputs.scene",
  );
  const mesh = parseJobCreation(body("MeshSampling", { inputs: { meshes: [A] }, options: { outputFormat: "OPC" } }));
  for (const t of JOB_TYPE_RULES.MeshSampling.declaration.input.accepts) checkInputTypes(mesh, new Map([[A, t]]));
  assert.throws(() => checkInputTypes(mesh, new Map([[A, "Unstructured"]])), ApiError);
  const tiles = parseJobCreation(tmBody({ outputFormat: "XYZTileMap" }));
  checkInputTypes(tiles, new Map([[A, "Orthophoto"]]));
  assert.throws(() => checkInputTypes(tiles, new Map([[A, "GeoJSON"]])), ApiError);
  const vec = parseJobCreation(body("VectorOptimization", { inputs: { vectors: [A] }, options: { outputFormat: "GeoJSON" } }));
  checkInputTypes(vec, new Map([[A, "SHP"]]));
  assert.throws(() => checkInputTypes(vec, new Map([[A, "LAS"]])), ApiError);
});

test("the registry declares exactly the hosted job types", () => {
  assert.deepEqual(declarations.map((d) => d.type).sort(), [...JOB_TYPES].sort());
  for (const entry of registry) for (const f of entry.produces) assert.ok(f in (entry.declaration.outputFormats ?? {}), `${entry.declaration.type} produces ${f}`);
});

/** Values an option declaration accepts and refuses, derived from it alone. */
function samples(decl: OptionDeclaration): { good: unknown[]; bad: unknown[] } {
  switch (decl.kind) {
    case "enum":
      return { good: [...decl.values, decl.values[0].toLowerCase()], bad: ["NotAValue", 3, {}] };
    case "integer":
      return { good: [decl.minimum, decl.maximum], bad: [decl.minimum - 2, decl.maximum + 1, 1.5, "3", { toString: 1 }] };
    case "number":
      return { good: [decl.greaterThan + 0.5, 10], bad: [decl.greaterThan, decl.greaterThan - 1, Infinity, "1"] };
    case "crs":
      return { good: ["EPSG:4326", "EPSG:32618+5703", "+proj=utm +zone=10 +datum=WGS84"], bad: ["not-a-crs", "<html>x</html>", "EPSG:999999", "", 4326, { a: 1 }] };
    case "color":
      return { good: ["#00FF7f"], bad: ["red", "#12345", 0xffffff] };
    case "text":
      return { good: ["x", "a".repeat(decl.maxLength)], bad: ["", "   ", "a".repeat(decl.maxLength + 1), 5, ["a"]] };
  }
}

test("validation follows the declarations, for every job type, format and option", () => {
  const ids: Record<string, unknown> = {};
  for (const d of declarations) {
    const rule = JOB_TYPE_RULES[d.type as keyof typeof JOB_TYPE_RULES];
    const inputs = { [d.input.key]: d.input.many ? [A] : A };
    const formats = Object.keys(d.outputFormats ?? {});
    const base = formats.length > 0 ? { outputFormat: formats[0] } : {};
    for (const f of formats) {
      assert.equal(parseJobCreation(body(d.type, { inputs, options: { outputFormat: f } })).outputFormat, f, `${d.type} ${f}`);
      assert.equal(parseJobCreation(body(d.type, { inputs, options: { outputFormat: f.toUpperCase() } })).outputFormat, f);
    }
    const foreign = OUTPUT_FORMATS.filter((f) => !formats.includes(f));
    for (const f of foreign) {
      assert.deepEqual(problems(body(d.type, { inputs, options: { outputFormat: f } })), [["InvalidProperty", "specifications.options.outputFormat"]], `${d.type} ${f}`);
    }
    for (const [key, decl] of Object.entries(d.options)) {
      const { good, bad } = samples(decl);
      for (const v of good) {
        const c = parseJobCreation(body(d.type, { inputs, options: { ...base, [key]: v } }));
        assert.ok(key in c.options, `${d.type}.${key} = ${JSON.stringify(v)} kept`);
      }
      for (const v of bad) {
        const got = problems(body(d.type, { inputs, options: { ...base, [key]: v } }));
        assert.equal(got.length, 1, `${d.type}.${key} = ${JSON.stringify(v)}`);
        assert.equal(got[0][1], `specifications.options.${key}`);
      }
      if (decl.kind === "integer" && decl.automatic !== undefined) {
        assert.ok(!(key in parseJobCreation(body(d.type, { inputs, options: { ...base, [key]: decl.automatic } })).options));
      }
    }
    // Options of other job types are unknown here.
    const others = declarations.flatMap((o) => Object.keys(o.options)).filter((k) => !(k in d.options));
    for (const k of others) assert.deepEqual(problems(body(d.type, { inputs, options: { ...base, [k]: 1 } })), [["InvalidProperty", `specifications.options.${k}`]]);
    assert.deepEqual([...rule.options].filter((k) => k !== "outputFormat"), Object.keys(d.options));
    ids[d.type] = inputs;
  }
});

test("inputCrs and outputCrs are checked when the job is created", () => {
  for (const key of ["inputCrs", "outputCrs"]) {
    const d = detailsOf(pcBody({ outputFormat: "LAS", [key]: "EPSG:999999" }));
    assert.equal(d.length, 1);
    assert.equal(d[0].code, "InvalidValue");
    assert.equal(d[0].target, `specifications.options.${key}`);
    assert.match(d[0].message, /EPSG:999999/);
  }
  assert.equal(parseJobCreation(pcBody({ outputFormat: "LAS", inputCrs: "EPSG:2994" })).options.inputCrs, "EPSG:2994");
});
