/**
 * SAS signatures and bearer tokens never reach a log line or a response body: the log stream of a real
 * server is captured while clients read and write blobs with a SAS and call the API with tokens, good
 * and bad, in headers and in URLs.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { ContainerClient } from "@azure/storage-blob";
import { api, startTestServer } from "../testing/harness.js";
import { REDACTED, redactSecrets } from "../redact.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

it("redactSecrets removes signatures, bearer tokens and JWTs wherever they are", () => {
  const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  const text = `GET /blobs/c/x?sv=2020&sig=abc%2Fdef%3D&se=1 "authorization":"Bearer ${jwt}" token=${jwt} <Url>?SIG=xyz</Url>`;
  const out = redactSecrets(text);
  for (const secret of ["abc%2Fdef%3D", jwt, "xyz"]) assert.ok(!out.includes(secret), out);
  assert.match(out, new RegExp(`sig=${REDACTED}&se=1`));
  assert.match(out, new RegExp(`Bearer ${REDACTED}`));
});

it("no signature or token in the logs or any response body of a real server", async () => {
  const lines: string[] = [];
  const s = await startTestServer({ logLevel: "trace", logStream: { write: (line: string) => lines.push(line) } });
  try {
    const token = await s.token("alice@example.com");
    const itwin = await s.createITwin("Site", ["alice@example.com"]);
    const bodies: string[] = [];
    const call = async (...args: Parameters<typeof api>) => {
      const r = await api(...args);
      bodies.push(typeof r.body === "string" ? r.body : JSON.stringify(r.body ?? ""));
      return r;
    };
    const rd = await call(s.url, "POST", "/reality-management/reality-data", { token, headers: V1, body: { iTwinId: itwin, displayName: "x", type: "LAS" } });
    const id = rd.body.realityData.id as string;
    // The access answers hand out signed URLs: the only bodies a signature may be in.
    const write = (await api(s.url, "GET", `/reality-management/reality-data/${id}/writeaccess`, { token, headers: V1 })).body._links.containerUrl.href as string;
    const read = (await api(s.url, "GET", `/reality-management/reality-data/${id}/readaccess`, { token, headers: V1 })).body._links.containerUrl.href as string;
    const signatures = [write, read].map((u) => new URL(u).searchParams.get("sig")!);

    const container = new ContainerClient(write);
    await container.getBlockBlobClient("dir/data.bin").uploadData(Buffer.alloc(200_000, 1), { blockSize: 64 * 1024 });
    await new ContainerClient(read).getBlobClient("dir/data.bin").downloadToBuffer();
    for await (const b of new ContainerClient(read).listBlobsFlat()) assert.ok(b.name);
    await assert.rejects(new ContainerClient(read).getBlobClient("missing").downloadToBuffer());
    await assert.rejects(new ContainerClient(read).getBlockBlobClient("nope").upload("x", 1), (e: { statusCode?: number }) => e.statusCode === 403);
    const sasQuery = new URL(write).search;
    await call(s.url, "GET", `/blobs/${id}/%ZZ${sasQuery}`, {});
    await call(s.url, "PUT", `/blobs/${id}/x.bin${sasQuery}&comp=bogus`, { rawBody: "x" });
    await call(s.url, "GET", `/blobs/${id}/${"a".repeat(20_000)}${sasQuery}`, {});

    const badToken = `${token.slice(0, -4)}AAAA`;
    await call(s.url, "GET", "/reality-conversion/jobs?$filter=state eq Success", { token });
    await call(s.url, "GET", "/reality-conversion/jobs?$filter=state eq Success", { token: badToken });
    await call(s.url, "GET", "/reality-conversion/jobs/%ZZ", { token });
    await call(s.url, "GET", `/reality-conversion/jobs?$filter=name eq '${token}'&access_token=${token}`, { token });
    const echoed = await call(s.url, "GET", `/reality-conversion/jobs?$filter=${encodeURIComponent(`${token} eq 1`)}`, { token });
    assert.equal(echoed.status, 400, "an error message that would quote the token");
    await call(s.url, "GET", "/reality-conversion/jobs", { headers: { authorization: `Basic ${token}` } });

    const log = lines.join("");
    assert.ok(log.includes("incoming request") && log.includes("/blobs/"), "requests were logged");
    for (const secret of [...signatures, token, badToken, token.split(".")[2]]) {
      assert.ok(!log.includes(secret), `a secret is in the logs: ${lines.find((l) => l.includes(secret))}`);
      for (const body of bodies) assert.ok(!body.includes(secret), `a secret is in a response body: ${body.slice(0, 200)}`);
    }
  } finally {
    await s.close();
  }
});
