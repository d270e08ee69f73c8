/**
 * Size limits of the embedded blob endpoint, over real HTTP: Azure's own (block and Put Blob sizes, block
 * counts) and realconv's quota per reality data, including the same staged block committed many times.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { ContainerClient } from "@azure/storage-blob";
import { api, startTestServer, type TestServer } from "../../testing/harness.js";
import { assertAzureError } from "../../testing/envelope.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const KiB = 1024;
const MiB = 1024 * KiB;

/** A write SAS for a new reality data's container, and a URL maker for blobs in it. */
async function writableContainer(s: TestServer): Promise<(blob: string, query?: string) => string> {
  const token = await s.token("limits@example.com");
  const itwin = await s.createITwin("Limits", ["limits@example.com"]);
  const rd = await api(s.url, "POST", "/reality-management/reality-data", { token, headers: V1, body: { iTwinId: itwin, displayName: "x", type: "Unstructured" } });
  const w = await api(s.url, "GET", `/reality-management/reality-data/${rd.body.realityData.id}/writeaccess`, { token, headers: V1 });
  const sas = new URL(w.body._links.containerUrl.href);
  return (blob, query = "") => `${sas.origin}${sas.pathname}/${blob}${sas.search}${query}`;
}

/** A PUT that declares `declared` bytes but sends one KiB: the answer must come without the rest. */
function putDeclaring(url: string, declared: number): Promise<{ status: number; headers: Headers; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "PUT", headers: { "content-length": String(declared), "x-ms-blob-type": "BlockBlob", "content-type": "application/octet-stream" } });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error("no answer before the body was sent"));
    }, 5000);
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        req.destroy();
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(parts).toString() });
      });
    });
    req.on("error", () => {
      /* the server may close before the declared body is sent: the response decides */
    });
    req.write(Buffer.alloc(KiB));
  });
}

const put = (url: string, body: NonNullable<RequestInit["body"]>, headers: Record<string, string> = {}) =>
  fetch(url, { method: "PUT", body, headers: { "x-ms-blob-type": "BlockBlob", ...headers }, duplex: "half" } as RequestInit);

async function expectAzureError(res: Response | Promise<Response>, status: number, code: string, what: string): Promise<void> {
  const r = await res;
  const body = await r.text();
  assert.equal(r.status, status, `${what}: ${body}`);
  assert.equal(r.headers.get("x-ms-error-code"), code, what);
  assertAzureError({ status: r.status, headers: r.headers, body }, "PUT", what);
}

const blockId = (i: number) => Buffer.from(`block-${String(i).padStart(6, "0")}`).toString("base64");
const blockList = (ids: string[]) => `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join("")}</BlockList>`;

describe("blob endpoint limits", () => {
  let azureLimits: TestServer;
  let quota: TestServer;

  before(async () => {
    azureLimits = await startTestServer();
    quota = await startTestServer({ maxRealityDataMb: 1 });
  });
  after(async () => {
    await azureLimits.close();
    await quota.close();
  });

  it("413 RequestBodyTooLarge for Put Block over 4000 MiB and Put Blob over 5000 MiB, before the body is read", async () => {
    const url = await writableContainer(azureLimits);
    const block = await putDeclaring(url("big.bin", `&comp=block&blockid=${encodeURIComponent(blockId(0))}`), 4000 * MiB + 1);
    assert.equal(block.status, 413, block.body);
    assertAzureError(block, "PUT", "Put Block");
    assert.equal(block.headers.get("x-ms-error-code"), "RequestBodyTooLarge");
    const blob = await putDeclaring(url("big.bin"), 5000 * MiB + 1);
    assert.equal(blob.status, 413, blob.body);
    assert.equal(blob.headers.get("x-ms-error-code"), "RequestBodyTooLarge");
  });

  it("409 BlockCountExceedsLimit for a block list of more than 50,000 blocks", async () => {
    const url = await writableContainer(azureLimits);
    assert.equal((await put(url("many.bin", `&comp=block&blockid=${encodeURIComponent(blockId(0))}`), "x")).status, 201);
    const ids = Array.from({ length: 50_001 }, () => blockId(0));
    await expectAzureError(put(url("many.bin", "&comp=blocklist"), blockList(ids)), 409, "BlockCountExceedsLimit", "50,001 blocks");
    const ok = await put(url("many.bin", "&comp=blocklist"), blockList(ids.slice(1)));
    assert.equal(ok.status, 201, "50,000 blocks are fine");
  });

  it("the quota per reality data holds for Put Blob, declared or streamed, and for overwrites", async () => {
    const url = await writableContainer(quota);
    await expectAzureError(put(url("a.bin"), Buffer.alloc(MiB + 1)), 413, "RequestBodyTooLarge", "declared over the quota");
    const streamed = new ReadableStream({
      start(c) {
        for (let i = 0; i < 24; i++) c.enqueue(new Uint8Array(64 * KiB));
        c.close();
      },
    });
    await expectAzureError(put(url("a.bin"), streamed), 413, "RequestBodyTooLarge", "streamed over the quota");
    assert.equal((await fetch(url("a.bin"))).status, 404, "nothing was kept");
    assert.equal((await put(url("a.bin"), Buffer.alloc(600 * KiB))).status, 201);
    await expectAzureError(put(url("b.bin"), Buffer.alloc(600 * KiB)), 413, "RequestBodyTooLarge", "the container is nearly full");
    assert.equal((await put(url("a.bin"), Buffer.alloc(700 * KiB))).status, 201, "an overwrite counts what it replaces");
    const client = new ContainerClient(url("").replace(/\/\?/, "?"));
    await assert.rejects(client.getBlockBlobClient("sdk.bin").uploadData(Buffer.alloc(2 * MiB), { blockSize: 256 * KiB }), (e: { statusCode?: number }) => e.statusCode === 413);
  });

  it("the same block id committed many times cannot grow a blob past the quota; staged blocks count too", async () => {
    const url = await writableContainer(quota);
    const id = encodeURIComponent(blockId(1));
    assert.equal((await put(url("r.bin", `&comp=block&blockid=${id}`), Buffer.alloc(100 * KiB))).status, 201);
    await expectAzureError(put(url("r.bin", "&comp=blocklist"), blockList(Array.from({ length: 200 }, () => blockId(1)))), 413, "RequestBodyTooLarge", "repeated block id");
    assert.equal((await fetch(url("r.bin"))).status, 404, "the blob was not written");
    const ok = await put(url("r.bin", "&comp=blocklist"), blockList([blockId(1), blockId(1), blockId(1)]));
    assert.equal(ok.status, 201, "repeating a block within the limits is allowed, as in Azure");
    assert.equal(Number((await fetch(url("r.bin"), { method: "HEAD" })).headers.get("content-length")), 300 * KiB);

    for (let i = 0; i < 2; i++) assert.equal((await put(url("s.bin", `&comp=block&blockid=${encodeURIComponent(blockId(i))}`), Buffer.alloc(300 * KiB))).status, 201);
    await expectAzureError(put(url("s.bin", `&comp=block&blockid=${encodeURIComponent(blockId(2))}`), Buffer.alloc(300 * KiB)), 413, "RequestBodyTooLarge", "staged over the quota");
    assert.equal((await put(url("s.bin", `&comp=block&blockid=${encodeURIComponent(blockId(1))}`), Buffer.alloc(300 * KiB))).status, 201, "re-staging an id replaces its block");
  });
});
