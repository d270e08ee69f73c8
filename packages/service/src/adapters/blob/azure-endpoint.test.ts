/**
 * Drives the embedded endpoint with the real `@azure/storage-blob` ContainerClient over a real socket, backed by a
 * LocalBlobStore in a temp folder.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, describe, test } from "node:test";
import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import { ContainerClient, RestError } from "@azure/storage-blob";
import { LocalBlobStore } from "./local-blob-store.js";
import { azureBlobEndpoint, parseBlockList } from "./azure-endpoint.js";
import { LocalContainerAccess, sasVerifier, signContainerSas } from "./sas.js";
import { collectGarbage } from "./blob-store.suite.js";

const MiB = 1024 * 1024;

async function md5File(path: string): Promise<string> {
  const h = createHash("md5");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex");
}

/** An HTTP request whose path is sent exactly as given. */
function rawRequest(path: string): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: Number(new URL(baseUrlForRaw).port), path, method: "PUT", headers: { "x-ms-blob-type": "BlockBlob", "content-length": "1" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, code: res.headers["x-ms-error-code"] as string | undefined }));
      },
    );
    req.on("error", reject);
    req.end("x");
  });
}
let baseUrlForRaw = "";

function restError(status: number, code?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof RestError, `expected RestError, got ${String(e)}`);
    assert.equal(e.statusCode, status);
    if (code) assert.equal(e.code, code);
    return true;
  };
}

