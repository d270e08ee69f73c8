import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ContainerClient } from "@azure/storage-blob";
import { AzureBlobStore } from "./azure-blob-store.js";
import { blobStoreSuite } from "./blob-store.suite.js";
import { startAzurite } from "./azurite-helper.js";
import type { Azurite } from "./azurite-helper.js";

// One Azurite for the whole file; failing to start fails the tests (no skip).
let azurite: Azurite | undefined;
let starting: Promise<Azurite> | undefined;
const azuriteReady = () => (starting ??= startAzurite().then((a) => (azurite = a)));

blobStoreSuite("AzureBlobStore (Azurite)", async () => {
  const a = await azuriteReady();
  return { store: new AzureBlobStore(a.connectionString), cleanup: async () => {} };
});

let store: AzureBlobStore;
before(async () => {
  store = new AzureBlobStore((await azuriteReady()).connectionString);
});
after(async () => {
  await azurite?.stop();
});

test("AzureBlobStore.containerUrl: read SAS reads and lists but cannot write; write SAS writes and deletes", async () => {
  await store.createContainer("sas-check");
  await store.put("sas-check", "in/a.txt", new TextEncoder().encode("A"));
  const expires = new Date(Date.now() + 60 * 60 * 1000);
  const readUrl = await store.containerUrl("sas-check", "Read", expires);
  assert.match(readUrl, /[?&]sp=rl(&|$)/);
  assert.match(readUrl, /[?&]sr=c(&|$)/);
  const reader = new ContainerClient(readUrl);
  assert.equal(reader.containerName, "sas-check");
  const names: string[] = [];
  for await (const b of reader.listBlobsFlat()) names.push(b.name);
  assert.deepEqual(names, ["in/a.txt"]);
  assert.equal((await reader.getBlobClient("in/a.txt").downloadToBuffer()).toString(), "A");
  await assert.rejects(reader.getBlockBlobClient("x.txt").uploadData(Buffer.from("no")), (e: { statusCode?: number }) => e.statusCode === 403);

  const writeUrl = await store.containerUrl("sas-check", "Write", expires);
  assert.match(writeUrl, /[?&]sp=racwdl(&|$)/);
  const writer = new ContainerClient(writeUrl);
  await writer.getBlockBlobClient("x.txt").uploadData(Buffer.from("yes"));
  assert.equal((await store.head("sas-check", "x.txt"))?.size, 3);
  await writer.deleteBlob("x.txt");
  assert.equal(await store.head("sas-check", "x.txt"), undefined);
  await store.deleteContainer("sas-check");
});
