/**
 * Who may change a reality data, on every mutating route of /reality-management/reality-data: a
 * non-member (404, it does not exist for them), a member of another iTwin it is associated with (may
 * use it and take it out of their own iTwin, nothing else: 403), a member of its own iTwin and its
 * owner (may manage it).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { api, startTestServer, type TestServer } from "../testing/harness.js";
import { userIdForEmail } from "../adapters/auth/local-issuer.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const RD = "/reality-management/reality-data";
type Actor = "nonMember" | "otherITwinMember" | "ownITwinMember" | "owner";

describe("reality data rights", () => {
  let s: TestServer;
  const tokens = {} as Record<Actor, string>;
  let own: string;
  let shared: string;
  let target: string;

  /** A reality data owned by the owner, in iTwin `own`, associated with `shared` unless told otherwise. */
  const fresh = async (associations: "own+shared" | "own" | "shared" = "own+shared") => {
    const id = await s.createRealityData(own, "LAS", [], userIdForEmail("owner@example.com"));
    const store = s.server.runtime.realityData;
    if (associations !== "own") await store.associate(id, shared);
    if (associations === "shared") await store.dissociate(id, own);
    return id;
  };
  const call = (actor: Actor, method: string, path: string, body?: unknown) =>
    api(s.url, method, `${RD}${path}`, { token: tokens[actor], headers: V1, body });

  /** Runs one request per actor, each on a fresh reality data, and checks the statuses. */
  const expectStatuses = async (
    what: string,
    statuses: Record<Actor, number>,
    request: (actor: Actor, id: string) => ReturnType<typeof call>,
    associations?: Parameters<typeof fresh>[0],
  ) => {
    for (const [actor, status] of Object.entries(statuses) as [Actor, number][]) {
      const r = await request(actor, await fresh(associations));
      assert.equal(r.status, status, `${what} by ${actor}: ${JSON.stringify(r.body)}`);
      if (status === 403) assert.equal(r.body.error.code, "InsufficientPermissions");
      if (status === 404) assert.match(r.body.error.code, /NotFound$/);
    }
  };

  before(async () => {
    s = await startTestServer();
    for (const actor of ["nonMember", "otherITwinMember", "ownITwinMember", "owner"] as Actor[]) {
      tokens[actor] = await s.token(`${actor === "owner" ? "owner" : actor}@example.com`);
    }
    own = await s.createITwin("Own", ["ownITwinMember@example.com"]);
    shared = await s.createITwin("Shared", ["otherITwinMember@example.com"]);
    // Everyone is a member of the target, so only rights over the reality data decide.
    target = await s.createITwin("Target", ["nonMember@example.com", "otherITwinMember@example.com", "ownITwinMember@example.com", "owner@example.com"]);
  });
  after(async () => s.close());

  it("create: only in an iTwin one is a member of", async () => {
    for (const [actor, status] of [["nonMember", 403], ["otherITwinMember", 403], ["ownITwinMember", 201]] as const) {
      const r = await call(actor, "POST", "", { iTwinId: own, displayName: "x", type: "LAS" });
      assert.equal(r.status, status, actor);
    }
  });

  it("update (PATCH) and write access: managers only; read access: every user", async () => {
    const manage = { nonMember: 404, otherITwinMember: 403, ownITwinMember: 200, owner: 200 };
    await expectStatuses("PATCH", manage, (a, id) => call(a, "PATCH", `/${id}`, { displayName: "renamed" }));
    await expectStatuses("writeaccess", manage, (a, id) => call(a, "GET", `/${id}/writeaccess`));
    await expectStatuses("writeaccess through the shared iTwin", manage, (a, id) => call(a, "GET", `/${id}/writeAccess?iTwinId=${a === "otherITwinMember" ? shared : own}`));
    await expectStatuses("readaccess", { nonMember: 404, otherITwinMember: 200, ownITwinMember: 200, owner: 200 }, (a, id) => call(a, "GET", `/${id}/readaccess`));
  });

  it("delete: managers only, and only with at most one association", async () => {
    await expectStatuses("DELETE (two associations)", { nonMember: 404, otherITwinMember: 403, ownITwinMember: 422, owner: 422 }, (a, id) => call(a, "DELETE", `/${id}`));
    await expectStatuses("DELETE (own iTwin only)", { nonMember: 404, otherITwinMember: 404, ownITwinMember: 204, owner: 204 }, (a, id) => call(a, "DELETE", `/${id}`), "own");
    // Taken out of its own iTwin, only its owner still manages it; the shared iTwin's members only use it.
    await expectStatuses("DELETE (shared iTwin only)", { nonMember: 404, otherITwinMember: 403, ownITwinMember: 404, owner: 204 }, (a, id) => call(a, "DELETE", `/${id}`), "shared");
    const kept = await fresh();
    assert.equal((await call("otherITwinMember", "DELETE", `/${kept}/iTwins/${own}`)).status, 403);
    assert.equal((await call("otherITwinMember", "DELETE", `/${kept}`)).status, 403, "no way around it by dissociating first");
    assert.equal((await call("owner", "GET", `/${kept}`)).status, 200, "still there");
  });

  it("associate: managers only (and a member of the target iTwin)", async () => {
    await expectStatuses("associate", { nonMember: 404, otherITwinMember: 403, ownITwinMember: 200, owner: 200 }, (a, id) => call(a, "POST", `/${id}/iTwins/${target}`));
    const id = await fresh();
    const outsider = await s.createITwin("Outsider", []);
    assert.equal((await call("owner", "POST", `/${id}/iTwins/${outsider}`)).status, 404, "target iTwin the caller is not a member of");
  });

  it("dissociate: a member of the iTwin concerned, or a manager", async () => {
    await expectStatuses("dissociate from its own iTwin", { nonMember: 404, otherITwinMember: 403, ownITwinMember: 204, owner: 204 }, (a, id) => call(a, "DELETE", `/${id}/iTwins/${own}`));
    await expectStatuses("dissociate from the shared iTwin", { nonMember: 404, otherITwinMember: 204, ownITwinMember: 204, owner: 204 }, (a, id) => call(a, "DELETE", `/${id}/itwins/${shared}`));
  });

  it("move: managers only; the target becomes its own iTwin", async () => {
    await expectStatuses("move (own iTwin only)", { nonMember: 404, otherITwinMember: 404, ownITwinMember: 204, owner: 204 }, (a, id) => call(a, "PATCH", `/${id}/move`, { iTwinId: target }), "own");
    await expectStatuses("move (two associations)", { nonMember: 404, otherITwinMember: 403, ownITwinMember: 422, owner: 422 }, (a, id) => call(a, "PATCH", `/${id}/move`, { iTwinId: target }));
    const id = await fresh("own");
    assert.equal((await call("ownITwinMember", "PATCH", `/${id}/move`, { iTwinId: target })).status, 204);
    assert.deepEqual((await call("owner", "GET", `/${id}/itwins`)).body.iTwins, [target]);
    assert.equal((await call("otherITwinMember", "PATCH", `/${id}`, { displayName: "mine now" })).status, 200, "the new iTwin's members manage it");
  });
});
