/**
 * VectorOptimization end to end over HTTP with worker processes: every shared vector sample uploaded,
 * converted to GeoJSON (checked against ogr2ogr) and to FeatureDB, whose query endpoint must return what
 * a brute-force filter over the GeoJSON output returns, page by page; access and damaged inputs.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { basename } from "node:path";
import { ContainerClient } from "@azure/storage-blob";
import { compareWithGdal, featureKey, inParallel, ogrAllLayers, skipWithoutGdal, vectorSamples, withoutEmpty, type JsonFeature } from "@realconv/convert/testing/vector";
import { api, startTestServer, type TestServer } from "../testing/harness.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const ended = (p: { state: string }) => ["Success", "Failed", "Cancelled"].includes(p.state);

describe("VectorOptimization through the API", { skip: skipWithoutGdal() }, () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  const samples = vectorSamples();

  before(async () => {
    s = await startTestServer({ workers: 2, leaseMs: 3000 });
    token = await s.token("alice@example.com");
    itwin = await s.createITwin("Vectors", ["alice@example.com"]);
  });
  after(async () => {
    await s.close();
  });

  async function upload(type: string, files: { name: string; data: Buffer | string }[]): Promise<string> {
    const rd = await api(s.url, "POST", "/reality-management/reality-data", { token, headers: V1, body: { iTwinId: itwin, displayName: files[0].name, type } });
    assert.equal(rd.status, 201, JSON.stringify(rd.body));
    const w = await api(s.url, "GET", `/reality-management/reality-data/${rd.body.realityData.id}/writeaccess`, { token, headers: V1 });
    const container = new ContainerClient(w.body._links.containerUrl.href);
    for (const f of files) {
      const client = container.getBlockBlobClient(f.name);
      if (typeof f.data === "string") await client.uploadFile(f.data);
      else await client.uploadData(f.data);
    }
    return rd.body.realityData.id;
  }

  async function convert(input: string, options: Record<string, unknown>): Promise<{ state: string; output: string; id: string }> {
    const r = await api(s.url, "POST", "/reality-conversion/jobs", {
      token,
      body: { type: "VectorOptimization", iTwinId: itwin, name: "vectors", specifications: { inputs: { vectors: [input] }, options } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.job.id as string;
    const start = Date.now();
    for (;;) {
      const p = await api(s.url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
      if (ended(p.body.progress)) return { state: p.body.progress.state, output: r.body.job.specifications.output, id };
      if (Date.now() - start > 120_000) throw new Error(`job ${id} did not end`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }

  async function download(realityDataId: string, name: string): Promise<Buffer> {
    const r = await api(s.url, "GET", `/reality-management/reality-data/${realityDataId}/readaccess`, { token, headers: V1 });
    return new ContainerClient(r.body._links.containerUrl.href).getBlobClient(name).downloadToBuffer();
  }

  const query = (path: string, as = token) => api(s.url, "GET", `/reality-management/reality-data/${path}`, { token: as, headers: { accept: "application/geo+json" } });

  /** Every feature of a query, following `next` links; checks the paging members on the way. */
  async function allItems(first: string): Promise<JsonFeature[]> {
    const out: JsonFeature[] = [];
    let url: string | undefined = first;
    let matched: number | undefined;
    while (url) {
      const r = await api(s.url, "GET", url.replace(s.url, ""), { token, headers: { accept: "application/geo+json" } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(String(r.headers.get("content-type")), /application\/geo\+json/);
      assert.equal(r.body.type, "FeatureCollection");
      assert.equal(r.body.numberReturned, r.body.features.length);
      matched ??= r.body.numberMatched;
      assert.equal(r.body.numberMatched, matched);
      out.push(...r.body.features);
      url = r.body.links.find((l: { rel: string }) => l.rel === "next")?.href;
    }
    assert.equal(out.length, matched);
    return out;
  }

  it("every sample converts to GeoJSON as ogr2ogr reads it, and to FeatureDB", async () => {
    const gdal = await inParallel(samples.map((sm) => () => ogrAllLayers(sm.ogrPath)));
    // All jobs at once: the two workers share them.
    const jobs = await Promise.all(
      samples.map(async (sm) => {
        const type = sm.name.endsWith(".kml") ? "KML" : sm.files.length > 1 ? "SHP" : sm.name.endsWith(".geojson") ? "GeoJSON" : "Unstructured";
        const input = await upload(type, sm.files.map((f) => ({ name: basename(f), data: f })));
        return Promise.all([convert(input, { outputFormat: "GeoJSON" }), convert(input, { outputFormat: "FeatureDB", featureClassDisplayName: sm.name })]);
      }),
    );
    for (const [i, sm] of samples.entries()) {
      const [geojson, fdb] = jobs[i];
      assert.equal(geojson.state, "Success", sm.name);
      const out = JSON.parse((await download(geojson.output, "features.geojson")).toString()) as { features: JsonFeature[] };
      compareWithGdal(sm.name, out.features, gdal[i]);
      const rd = await api(s.url, "GET", `/reality-management/reality-data/${geojson.output}`, { token, headers: V1 });
      assert.equal(rd.body.realityData.rootDocument, "features.geojson");
      assert.equal(rd.body.realityData.type, "GeoJSON");
      assert.equal(fdb.state, "Success", sm.name);
      const collections = await query(`${fdb.output}/collections`);
      assert.equal(collections.status, 200);
      assert.equal(collections.body.collections[0].featureCount, out.features.length, sm.name);
      const cid = collections.body.collections[0].id;
      const all = await allItems(`/reality-management/reality-data/${fdb.output}/collections/${cid}/items?limit=1000`);
      assert.deepEqual(all.map((f) => featureKey(f, 7, true)).sort(), out.features.map((f) => featureKey(f, 7, true)).sort(), sm.name);
    }
  });

  it("FeatureDB queries return what a brute-force filter over the GeoJSON output returns, paged", async () => {
    const senate = samples.find((x) => x.name === "senate")!;
    const rivers = samples.find((x) => x.name === "rivers.gpkg")!;
    const files = [...senate.files, ...rivers.files].map((f) => ({ name: basename(f), data: f }));
    const input = await upload("Unstructured", files);
    const [geojson, fdb] = await Promise.all([convert(input, { outputFormat: "GeoJSON" }), convert(input, { outputFormat: "FeatureDB", featureClassDisplayName: "Senate and rivers" })]);
    assert.equal(geojson.state, "Success");
    assert.equal(fdb.state, "Success");
    const features = (JSON.parse((await download(geojson.output, "features.geojson")).toString()) as { features: JsonFeature[] }).features;
    const collection = await query(`${fdb.output}/collections/senate-and-rivers`);
    assert.equal(collection.status, 200, JSON.stringify(collection.body));
    assert.equal(collection.body.title, "Senate and rivers");
    assert.deepEqual(collection.body.layers.map((l: { name: string }) => l.name).sort(), ["FEATURESriversds", "senate"]);
    const box = (f: JsonFeature) => {
      const flat = JSON.stringify(withoutEmpty(f.geometry)?.coordinates ?? []).match(/-?[\d.e+-]+,-?[\d.e+-]+/g) ?? [];
      const pts = flat.map((p) => p.split(",").map(Number));
      return [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
    };
    const intersects = (b: number[], q: number[]) => b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1];
    const items = `/reality-management/reality-data/${fdb.output}/collections/senate-and-rivers/items`;
    const cases: { q: string; keep: (f: JsonFeature) => boolean }[] = [
      ...[
        [-71.2, 42.2, -70.9, 42.5],
        [-73.6, 41, -69.8, 43],
        [0, 0, 10, 10],
        [70, 20, 90, 35],
      ].map((b) => ({ q: `bbox=${b.join(",")}`, keep: (f: JsonFeature) => intersects(box(f), b) })),
      { q: "layer=senate&SEN_PARTY=(D)", keep: (f) => f.properties!.layer === "senate" && f.properties!.SEN_PARTY === "(D)" },
      { q: "bbox=-72,41,-70,43&SEN_PARTY=(R)", keep: (f) => intersects(box(f), [-72, 41, -70, 43]) && f.properties!.SEN_PARTY === "(R)" },
    ];
    for (const { q, keep } of cases) {
      const expected = features.filter(keep).map((f) => featureKey(f, 7, true)).sort();
      for (const limit of [3, 50]) {
        const got = await allItems(`${items}?${q.replace("(", "%28").replace(")", "%29")}&limit=${limit}`);
        assert.deepEqual(got.map((f) => featureKey(f, 7, true)).sort(), expected, `${q} limit ${limit}`);
      }
    }
    const first = await query(`${fdb.output}/collections/senate-and-rivers/items?limit=2&offset=1`);
    assert.equal(first.body.numberReturned, 2);
    assert.equal(first.body.numberMatched, features.length);
    assert.match(first.body.links.find((l: { rel: string }) => l.rel === "next").href, /offset=3/);
    for (const bad of ["bbox=1,2,3", "limit=0", "offset=-1", "nosuchproperty=1"]) {
      const r = await query(`${fdb.output}/collections/senate-and-rivers/items?${bad}`);
      assert.equal(r.status, 400, bad);
    }
    // Not a FeatureDB, someone else's, unknown: not found.
    assert.equal((await query(`${geojson.output}/collections`)).status, 404);
    assert.equal((await query(`${fdb.output}/collections/nope`)).status, 404);
    const bob = await s.token("bob@example.com");
    assert.equal((await query(`${fdb.output}/collections`, bob)).status, 404);
    assert.equal((await query(`00000000-0000-4000-8000-000000000000/collections`)).status, 404);
    assert.equal((await api(s.url, "GET", `/reality-management/reality-data/${fdb.output}/collections`, { headers: { accept: "application/geo+json" } })).status, 401);
  });

  it("damaged inputs fail their job with a message naming the file; the server stays up", async () => {
    for (const [name, data] of [
      ["broken.geojson", Buffer.from('{"type":"FeatureCollection","features":[{"type":"Feature",')],
      ["doc.kmz", Buffer.from("not a zip")],
      ["db.gpkg", Buffer.from("not sqlite")],
    ] as const) {
      const input = await upload("Unstructured", [{ name, data }]);
      const job = await convert(input, { outputFormat: "FeatureDB" });
      assert.equal(job.state, "Failed", name);
      const m = await api(s.url, "GET", `/reality-conversion/jobs/${job.id}/messages`, { token });
      const text = JSON.stringify(m.body);
      assert.match(text, new RegExp(name.replace(".", "\\.")), text);
      assert.doesNotMatch(text, /InternalError/);
    }
    assert.equal((await api(s.url, "GET", "/health", {})).status, 200);
  });
});
