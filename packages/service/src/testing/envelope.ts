/**
 * Test-only: what every error answer must look like: the platform's JSON envelope on the API routes,
 * Azure's XML error on the blob endpoint.
 */
import assert from "node:assert/strict";

const ERROR_KEYS = ["code", "message", "target", "details"];
const DETAIL_KEYS = ["code", "message", "target"];

export function assertEnvelope(r: { status: number; headers: Headers; body: any }, context = ""): void {
  const where = `${context}: ${r.status} ${JSON.stringify(r.body)}`;
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/, where);
  const error = r.body?.error;
  assert.ok(error && typeof error === "object", where);
  assert.deepEqual(Object.keys(r.body), ["error"], where);
  for (const k of Object.keys(error)) assert.ok(ERROR_KEYS.includes(k), `${where} (key ${k})`);
  assert.equal(typeof error.code, "string", where);
  assert.equal(typeof error.message, "string", where);
  if (error.details !== undefined) {
    assert.ok(Array.isArray(error.details), where);
    for (const d of error.details) {
      for (const k of Object.keys(d)) assert.ok(DETAIL_KEYS.includes(k), `${where} (detail key ${k})`);
      assert.equal(typeof d.code, "string", where);
      assert.equal(typeof d.message, "string", where);
    }
  }
}

export function assertAzureError(r: { status: number; headers: Headers; body: any }, method: string, context = ""): void {
  const where = `${context}: ${r.status} ${String(r.body)}`;
  assert.ok(r.status >= 400, where);
  const code = r.headers.get("x-ms-error-code");
  assert.ok(code, `${where} (x-ms-error-code)`);
  if (method === "HEAD") return;
  assert.match(r.headers.get("content-type") ?? "", /^application\/xml/, where);
  assert.match(String(r.body), new RegExp(`^<\\?xml version="1.0" encoding="utf-8"\\?><Error><Code>${code}</Code><Message>[^<]*</Message></Error>$`), where);
}
