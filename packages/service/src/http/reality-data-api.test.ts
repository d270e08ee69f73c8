/**
 * Conformance of /reality-management/reality-data over real HTTP, and the container flow with the
 * official @azure/storage-blob client against realconv's embedded endpoint.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ContainerClient } from "@azure/storage-blob";
import { api, startTestServer, type TestServer } from "../testing/harness.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const RD_KEYS_MIN = ["authoring", "classification", "createdDateTime", "dataCenterLocation", "displayName", "id", "lastAccessedDateTime", "modifiedDateTime", "ownerId", "size", "type"];

describe("Reality Management API", () => {
  let s: TestServer;
  let alice: string;
  let bob: string;
  let itwin: string;
  let other: string;
  const call = (method: string, path: string, o: Parameters<typeof api>[3] = {}) =>
    api(s.url, method, `/reality-management/reality-data${path}`, { ...o, headers: { ...V1, ...o.headers } });
  const create = async (body: Record<string, unknown>, token = alice) => {
    const r = await call("POST", "", { token, body: { iTwinId: itwin, displayName: "Scan", type: "LAS", ...body } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.realityData as Record<string, any>;
  };

  before(async () => {
    s = await startTestServer();
    alice = await s.token("alice@example.com");
    bob = await s.token("bob@example.com");
    itwin = await s.createITwin("Site", ["alice@example.com"]);
    other = await s.createITwin("Other", ["alice@example.com", "bob@example.com"]);
  });
  after(async () => s.close());

  it("creates (201) with every documented field, lower-cased tags and the full representation", async () => {
    const body = {
      displayName: "Autzen scan",
      classification: "Model",
      type: "las",
      description: "Airborne lidar",
      dataset: "Autzen",
      group: "g1",
      attribution: "PDAL",
      termsOfUse: "BSD",
      rootDocument: "autzen.las",
      tags: ["Lidar", "Oregon"],
      acquisition: { startDateTime: "2021-05-12T20:03:12Z", endDateTime: "2021-05-15T22:07:18Z", acquirer: "Data Acquisition Inc." },
      extent: { southWest: { latitude: 44.05, longitude: -123.08 }, northEast: { latitude: 44.06, longitude: -123.06 } },
      crs: { id: "EPSG:2994", verticalId: "EPSG:5703" },
      authoring: true,
    };
    const rd = await create(body);
    assert.equal(rd.type, "LAS", "canonical type");
    assert.deepEqual(rd.tags, ["lidar", "oregon"]);
    assert.equal(rd.size, 0);
    assert.equal(rd.authoring, true);
    for (const k of ["description", "dataset", "group", "attribution", "termsOfUse", "rootDocument", "acquisition", "extent", "crs"]) {
      assert.deepEqual(rd[k], (body as Record<string, unknown>)[k], k);
    }
    for (const k of RD_KEYS_MIN) assert.ok(k in rd, k);
    assert.equal("iTwinId" in rd, false);
    const got = await call("GET", `/${rd.id}`, { token: alice });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.realityData, rd);
    const viaITwin = await call("GET", `/${rd.id}?iTwinId=${itwin}`, { token: alice });
    assert.equal(viaITwin.status, 200);
    const wrongITwin = await call("GET", `/${rd.id}?iTwinId=${other}`, { token: alice });
    assert.equal(wrongITwin.status, 404);
  });

  it("422 InvalidRealityDataRequest for unknown properties and broken field rules", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ colour: 1 }, "colour"],
      [{ type: "NotAType" }, "type"],
      [{ classification: "Secret" }, "classification"],
      [{ tags: Array.from({ length: 16 }, (_, i) => `t${i}`) }, "tags"],
      [{ tags: ["a/b"] }, "tags[0]"],
      [{ tags: ["x".repeat(61)] }, "tags[0]"],
      [{ extent: { southWest: { latitude: 91, longitude: 0 }, northEast: { latitude: 0, longitude: 0 } } }, "extent.southWest.latitude"],
      [{ displayName: "see http://evil.example" }, "displayName"],
      [{ rootDocument: "../escape.json" }, "rootDocument"],
      [{ iTwinId: "nope" }, "iTwinId"],
    ];
    for (const [extra, target] of cases) {
      const r = await call("POST", "", { token: alice, body: { iTwinId: itwin, displayName: "x", type: "LAS", ...extra } });
      assert.equal(r.status, 422, JSON.stringify(extra));
      assert.equal(r.body.error.code, "InvalidRealityDataRequest");
      assert.ok(r.body.error.details.some((d: { target: string }) => d.target === target), `${target}: ${JSON.stringify(r.body)}`);
    }
    const missing = await call("POST", "", { token: alice, body: { iTwinId: itwin } });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.body.error.details.map((d: { target: string }) => d.target).sort(), ["displayName", "type"]);
  });

  it("403 InsufficientPermissions to create in an iTwin one is not a member of; 401 without a token", async () => {
    const r = await call("POST", "", { token: bob, body: { iTwinId: itwin, displayName: "x", type: "LAS" } });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, "InsufficientPermissions");
    const u = await call("POST", "", { body: { iTwinId: itwin, displayName: "x", type: "LAS" } });
    assert.equal(u.status, 401);
    assert.equal(u.body.error.code, "HeaderNotFound");
  });

  it("PATCH updates, 404 RealityDataNotFound for others, DELETE 204", async () => {
    const rd = await create({ displayName: "Before" });
    const p = await call("PATCH", `/${rd.id}`, { token: alice, body: { displayName: "After", tags: ["New"], authoring: false } });
    assert.equal(p.status, 200);
    assert.equal(p.body.realityData.displayName, "After");
    assert.deepEqual(p.body.realityData.tags, ["new"]);
    const bad = await call("PATCH", `/${rd.id}`, { token: alice, body: { iTwinId: other } });
    assert.equal(bad.status, 422, "iTwinId is not updatable (move is)");
    for (const [method, path] of [["GET", `/${rd.id}`], ["PATCH", `/${rd.id}`], ["DELETE", `/${rd.id}`], ["GET", `/${randomUUID()}`], ["GET", "/not-a-guid"]]) {
      const r = await call(method, path, { token: bob, body: method === "PATCH" ? {} : undefined });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.error.code, "RealityDataNotFound");
    }
    const d = await call("DELETE", `/${rd.id}`, { token: alice });
    assert.equal(d.status, 204);
    assert.equal((await call("GET", `/${rd.id}`, { token: alice })).status, 404);
  });

  it("associates, lists iTwins, dissociates, refuses delete with several associations, moves", async () => {
    const rd = await create({});
    const a = await call("POST", `/${rd.id}/iTwins/${other}`, { token: alice });
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, { iTwinAssociation: { id: rd.id, iTwinId: other } });
    const again = await call("POST", `/${rd.id}/itwins/${other}`, { token: alice });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "AssociationExists");
    const list = await call("GET", `/${rd.id}/itwins`, { token: alice });
    assert.deepEqual(list.body.iTwins.sort(), [itwin, other].sort());
    assert.equal((await call("GET", `/${rd.id}`, { token: bob })).status, 200, "bob sees it through the other iTwin");
    const del = await call("DELETE", `/${rd.id}`, { token: alice });
    assert.equal(del.status, 422);
    const moveBlocked = await call("PATCH", `/${rd.id}/move`, { token: alice, body: { iTwinId: other } });
    assert.equal(moveBlocked.status, 422);
    const dis = await call("DELETE", `/${rd.id}/iTwins/${other}`, { token: alice });
    assert.equal(dis.status, 204);
    const dis2 = await call("DELETE", `/${rd.id}/itwins/${other}`, { token: alice });
    assert.equal(dis2.status, 404);
    assert.equal(dis2.body.error.code, "AssociationNotFound");
    const mv = await call("PATCH", `/${rd.id}/move`, { token: alice, body: { iTwinId: other } });
    assert.equal(mv.status, 204);
    assert.deepEqual((await call("GET", `/${rd.id}/itwins`, { token: alice })).body.iTwins, [other]);
    const mvSame = await call("PATCH", `/${rd.id}/move`, { token: alice, body: { iTwinId: other } });
    assert.equal(mvSame.status, 409);
    assert.equal(mvSame.body.error.code, "AlreadyExists");
  });

  it("lists with every filter, $orderBy, Prefer, $top errors and _links.next paging", async () => {
    const site = await s.createITwin("Listing", ["alice@example.com"]);
    const made: Record<string, any>[] = [];
    const specs = [
      { displayName: "alpha", type: "LAS", tags: ["red"], extent: { southWest: { latitude: 10, longitude: 10 }, northEast: { latitude: 11, longitude: 11 } }, acquisition: { startDateTime: "2020-01-01T00:00:00Z" } },
      { displayName: "bravo", type: "E57", tags: ["blue"], description: "needle in a haystack" },
      { displayName: "charlie", type: "LAZ", tags: ["red", "blue"], extent: { southWest: { latitude: 50, longitude: 50 }, northEast: { latitude: 51, longitude: 51 } } },
      { displayName: "delta", type: "LAS" },
      { displayName: "echo", type: "OBJ" },
    ];
    for (const sp of specs) {
      made.push(await create({ ...sp, iTwinId: site }));
      await new Promise((r) => setTimeout(r, 3));
    }
    const names = async (qs: string, prefer?: string) => {
      const r = await call("GET", `?iTwinId=${site}&${qs}`, { token: alice, headers: prefer ? { prefer } : {} });
      assert.equal(r.status, 200, `${qs}: ${JSON.stringify(r.body)}`);
      return r.body.realityData.map((x: { displayName: string }) => x.displayName);
    };
    assert.deepEqual(await names(""), ["alpha", "bravo", "charlie", "delta", "echo"]);
    assert.deepEqual(await names("types=LAS,LAZ"), ["alpha", "charlie", "delta"], "comma list");
    assert.deepEqual(await names("types=LAS&types=E57"), ["alpha", "bravo", "delta"], "repeated key");
    assert.deepEqual(await names("tag=RED"), ["alpha", "charlie"]);
    assert.deepEqual(await names("$search=NEEDLE"), ["bravo"]);
    assert.deepEqual(await names("$search=har"), ["charlie"]);
    assert.deepEqual(await names("extent=9,9,10.5,10.5"), ["alpha"]);
    assert.deepEqual(await names("$orderBy=displayName desc"), ["echo", "delta", "charlie", "bravo", "alpha"]);
    assert.deepEqual(await names(`createdDateTime=${made[2].createdDateTime}/`), ["charlie", "delta", "echo"]);
    assert.deepEqual(await names("acquisitionDateTime=2019-01-01T00:00:00Z/2021-01-01T00:00:00Z"), ["alpha"]);
    assert.deepEqual(await names(`ownerId=${made[0].ownerId}&types=OBJ`), ["echo"]);
    const minimal = await call("GET", `?iTwinId=${site}`, { token: alice });
    assert.deepEqual(Object.keys(minimal.body.realityData[0]).sort(), ["displayName", "id", "type"], "return=minimal by default");
    const full = await call("GET", `?iTwinId=${site}`, { token: alice, headers: { prefer: "return=representation" } });
    assert.deepEqual(full.body.realityData[0], made[0]);

    const seen: string[] = [];
    let href: string | undefined = `${s.url}/reality-management/reality-data?iTwinId=${site}&$top=2`;
    let pages = 0;
    while (href) {
      const r = await fetch(href, { headers: { authorization: `Bearer ${alice}`, ...V1 } });
      const b = (await r.json()) as { realityData: { displayName: string }[]; _links?: { next: { href: string } } };
      seen.push(...b.realityData.map((x) => x.displayName));
      href = b._links?.next.href;
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, ["alpha", "bravo", "charlie", "delta", "echo"]);

    for (const top of ["0", "1001", "x"]) {
      const r = await call("GET", `?iTwinId=${site}&$top=${top}`, { token: alice });
      assert.equal(r.status, 422);
      assert.equal(r.body.error.details[0].message, "The field Top must be between 1 and 1000.");
      assert.equal(r.body.error.details[0].target, "$Top");
    }
    for (const forged of [{ top: 5000, skip: 0 }, { top: 2, skip: 1e300 }, { top: 2, skip: -1 }, "not json"]) {
      const token = Buffer.from(typeof forged === "string" ? forged : JSON.stringify(forged)).toString("base64url");
      const r = await call("GET", `?iTwinId=${site}&continuationToken=${token}`, { token: alice });
      assert.equal(r.status, 422, JSON.stringify(forged));
      assert.equal(r.body.error.details[0].target, "continuationToken");
    }
    const noAccess = await call("GET", `?iTwinId=${site}`, { token: bob });
    assert.equal(noAccess.status, 404);
    assert.equal(noAccess.body.error.code, "iTwinNotFound");
    const bobsAll = await call("GET", "", { token: bob });
    assert.ok(!bobsAll.body.realityData.some((x: { id: string }) => made.some((m) => m.id === x.id)), "no iTwinId: only iTwins one belongs to");
  });

  it("versions by Accept: v1 served, v2 refused", async () => {
    const r = await api(s.url, "GET", "/reality-management/reality-data", { token: alice, headers: { accept: "application/vnd.bentley.itwin-platform.v2+json" } });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, "ResourceNotFound");
  });

  it("container flow with @azure/storage-blob: write SAS uploads, lists, ranged reads, deletes; read SAS only reads", async () => {
    const rd = await create({ type: "Unstructured" });
    const w = await call("GET", `/${rd.id}/writeAccess?iTwinId=${itwin}`, { token: alice });
    assert.equal(w.status, 200);
    assert.equal(w.body.type, "AzureBlobSasUrl");
    assert.equal(w.body.access, "Write");
    const writeUrl = w.body._links.containerUrl.href as string;
    const se = new URL(writeUrl).searchParams.get("se");
    assert.ok(se && Date.parse(se) - Date.now() >= 60 * 60 * 1000, "valid at least 60 minutes");
    const container = new ContainerClient(writeUrl);
    const payload = Buffer.from("x".repeat(300_000) + "tail");
    await container.getBlockBlobClient("folder/data.bin").uploadData(payload, { blockSize: 64 * 1024, concurrency: 4 });
    await container.getBlockBlobClient("root.json").upload("{}", 2);
    const names: string[] = [];
    for await (const b of container.listBlobsFlat()) names.push(b.name);
    assert.deepEqual(names.sort(), ["folder/data.bin", "root.json"]);
    const range = await container.getBlobClient("folder/data.bin").download(300_000, 4);
    assert.equal(await streamText(range.readableStreamBody!), "tail");

    const r = await call("GET", `/${rd.id}/readaccess`, { token: alice });
    assert.equal(r.body.access, "Read");
    const reader = new ContainerClient(r.body._links.containerUrl.href);
    const whole = await reader.getBlobClient("root.json").downloadToBuffer();
    assert.equal(whole.toString(), "{}");
    await assert.rejects(reader.getBlockBlobClient("x.txt").upload("no", 2), (e: { statusCode?: number }) => e.statusCode === 403);
    await assert.rejects(reader.deleteBlob("root.json"), (e: { statusCode?: number }) => e.statusCode === 403);
    const tampered = r.body._links.containerUrl.href.replace(/sig=([^&]{4})/, "sig=AAAA");
    await assert.rejects(new ContainerClient(tampered).getBlobClient("root.json").downloadToBuffer(), (e: { statusCode?: number }) => e.statusCode === 403);
    // Another reality data's container cannot be reached with this SAS.
    const otherRd = await create({});
    const cross = r.body._links.containerUrl.href.replace(rd.id, otherRd.id);
    await assert.rejects(new ContainerClient(cross).getBlobClient("root.json").downloadToBuffer(), (e: { statusCode?: number }) => e.statusCode === 403);

    await container.deleteBlob("root.json");
    // The size follows the container (kilobytes, recounted shortly after writes).
    let size = 0;
    for (let i = 0; i < 50 && size === 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      size = (await call("GET", `/${rd.id}`, { token: alice })).body.realityData.size;
    }
    assert.equal(size, Math.ceil(payload.length / 1024));
    const noAccess = await call("GET", `/${rd.id}/writeaccess`, { token: bob });
    assert.equal(noAccess.status, 404);
  });
});

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts).toString();
}
