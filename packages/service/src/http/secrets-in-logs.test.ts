/**
 * SAS signatures, bearer tokens, sign-in codes and share links never reach a log line or a response body:
 * the log stream of a real server is captured while clients read and write blobs with a SAS, call the API
 * with tokens, good and bad, in headers and in URLs, sign in with codes and open share links.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { ContainerClient } from "@azure/storage-blob";
import { api, startTestServer } from "../testing/harness.js";
import { REDACTED, redactSecrets } from "../redact.js";
import { SignInService } from "../services/sign-in-service.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

it("redactSecrets removes signatures, bearer tokens and JWTs wherever they are", () => {
  const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  const code = "MzOKldV6zhxWFE3ft2fNR6pDY7VpXQ9ZW64Jqw-n6zY";
  const text = `GET /blobs/c/x?sv=2020&sig=abc%2Fdef%3D&se=1 "authorization":"Bearer ${jwt}" token=${jwt} <Url>?SIG=xyz</Url> http://h/#/sign-in?code=${code} /x?a=1&code=${code}k`;
  const out = redactSecrets(text);
  for (const secret of ["abc%2Fdef%3D", jwt, "xyz", code]) assert.ok(!out.includes(secret), out);
  assert.match(out, new RegExp(`#/sign-in\\?code=${REDACTED} `));
  assert.equal(redactSecrets(`{"error":{"code":"InvalidSignInCode"}}`), `{"error":{"code":"InvalidSignInCode"}}`, "error codes stay");
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

    // Sign-in: the code in the body, and in a URL where it should not be; the token only in its answer.
    const { code } = await new SignInService(s.server.runtime.signInCodes).createCode("alice@example.com", 60_000);
    const signedIn = await api(s.url, "POST", "/app/sign-in", { body: { code } });
    assert.equal(signedIn.status, 200);
    const webToken = signedIn.body.accessToken as string;
    await call(s.url, "POST", "/app/sign-in", { body: { code } });
    await call(s.url, "POST", "/app/sign-in", { body: { code: `${code.slice(0, -1)}x` } });
    await call(s.url, "GET", `/app/config.json?code=${code}`, {});
    await call(s.url, "GET", "/itwins", { token: webToken });
    // Share links: the token only in the answer that makes it, the container signature only in the one that opens it.
    const shared = await api(s.url, "POST", "/app/shares", { token, body: { realityDataId: id, iTwinId: itwin } });
    assert.equal(shared.status, 201);
    const shareToken = (shared.body.url as string).split("/#/share/")[1];
    const opened = await api(s.url, "GET", `/app/shares/${shareToken}`);
    assert.equal(opened.status, 200);
    const shareSignature = new URL(opened.body.containerUrl).searchParams.get("sig")!;
    await new ContainerClient(opened.body.containerUrl).getBlobClient("dir/data.bin").downloadToBuffer();
    const tamperedShare = `${shareToken.slice(0, -3)}abc`;
    await call(s.url, "GET", `/app/shares/${tamperedShare}`, {});
    await call(s.url, "GET", `/app/shares/${shareToken}x/more?code=${code}`, {});

    const log = lines.join("");
    assert.ok(log.includes("incoming request") && log.includes("/blobs/"), "requests were logged");
    assert.ok(log.includes("/app/shares/") && log.includes("/app/sign-in"), "web app requests were logged");
    const webSecrets = [code, webToken, shareToken, shareToken.split(".")[2], tamperedShare, shareSignature];
    for (const secret of [...signatures, token, badToken, token.split(".")[2], ...webSecrets]) {
      assert.ok(!log.includes(secret), `a secret is in the logs: ${lines.find((l) => l.includes(secret))}`);
      for (const body of bodies) assert.ok(!body.includes(secret), `a secret is in a response body: ${body.slice(0, 200)}`);
    }
  } finally {
    await s.close();
  }
});