describe("embedded Azure Blob endpoint with the real ContainerClient", () => {
  const secret = randomBytes(32);
  const container = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
  let dir: string;
  let store: LocalBlobStore;
  let app: FastifyInstance;
  let base: string;
  let access: LocalContainerAccess;
  const inAnHour = () => new Date(Date.now() + 3600_000);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "realconv-endpoint-"));
    store = new LocalBlobStore(join(dir, "store"));
    await store.createContainer(container);
    // Same router and body-limit settings as the real app, plus a JSON route to prove the plugin leaves it alone.
    app = Fastify({ bodyLimit: 1024 * 1024, routerOptions: { ignoreTrailingSlash: true, caseSensitive: false } });
    app.post("/echo", async (request) => ({ got: request.body }));
    await app.register(azureBlobEndpoint, { prefix: "/blobs", store, verify: sasVerifier(secret) });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const addr = app.server.address();
    assert.ok(addr && typeof addr === "object");
    base = `http://127.0.0.1:${addr.port}`;
    baseUrlForRaw = base;
    access = new LocalContainerAccess(base, secret);
  });

  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("container URL layout: the SDK sees the right container name", async () => {
    const url = await access.containerUrl(container, "Write", inAnHour());
    assert.ok(url.startsWith(`${base}/blobs/${container}?`));
    assert.match(url, /[?&]sr=c&/);
    assert.match(url, /[?&]sp=racwdl&/);
    assert.equal(new ContainerClient(url).containerName, container);
    const local = new LocalContainerAccess(`http://localhost:8080/`, secret);
    assert.equal(new ContainerClient(await local.containerUrl(container, "Read", inAnHour())).containerName, container);
    assert.match(await local.containerUrl(container, "Read", inAnHour()), /[?&]sp=rl&/);
  });

  test("small uploads, properties, ranged download, listings, delete, exists", async () => {
    const cc = new ContainerClient(await access.containerUrl(container, "Write", inAnHour()));
    assert.equal(await cc.exists(), true);
    const files: Record<string, string> = {
      "tileset.json": '{"asset":{"version":"1.0"}}',
      "tiles/0/0.pnts": "tile zero",
      "tiles/0/1.pnts": "tile one",
      "tiles/1/0.pnts": "tile two",
      "my folder/naïve 文件 #1?.txt": "unicode and spaces",
      ["deep/" + "x".repeat(150) + "/" + "y".repeat(150) + ".bin"]: "long name",
    };
    for (const [name, text] of Object.entries(files)) {
      const r = await cc.getBlockBlobClient(name).uploadData(Buffer.from(text), { blobHTTPHeaders: { blobContentType: name.endsWith(".json") ? "application/json" : "application/octet-stream" } });
      assert.ok(r.etag);
    }
    const props = await cc.getBlobClient("tileset.json").getProperties();
    assert.equal(props.contentLength, files["tileset.json"].length);
    assert.equal(props.contentType, "application/json");
    assert.equal(props.blobType, "BlockBlob");
    assert.deepEqual(Buffer.from(props.contentMD5 ?? []), createHash("md5").update(files["tileset.json"]).digest());

    for (const [name, text] of Object.entries(files)) {
      assert.equal((await cc.getBlobClient(name).downloadToBuffer()).toString(), text, name);
    }
    const ranged = await cc.getBlobClient("tiles/0/1.pnts").download(5, 3);
    assert.equal(ranged.contentLength, 3);
    assert.equal(ranged.contentRange, "bytes 5-7/8");
    const chunks: Buffer[] = [];
    for await (const c of ranged.readableStreamBody as NodeJS.ReadableStream) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), "one");

    const flat: string[] = [];
    for await (const b of cc.listBlobsFlat()) flat.push(b.name);
    assert.deepEqual(flat, Object.keys(files).sort());
    const paged: string[] = [];
    for await (const page of cc.listBlobsFlat().byPage({ maxPageSize: 2 })) {
      assert.ok(page.segment.blobItems.length <= 2);
      paged.push(...page.segment.blobItems.map((b) => b.name));
    }
    assert.deepEqual(paged, flat);
    const top: string[] = [];
    for await (const item of cc.listBlobsByHierarchy("/")) top.push(`${item.kind}:${item.name}`);
    // The SDK yields each page's virtual folders before its blobs.
    assert.deepEqual(top, ["prefix:deep/", "prefix:my folder/", "prefix:tiles/", "blob:tileset.json"]);
    const tiles: string[] = [];
    for await (const item of cc.listBlobsByHierarchy("/", { prefix: "tiles/0/" })) tiles.push(`${item.kind}:${item.name}`);
    assert.deepEqual(tiles, ["blob:tiles/0/0.pnts", "blob:tiles/0/1.pnts"]);
    const item = (await cc.listBlobsFlat({ prefix: "tileset" }).next()).value;
    assert.equal(item?.properties.contentLength, files["tileset.json"].length);
    assert.equal(item?.properties.contentType, "application/json");

    assert.equal(await cc.getBlobClient("tiles/1/0.pnts").exists(), true);
    await cc.deleteBlob("tiles/1/0.pnts");
    assert.equal(await cc.getBlobClient("tiles/1/0.pnts").exists(), false);
    await assert.rejects(cc.deleteBlob("tiles/1/0.pnts"), restError(404, "BlobNotFound"));
    await assert.rejects(cc.getBlobClient("nope").download(), restError(404, "BlobNotFound"));
    const top2: string[] = [];
    for await (const i of cc.listBlobsByHierarchy("/", { prefix: "tiles/" })) top2.push(i.name);
    assert.deepEqual(top2, ["tiles/0/"]);
  });

  test("Get Block List: staged blocks until the commit, then none", async () => {
    const cc = new ContainerClient(await access.containerUrl(container, "Write", inAnHour()));
    const blob = cc.getBlockBlobClient("resume/part.bin");
    await assert.rejects(blob.getBlockList("uncommitted"), restError(404, "BlobNotFound"));
    const ids = ["AAAA", "AAAB", "AAAC"];
    await blob.stageBlock(ids[0], Buffer.from("first"), 5);
    await blob.stageBlock(ids[2], Buffer.from("third!"), 6);
    const staged = await blob.getBlockList("uncommitted");
    assert.deepEqual(staged.uncommittedBlocks?.map((b) => [b.name, b.size]), [[ids[0], 5], [ids[2], 6]]);
    assert.deepEqual((await blob.getBlockList("all")).committedBlocks ?? [], []);
    await blob.stageBlock(ids[1], Buffer.from("2nd"), 3);
    await blob.commitBlockList(ids);
    assert.equal((await blob.downloadToBuffer()).toString(), "first2ndthird!");
    const after = await blob.getBlockList("all");
    assert.deepEqual(after.uncommittedBlocks ?? [], []);
    assert.equal(after.blobContentLength, 14);
  });

  test("read SAS reads but cannot write or delete; expired, tampered and foreign SAS are refused", async () => {
    const writer = new ContainerClient(await access.containerUrl(container, "Write", inAnHour()));
    await writer.getBlockBlobClient("auth/a.txt").uploadData(Buffer.from("A"));
    const readUrl = await access.containerUrl(container, "Read", inAnHour());
    const reader = new ContainerClient(readUrl);
    assert.equal((await reader.getBlobClient("auth/a.txt").downloadToBuffer()).toString(), "A");
    for await (const b of reader.listBlobsFlat({ prefix: "auth/" })) assert.equal(b.name, "auth/a.txt");
    await assert.rejects(reader.getBlockBlobClient("auth/b.txt").uploadData(Buffer.from("B")), restError(403, "AuthorizationPermissionMismatch"));
    await assert.rejects(reader.deleteBlob("auth/a.txt"), restError(403, "AuthorizationPermissionMismatch"));
    await assert.rejects(reader.getBlockBlobClient("auth/c.txt").stageBlock("QUFB", Buffer.from("x"), 1), restError(403, "AuthorizationPermissionMismatch"));

    const expiredSas = signContainerSas(secret, { container, permissions: "racwdl", expiresOn: new Date(Date.now() - 1000) });
    const expired = new ContainerClient(`${base}/blobs/${container}?${expiredSas}`);
    await assert.rejects(expired.getBlobClient("auth/a.txt").download(), restError(403, "AuthenticationFailed"));
    await assert.rejects(expired.listBlobsFlat().next(), restError(403, "AuthenticationFailed"));

    // Upgrading a read SAS to write by editing sp breaks the signature.
    const tampered = new ContainerClient(readUrl.replace("sp=rl", "sp=racwdl"));
    await assert.rejects(tampered.getBlockBlobClient("auth/t.txt").uploadData(Buffer.from("T")), restError(403, "AuthenticationFailed"));
    const badSig = new URL(readUrl);
    const sig = badSig.searchParams.get("sig") as string;
    badSig.searchParams.set("sig", (sig[0] === "A" ? "B" : "A") + sig.slice(1));
    await assert.rejects(new ContainerClient(badSig.toString()).getBlobClient("auth/a.txt").download(), restError(403, "AuthenticationFailed"));
    const noSas = new ContainerClient(`${base}/blobs/${container}`);
    await assert.rejects(noSas.getBlobClient("auth/a.txt").download(), restError(403, "AuthenticationFailed"));

    // A SAS for another container does not open this one.
    const otherSas = signContainerSas(secret, { container: "other-container", permissions: "racwdl", expiresOn: inAnHour() });
    await assert.rejects(new ContainerClient(`${base}/blobs/${container}?${otherSas}`).getBlobClient("auth/a.txt").download(), restError(403, "AuthenticationFailed"));
    // A valid SAS for a container that does not exist.
    const ghost = new ContainerClient(await access.containerUrl("ghost-container", "Read", inAnHour()));
    await assert.rejects(ghost.listBlobsFlat().next(), restError(404, "ContainerNotFound"));
    assert.equal(await ghost.exists(), false);

    // The wire form: Azure's XML error body and x-ms-error-code header.
    const res = await fetch(readUrl.replace("?", "/auth/a.txt?").replace("sp=rl", "sp=r"));
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("x-ms-error-code"), "AuthenticationFailed");
    assert.match(res.headers.get("content-type") ?? "", /xml/);
    assert.match(await res.text(), /^<\?xml version="1.0" encoding="utf-8"\?><Error><Code>AuthenticationFailed<\/Code><Message>[^<]+<\/Message><\/Error>$/);
    assert.equal(await store.head(container, "auth/b.txt"), undefined);
    assert.equal(await store.head(container, "auth/t.txt"), undefined);
  });

  test("raw protocol details: ranges, JSON bodies stored raw, MD5 check, the app's JSON parser untouched", async () => {
    const writeUrl = new URL(await access.containerUrl(container, "Write", inAnHour()));
    const blobUrl = (name: string, extra = "") => `${base}/blobs/${container}/${name}?${writeUrl.searchParams.toString()}${extra}`;
    // A JSON-typed body over 1 MB (the app's body limit) goes to the store as bytes.
    const json = JSON.stringify({ pad: "z".repeat(1.5 * MiB) });
    let res = await fetch(blobUrl("raw/big.json"), { method: "PUT", body: json, headers: { "x-ms-blob-type": "BlockBlob", "content-type": "application/json" } });
    assert.equal(res.status, 201, await res.text());
    assert.equal(res.headers.get("content-md5"), createHash("md5").update(json).digest("base64"));
    assert.equal(res.headers.get("x-ms-request-server-encrypted"), "true");
    assert.ok(res.headers.get("x-ms-request-id"));
    assert.equal((await store.head(container, "raw/big.json"))?.contentType, "application/json");
    assert.equal((await store.head(container, "raw/big.json"))?.size, Buffer.byteLength(json));

    res = await fetch(blobUrl("raw/big.json"), { headers: { range: "bytes=2-7" } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), `bytes 2-7/${Buffer.byteLength(json)}`);
    assert.equal(await res.text(), 'pad":"');
    res = await fetch(blobUrl("raw/big.json"), { headers: { "x-ms-range": `bytes=${Buffer.byteLength(json)}-` } });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get("x-ms-error-code"), "InvalidRange");
    await res.text();
    res = await fetch(blobUrl("raw/big.json"), { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), String(Buffer.byteLength(json)));
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    assert.equal(res.headers.get("x-ms-blob-type"), "BlockBlob");
    assert.equal(res.headers.get("content-security-policy"), "sandbox");
    const etag = res.headers.get("etag") as string;
    res = await fetch(blobUrl("raw/big.json"), { headers: { "if-none-match": etag } });
    assert.equal(res.status, 304);
    res = await fetch(blobUrl("raw/big.json"), { headers: { "if-match": '"0xNOTTHIS"' } });
    assert.equal(res.status, 412);
    assert.equal(res.headers.get("x-ms-error-code"), "ConditionNotMet");
    await res.text();

    // A wrong transactional MD5 is refused and the previous content stays.
    res = await fetch(blobUrl("raw/big.json"), { method: "PUT", body: "other", headers: { "x-ms-blob-type": "BlockBlob", "content-md5": createHash("md5").update("else").digest("base64") } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("x-ms-error-code"), "Md5Mismatch");
    await res.text();
    assert.equal((await store.head(container, "raw/big.json"))?.size, Buffer.byteLength(json));
    // If-None-Match: * refuses to overwrite.
    res = await fetch(blobUrl("raw/big.json"), { method: "PUT", body: "x", headers: { "x-ms-blob-type": "BlockBlob", "if-none-match": "*" } });
    assert.equal(res.status, 409);
    await res.text();
    // Server-side copies are not supported, and say so instead of writing an empty blob.
    res = await fetch(blobUrl("raw/copy"), { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob", "x-ms-copy-source": blobUrl("raw/big.json") } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("x-ms-error-code"), "UnsupportedHeader");
    await res.text();
    assert.equal(await store.head(container, "raw/copy"), undefined);
    // Unsupported blob types and bad names.
    res = await fetch(blobUrl("raw/page"), { method: "PUT", body: "", headers: { "x-ms-blob-type": "PageBlob" } });
    assert.equal(res.status, 400);
    await res.text();
    for (const bad of ["raw/a%00b", "raw/back%5Cslash", "raw//empty"]) {
      res = await fetch(blobUrl(bad), { method: "PUT", body: "x", headers: { "x-ms-blob-type": "BlockBlob" } });
      assert.equal(res.status, 400, bad);
      assert.equal(res.headers.get("x-ms-error-code"), "InvalidResourceName");
      await res.text();
    }
    // Dot segments sent raw (fetch would normalise them away) are names, not paths, and are refused.
    const raw = await rawRequest(`/blobs/${container}/raw/../../../escape?${writeUrl.searchParams.toString()}`);
    assert.equal(raw.status, 400);
    assert.equal(raw.code, "InvalidResourceName");
    res = await fetch(`${base}/blobs/${container}?restype=container&comp=list&maxresults=0&${writeUrl.searchParams.toString()}`);
    assert.equal(res.status, 400);
    await res.text();

    // A client that vanishes mid-upload leaves neither a blob nor a temp file.
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: "127.0.0.1",
        port: Number(new URL(base).port),
        path: `/blobs/${container}/raw/aborted.bin?${writeUrl.searchParams.toString()}`,
        method: "PUT",
        headers: { "x-ms-blob-type": "BlockBlob", "content-length": String(10 * MiB) },
      });
      req.on("error", () => resolve());
      req.write(Buffer.alloc(MiB), () => setTimeout(() => req.destroy(), 50));
    });
    for (let i = 0; i < 50 && (await readdir(join(dir, "store", container, ".tmp"))).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await readdir(join(dir, "store", container, ".tmp")), []);
    assert.equal(await store.head(container, "raw/aborted.bin"), undefined);

    // CORS for browsers: preflight and exposed headers.
    res = await fetch(blobUrl("raw/big.json"), { method: "OPTIONS", headers: { origin: "https://viewer.example", "access-control-request-method": "PUT", "access-control-request-headers": "x-ms-blob-type,x-ms-version" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /PUT/);
    assert.equal(res.headers.get("access-control-allow-headers"), "x-ms-blob-type,x-ms-version");
    res = await fetch(blobUrl("raw/big.json"), { method: "HEAD", headers: { origin: "https://viewer.example" } });
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.match(res.headers.get("access-control-expose-headers") ?? "", /etag/);

    // The app's own JSON routes still parse JSON.
    res = await fetch(`${base}/echo`, { method: "POST", body: JSON.stringify({ a: 1 }), headers: { "content-type": "application/json" } });
    assert.deepEqual(await res.json(), { got: { a: 1 } });
    assert.deepEqual(parseBlockList('<?xml version="1.0"?><BlockList><Latest>QQ==</Latest><Committed>Qg==</Committed><Uncommitted>Qw==</Uncommitted></BlockList>'), ["QQ==", "Qg==", "Qw=="]);
  });

  test("200 MB uploadFile (4 MiB blocks, concurrency 8) and downloadToFile with bounded server memory", async () => {
    const total = 200 * MiB;
    const src = join(dir, "src.bin");
    const hIn = createHash("md5");
    async function* data(): AsyncGenerator<Buffer> {
      for (let done = 0; done < total; done += MiB) {
        const b = randomFillSync(Buffer.allocUnsafe(MiB));
        hIn.update(b);
        yield b;
      }
    }
    const t0 = Date.now();
    const lap = (what: string) => process.env.BLOB_SUITE_VERBOSE && console.log(`${what}: ${Date.now() - t0} ms`);
    await pipeline(Readable.from(data()), createWriteStream(src));
    lap("generated");
    const expectedMd5 = hIn.digest("hex");

    const cc = new ContainerClient(await access.containerUrl(container, "Write", inAnHour()));
    collectGarbage();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    // Sampling only (a forced GC per sample would slow the transfer several times over).
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    try {
      await cc.getBlockBlobClient("big/cloud.bin").uploadFile(src, { blockSize: 4 * MiB, concurrency: 8, maxSingleShotSize: 4 * MiB });
      lap("uploaded");
      const info = await store.head(container, "big/cloud.bin");
      assert.equal(info?.size, total);
      const dst = join(dir, "dst.bin");
      await cc.getBlobClient("big/cloud.bin").downloadToFile(dst);
      peak = Math.max(peak, process.memoryUsage().rss);
      lap("downloaded");
      assert.equal((await stat(dst)).size, total);
      assert.equal(await md5File(dst), expectedMd5);
      lap("verified");
    } finally {
      clearInterval(timer);
    }
    const growthMB = (peak - baseline) / MiB;
    if (process.env.BLOB_SUITE_VERBOSE) console.log(`rss growth during 200 MB transfer: ${growthMB.toFixed(1)} MB`);
    assert.ok(growthMB < 150, `RSS grew by ${growthMB.toFixed(1)} MB`);
  });
});
