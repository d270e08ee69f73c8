/**
 * Tokens from an external identity provider: signature checked against its JWKS URL (served here by a
 * real HTTP server on loopback), issuer and audience enforced, scope required.
 */
import { it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
import { JwtAuthenticator, remoteKeySet } from "./jwt-authenticator.js";
import { ApiError } from "../../domain/errors.js";

let server: Server;
let url: string;
let privateKey: KeyLike;
let otherKey: KeyLike;
let requests = 0;

before(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair("RS256")).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  server = createServer((req, res) => {
    requests++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/.well-known/jwks.json`;
});
after(() => server.close());

function token(claims: Record<string, unknown>, key = privateKey, opts: { iss?: string; aud?: string; exp?: number } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(opts.iss ?? "https://ims.example.com")
    .setAudience(opts.aud ?? "realconv")
    .setSubject("user-42")
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(key);
}

it("accepts a provider's token, and refuses a wrong issuer, audience, key or scope", async () => {
  const auth = new JwtAuthenticator({ keys: remoteKeySet(url), issuer: "https://ims.example.com", audience: "realconv" });
  const good = await token({ email: "Dana@Example.com", scope: "openid itwin-platform" });
  assert.deepEqual(await auth.authenticate(`Bearer ${good}`), { userId: "user-42", email: "dana@example.com" });
  assert.ok(requests >= 1, "the JWKS was fetched over HTTP");

  const bad = async (t: string, code: string) => {
    await assert.rejects(auth.authenticate(`Bearer ${t}`), (e: unknown) => e instanceof ApiError && e.status === 401 && e.details?.[0].code === code);
  };
  await bad(await token({ email: "d@example.com", scope: "itwin-platform" }, privateKey, { iss: "https://evil.example.com" }), "InvalidToken");
  await bad(await token({ email: "d@example.com", scope: "itwin-platform" }, privateKey, { aud: "someone-else" }), "InvalidToken");
  await bad(await token({ email: "d@example.com", scope: "itwin-platform" }, otherKey), "InvalidToken");
  await bad(await token({ email: "d@example.com", scope: "itwin-platform" }, privateKey, { exp: Math.floor(Date.now() / 1000) - 3600 }), "InvalidToken");
  await bad(await token({ email: "d@example.com", scope: "openid" }), "InsufficientScope");
  await assert.rejects(auth.authenticate(undefined), (e: unknown) => e instanceof ApiError && e.code === "HeaderNotFound");
  await assert.rejects(auth.authenticate("Basic abc"), (e: unknown) => e instanceof ApiError && e.status === 401);
});
