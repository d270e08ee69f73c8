import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { ContainerSASPermissions, SASProtocol, StorageSharedKeyCredential, generateBlobSASQueryParameters } from "@azure/storage-blob";
import { SAS_ACCOUNT, SAS_VERSION, signContainerSas, verifyContainerSas } from "./sas.js";

const secret = randomBytes(32);
const container = "rd-0001";
const hour = () => new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);

test("sas: the signature is Azure's service SAS for the container (the SDK computes the same sig)", () => {
  const expiresOn = hour();
  const startsOn = new Date(expiresOn.getTime() - 7200_000);
  const ours = new URLSearchParams(signContainerSas(secret, { container, permissions: "racwdl", expiresOn, startsOn }));
  const azure = generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse("racwdl"), expiresOn, startsOn, version: SAS_VERSION },
    new StorageSharedKeyCredential(SAS_ACCOUNT, secret.toString("base64")),
  );
  assert.equal(ours.get("sig"), azure.signature);
  assert.equal(ours.get("sv"), azure.version);
  assert.equal(ours.get("sr"), "c");
  assert.equal(ours.get("sp"), azure.permissions);
  // And a token the SDK signs (with parameters we never emit, like spr) verifies here.
  const sdk = generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse("rl"), expiresOn, protocol: SASProtocol.HttpsAndHttp, version: SAS_VERSION },
    new StorageSharedKeyCredential(SAS_ACCOUNT, secret.toString("base64")),
  );
  assert.deepEqual(verifyContainerSas(secret, container, new URLSearchParams(sdk.toString()), "read"), { ok: true });
});

test("sas: permissions, expiry, start, container and tampering", () => {
  const read = new URLSearchParams(signContainerSas(secret, { container, permissions: "rl", expiresOn: hour() }));
  const write = new URLSearchParams(signContainerSas(secret, { container, permissions: "racwdl", expiresOn: hour() }));
  for (const op of ["read", "list"] as const) assert.deepEqual(verifyContainerSas(secret, container, read, op), { ok: true });
  for (const op of ["write", "delete"] as const) {
    const v = verifyContainerSas(secret, container, read, op);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.code, "AuthorizationPermissionMismatch");
  }
  for (const op of ["read", "list", "write", "delete"] as const) assert.deepEqual(verifyContainerSas(secret, container, write, op), { ok: true });
  const failed = (q: URLSearchParams, c = container, now?: Date) => {
    const v = verifyContainerSas(secret, c, q, "read", { now });
    return !v.ok && v.code === "AuthenticationFailed" && v.status === 403;
  };
  assert.ok(failed(read, "other-container"));
  assert.ok(failed(read, container, new Date(Date.now() + 2 * 3600_000)), "expired");
  const notYet = new URLSearchParams(signContainerSas(secret, { container, permissions: "rl", expiresOn: hour(), startsOn: new Date(Date.now() + 600_000) }));
  assert.ok(failed(notYet));
  assert.ok(!failed(notYet, container, new Date(Date.now() + 900_000)));
  const edited = new URLSearchParams(read);
  edited.set("se", new Date(Date.now() + 48 * 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z"));
  assert.ok(failed(edited), "extended expiry");
  const widened = new URLSearchParams(read);
  widened.set("sp", "racwdl");
  assert.equal(verifyContainerSas(secret, container, widened, "write").ok, false);
  const noSig = new URLSearchParams(read);
  noSig.delete("sig");
  assert.ok(failed(noSig));
  const blobSas = new URLSearchParams(read);
  blobSas.set("sr", "b");
  assert.ok(failed(blobSas));
  assert.ok(failed(read, container) === false);
  assert.equal(verifyContainerSas(randomBytes(32), container, read, "read").ok, false, "another server's secret");
  // Plain objects (fastify's parsed query) work like URLSearchParams.
  assert.deepEqual(verifyContainerSas(secret, container, Object.fromEntries(read), "list"), { ok: true });
});
