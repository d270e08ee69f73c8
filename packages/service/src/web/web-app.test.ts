/**
 * The web app in Chromium against a real `realconv serve` (child process, one worker): sign in with a
 * `realconv login-link` link, upload by drag and drop, create jobs through the forms, watch their progress,
 * look at the outputs in the 3D and map viewers (screenshots measured: a share of pixels over the background,
 * colours from the data; a georeferenced tileset on the globe, the camera's place and turn read from the page),
 * the jobs list following a long job to its end and cancelling another, a failed job's message, and share
 * links (opened without signing in; a tampered one refused). Screenshots go to packages/service/test-artifacts/web
 * (gitignored).
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ContainerClient } from "@azure/storage-blob";
import type { ChildProcess } from "node:child_process";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { writeLasStream } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { api, CLI_PATH } from "../testing/harness.js";
import { startServe } from "../testing/serve.js";
import { ARTIFACTS, browserUnavailable, launchChromium, screenshotShare, screenshotStats } from "./browser.js";

const run = promisify(execFile);
const EMAIL = "ada@example.com";
const WEB_DIST = resolve(fileURLToPath(import.meta.url), "../../../../web/dist/index.html");
/** The 3D viewer's clear colour and the map's background (packages/web). */
const VIEWER_BG: [number, number, number] = [0x1d, 0x23, 0x2a];
const MAP_BG: [number, number, number] = [0xe4, 0xe9, 0xec];
/** The globe's shaded blue (GLOBE_COLOUR in packages/web) and its graticule's lines over it. */
const globeBlue = (r: number, g: number, b: number) => b > r + 40 && b > g + 15;
/** Behind the data on the globe: the viewer's clear colour or the globe. */
const globeBackground = (r: number, g: number, b: number) =>
  globeBlue(r, g, b) || Math.abs(r - VIEWER_BG[0]) + Math.abs(g - VIEWER_BG[1]) + Math.abs(b - VIEWER_BG[2]) <= 24;
/** Reality Management wants its v1 media type. */
const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
/** The generated LAS of the jobs list's tests: its reprojection takes a few seconds. */
const SLOW_POINTS = 2_500_000;

type Vec = [number, number, number];
const vec = (s: string | null): Vec => {
  const v = (s ?? "").split(",").map(Number);
  assert.equal(v.length, 3, `a vector: ${s}`);
  return v as Vec;
};
const dot = (a: Vec, b: Vec) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const sub = (a: Vec, b: Vec): Vec => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const norm = (a: Vec) => Math.sqrt(dot(a, a));
const unit = (a: Vec): Vec => a.map((c) => c / norm(a)) as Vec;

async function cli(home: string, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI_PATH, ...args, "--home", home], { timeout: 30_000 });
  return stdout.trim();
}

/** Drops local files on the page's drop zone, as a DataTransfer in a `drop` event (what a drag from the desktop gives). */
async function dropFiles(page: Page, files: string[]): Promise<void> {
  const input = await page.evaluateHandle(`(() => {
    const i = document.createElement("input");
    i.type = "file";
    i.multiple = true;
    i.hidden = true;
    document.body.append(i);
    return i;
  })()`);
  await input.asElement()!.setInputFiles(files);
  await page.evaluate((input) => {
    // Runs in the page: browser globals, not this file's Node.js types.
    const g = globalThis as any;
    const dt = new g.DataTransfer();
    for (const f of (input as any).files) dt.items.add(f);
    const zone = g.document.querySelector('[data-testid="dropzone"]');
    zone.dispatchEvent(new g.DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new g.DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    (input as any).remove();
  }, input);
}

describe("web app in Chromium", () => {
  let skip: string | undefined;
  let home: string;
  let child: ChildProcess | undefined;
  let url: string;
  let iTwin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    skip = browserUnavailable();
    if (skip) return;
    assert.ok(existsSync(WEB_DIST), `the web app is not built (${WEB_DIST}); npm run build:web`);
    home = mkdtempSync(join(tmpdir(), "realconv-web-"));
    // Progress is written with each heartbeat (a quarter of the lease): every 1.5 s, so a job of a few seconds shows it rise.
    ({ child, url } = await startServe(home, ["--workers", "1", "--api-processes", "1"], { REALCONV_LEASE_MS: "6000" }));
    iTwin = await cli(home, ["itwins", "create", "--name", "Riverside survey", "--member", EMAIL]);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1100, height: 820 } });
    page = await context.newPage();
    // Generous: CI machines and this suite share their cores with other suites.
    page.setDefaultTimeout(60_000);
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  // The page as each test left it, next to the measured screenshots: what to look at when one fails.
  afterEach(async (t) => {
    if (!page) return;
    const name = t.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60).toLowerCase();
    await page.screenshot({ path: join(ARTIFACTS, `end-${name}.png`), fullPage: true }).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    child?.kill();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** Uploads files by drag and drop on the iTwin's page; returns when the list shows the new reality data. */
  async function upload(files: string[], displayName: string): Promise<void> {
    await page.goto(`${url}/#/itwins/${iTwin}`);
    await page.getByRole("heading", { name: "Reality data" }).waitFor();
    await dropFiles(page, files);
    await page.locator(".upload", { hasText: `Uploaded ${displayName}` }).waitFor();
    assert.equal(await page.locator(".upload progress").getAttribute("value"), "100");
    await page.locator("table[aria-label='Reality data'] tbody tr", { hasText: displayName }).first().waitFor();
  }

  /** Fills the job form for the newest reality data and submits it; returns the job page's URL. */
  async function createJob(type: string, options: Record<string, string>): Promise<void> {
    await page.locator("table[aria-label='Reality data'] tbody tr").first().getByRole("link", { name: "New job…" }).click();
    await page.getByRole("button", { name: "Create job" }).waitFor();
    await page.locator("select[name='type']").selectOption(type);
    for (const [k, v] of Object.entries(options)) {
      const field = page.locator(`[name='option-${k}']`);
      if ((await field.evaluate((e) => (e as { tagName: string }).tagName)) === "SELECT") await field.selectOption(v);
      else await field.fill(v);
    }
    await page.getByRole("button", { name: "Create job" }).click();
    // Either the job page or the service's refusal, whose details then fail the test.
    await Promise.race([page.waitForURL(/#\/jobs\//), page.locator(".error").first().waitFor()]);
    if (!/#\/jobs\//.test(page.url())) assert.fail(`the job was refused: ${await page.locator(".error").first().innerText()}`);
  }

  /** Waits on the job page until the job has ended; returns its final state and the last percentage shown. */
  async function finished(): Promise<{ state: string; percentage: string }> {
    const state = page.getByTestId("job-state");
    await state.getByText(/^(Success|Failed|Cancelled)$/).waitFor({ timeout: 150_000 });
    return { state: (await state.innerText()).trim(), percentage: (await page.getByTestId("progress-value").innerText()).trim() };
  }

  it("signs in with a one-time link; the code leaves the URL and cannot be used twice", async (t) => {
    if (skip) return t.skip(skip);
    const link = (await cli(home, ["login-link", "--email", EMAIL, "--base-url", url])).split("\n").find((l) => l.includes("#/sign-in?code="))!;
    assert.ok(link, "login-link prints a link");
    await page.goto(link);
    await page.getByRole("heading", { name: "Your iTwins" }).waitFor();
    assert.doesNotMatch(page.url(), /code=/);
    const stored = (await page.evaluate(`sessionStorage.getItem("realconv.session")`)) as string;
    assert.match(JSON.parse(stored).accessToken, /^ey/);
    await page.getByRole("link", { name: /Riverside survey/ }).waitFor();

    // The same link again, in a fresh tab without the session: refused with the service's code.
    const other = await context.browser()!.newPage();
    await other.goto(link);
    await other.getByText("Sign-in failed").waitFor();
    assert.match(await other.locator(".error").innerText(), /InvalidSignInCode/);
    await other.close();
  });

  it("uploads a point cloud by drag and drop, converts it, and shows its metadata with a download", async (t) => {
    if (skip) return t.skip(skip);
    await upload([sharedData("pointcloud", "autzen_trim.laz")], "autzen_trim.laz");
    const row = page.locator("table[aria-label='Reality data'] tbody tr").first();
    assert.match(await row.innerText(), /LAZ/);
    await createJob("PointCloudConversion", { outputFormat: "LAS" });
    const end = await finished();
    assert.deepEqual(end, { state: "Success", percentage: "100%" });
    await page.getByTestId("output-link").click();
    const file = page.locator("table[aria-label='Files'] tbody tr", { hasText: "autzen_trim.las" });
    await file.getByText(/110,000 points/).waitFor();
    const href = await file.getByRole("link", { name: "Download" }).getAttribute("href");
    const res = await fetch(href!);
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).subarray(0, 4).toString(), "LASF");
  });

  /** The signed-in tab's token, for the API calls a test makes itself. */
  async function sessionToken(): Promise<string> {
    return JSON.parse((await page.evaluate(`sessionStorage.getItem("realconv.session")`)) as string).accessToken;
  }

  /** The camera as the 3D viewer publishes it (ECEF on the globe): position, the screen's up and right. */
  async function viewerCamera(): Promise<{ position: Vec; up: Vec; right: Vec }> {
    // Published every 250 ms: what is read has settled after the last move.
    await page.waitForTimeout(600);
    const viewer = page.getByTestId("tiles-viewer");
    return {
      position: vec(await viewer.getAttribute("data-camera")),
      up: vec(await viewer.getAttribute("data-camera-up")),
      right: vec(await viewer.getAttribute("data-camera-right")),
    };
  }

  /** autzen_trim.laz converted to `format` through the job form; the output's page open, its 3D viewer loaded. */
  async function tilesetOf(format: string) {
    await page.goto(`${url}/#/itwins/${iTwin}`);
    await page.locator("table[aria-label='Reality data'] tbody tr", { hasText: "autzen_trim.laz" }).getByRole("link", { name: "New job…" }).click();
    await page.getByRole("button", { name: "Create job" }).waitFor();
    await page.locator("select[name='type']").selectOption("PointCloudConversion");
    await page.locator("[name='option-outputFormat']").selectOption(format);
    await page.getByRole("button", { name: "Create job" }).click();
    await Promise.race([page.waitForURL(/#\/jobs\//), page.locator(".error").first().waitFor()]);
    if (!/#\/jobs\//.test(page.url())) assert.fail(`the job was refused: ${await page.locator(".error").first().innerText()}`);
    assert.deepEqual(await finished(), { state: "Success", percentage: "100%" });
    await page.getByTestId("output-link").click();
    await page.waitForURL(/#\/data\//);
    const output = /#\/data\/([^?/]+)/.exec(page.url())![1];
    const viewer = page.getByTestId("tiles-viewer");
    await page.locator("[data-testid='tiles-viewer']:not([data-tiles-loaded='0'])").waitFor({ timeout: 60_000 });
    return { output, viewer };
  }

  it(
    "converts the point cloud to 3DTilesPnts and the 3D viewer shows it on the globe, in the data's colours",
    async (t) => {
      if (skip) return t.skip(skip);
      const { output, viewer } = await tilesetOf("3DTilesPnts");
      // autzen has a CRS: the tileset is in ECEF, and the viewer puts it on the globe.
      assert.equal(await viewer.getAttribute("data-frame"), "globe");
      await page.waitForTimeout(1500);
      const stats = await screenshotStats(viewer, "pointcloud-3dtiles.png", globeBackground);
      assert.ok(stats.foreground > 0.05, `points cover ${(stats.foreground * 100).toFixed(2)} % of the view`);
      // autzen carries RGB: many colours, not the uniform white of points without colours.
      assert.ok(stats.colours > 50, `${stats.colours} colours`);
      assert.ok(stats.mean.some((c) => c < 200), `mean colour ${stats.mean.map(Math.round)}`);

      // Where the data is, from the output's tileset.json (its root transform's translation, ECEF metres).
      const token = await sessionToken();
      const read = await api(url, "GET", `/reality-management/reality-data/${output}/readaccess`, { token, headers: V1 });
      assert.equal(read.status, 200);
      const tileset = JSON.parse((await new ContainerClient(read.body._links.containerUrl.href).getBlobClient("tileset.json").downloadToBuffer()).toString());
      const m: number[] = tileset.root.transform;
      const data: Vec = [m[12], m[13], m[14]];
      assert.ok(norm(data) > 6.3e6, `the tileset is georeferenced (${data})`);
      // The camera, after "fly to the data": in ECEF, some hundreds of metres from the cloud, above it, the
      // local vertical up on the screen and the horizon level (the right of the screen horizontal).
      const near = await viewerCamera();
      const vertical = unit(data);
      const away = norm(sub(near.position, data));
      assert.ok(norm(near.position) > 6.3e6, `the camera is in ECEF (${near.position})`);
      assert.ok(away > 100 && away < 3000, `the camera is ${away.toFixed(0)} m from the data`);
      assert.ok(dot(sub(near.position, data), vertical) > 100, "the camera looks down on the data");
      assert.ok(dot(near.up, vertical) > 0.4, `the screen's up is ${dot(near.up, vertical).toFixed(3)} along the vertical`);
      assert.ok(Math.abs(dot(near.right, vertical)) < 0.02, `the horizon is tilted (${dot(near.right, vertical).toFixed(3)})`);

      // Colour by classification: other colours, the same points.
      await page.getByRole("toolbar", { name: "3D viewer" }).getByRole("combobox").selectOption("classification");
      await page.waitForTimeout(800);
      const classes = await screenshotStats(viewer, "pointcloud-globe-classification.png", globeBackground);
      assert.ok(classes.foreground > 0.05, `classified points cover ${(classes.foreground * 100).toFixed(2)} %`);
      const shift = classes.mean.reduce((s, c, i) => s + Math.abs(c - stats.mean[i]), 0);
      assert.ok(shift > 15, `the mean colour moved by ${shift.toFixed(1)} (${classes.mean.map(Math.round)} from ${stats.mean.map(Math.round)})`);
      // Bigger points cover more of the view.
      await page.getByRole("slider", { name: /Point size/ }).fill("8");
      await page.waitForTimeout(800);
      const bigger = await screenshotStats(viewer, "pointcloud-globe-size8.png", globeBackground);
      assert.ok(bigger.foreground > classes.foreground * 1.1, `size 8: ${(bigger.foreground * 100).toFixed(2)} %, size 3: ${(classes.foreground * 100).toFixed(2)} %`);

      // The keyboard: the arrow keys fly (right: along the screen's right), "-" moves away from the data.
      await viewer.focus();
      await page.keyboard.down("ArrowRight");
      await page.waitForTimeout(400);
      await page.keyboard.up("ArrowRight");
      const flownRight = await viewerCamera();
      // (By frames of at most 64 ms: a browser drawing few frames a second flies slower.)
      const moved = dot(sub(flownRight.position, near.position), near.right);
      const total = norm(sub(flownRight.position, near.position));
      assert.ok(moved > 0.5 && moved > 0.9 * total, `ArrowRight moved the camera ${total.toFixed(2)} m, ${moved.toFixed(2)} m of them to the right`);
      for (let i = 0; i < 4; i++) await page.keyboard.press("-");
      const farther = await viewerCamera();
      const awayNow = norm(sub(farther.position, data));
      assert.ok(awayNow > away * 1.5, `after 4 x "-": ${awayNow.toFixed(0)} m from the data, ${away.toFixed(0)} m before`);

      // The whole Earth: the camera thousands of kilometres out, the globe's blue over much of the view.
      await page.getByRole("button", { name: "Whole globe" }).click();
      const whole = await viewerCamera();
      assert.ok(norm(whole.position) > 1.2e7, `the camera is ${(norm(whole.position) / 1000).toFixed(0)} km from the Earth's centre`);
      assert.ok(dot(unit(whole.position), vertical) > 0.99, "the data is at the centre of the view");
      const blue = await screenshotShare(viewer, "globe-whole.png", globeBlue);
      assert.ok(blue > 0.15, `the globe covers ${(blue * 100).toFixed(1)} % of the view`);
      assert.ok(blue < 0.95, `the globe fills the view (${(blue * 100).toFixed(1)} %): not the whole Earth`);
      // And back, in a narrow window: the whole cloud in a tall view, the page not wider than the window.
      await page.setViewportSize({ width: 380, height: 760 });
      try {
        await page.getByRole("button", { name: "Fly to the data" }).click();
        const back = await viewerCamera();
        assert.ok(norm(sub(back.position, data)) < 4000, `back ${norm(sub(back.position, data)).toFixed(0)} m from the data`);
        const narrow = await screenshotStats(viewer, "pointcloud-globe-narrow.png", globeBackground);
        assert.ok(narrow.foreground > 0.03, `points cover ${(narrow.foreground * 100).toFixed(2)} % of the narrow view`);
        const overflow = (await page.evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`)) as number;
        assert.ok(overflow <= 1, `the viewer's page is ${overflow} px wider than a 380 px window`);
      } finally {
        await page.setViewportSize({ width: 1100, height: 820 });
      }
    },
  );

  it("converts the point cloud to 3DTilesGlbc (implicit tiling, meshopt GLB) and the 3D viewer shows it on the globe", async (t) => {
    if (skip) return t.skip(skip);
    const { output, viewer } = await tilesetOf("3DTilesGlbc");
    assert.equal(await viewer.getAttribute("data-frame"), "globe");
    await page.waitForTimeout(1500);
    const stats = await screenshotStats(viewer, "pointcloud-glbc-globe.png", globeBackground);
    assert.ok(stats.foreground > 0.05, `points cover ${(stats.foreground * 100).toFixed(2)} % of the view`);
    assert.ok(stats.colours > 50, `${stats.colours} colours`);

    // The tileset is 3D Tiles 1.1 with implicit tiling, placed in ECEF; the camera flew to it.
    const token = await sessionToken();
    const read = await api(url, "GET", `/reality-management/reality-data/${output}/readaccess`, { token, headers: V1 });
    const tileset = JSON.parse((await new ContainerClient(read.body._links.containerUrl.href).getBlobClient("tileset.json").downloadToBuffer()).toString());
    assert.equal(tileset.asset.version, "1.1");
    assert.equal(tileset.root.implicitTiling?.subdivisionScheme, "OCTREE");
    const m: number[] = tileset.root.transform;
    const data: Vec = [m[12], m[13], m[14]];
    assert.ok(norm(data) > 6.3e6, `the tileset is georeferenced (${data})`);
    const near = await viewerCamera();
    const away = norm(sub(near.position, data));
    assert.ok(away > 100 && away < 3000, `the camera is ${away.toFixed(0)} m from the data`);
    assert.ok(dot(sub(near.position, data), unit(data)) > 100, "the camera looks down on the data");
  });

  /** A generated LAS of SLOW_POINTS points, uploaded through the API: a reprojection of it runs for seconds. */
  let slowInput: string | undefined;
  async function slowJob(name: string): Promise<string> {
    const token = await sessionToken();
    if (!slowInput) {
      const file = join(home, "generated.las");
      await pipeline(Readable.from(writeLasStream({ schema: SYNTHETIC_SCHEMA, crs: undefined }, () => syntheticCloud(SLOW_POINTS))), createWriteStream(file));
      const rd = await api(url, "POST", "/reality-management/reality-data", {
        token,
        headers: V1,
        body: { iTwinId: iTwin, displayName: "generated.las", type: "LAS", classification: "Model" },
      });
      assert.equal(rd.status, 201, JSON.stringify(rd.body));
      const w = await api(url, "GET", `/reality-management/reality-data/${rd.body.realityData.id}/writeaccess`, { token, headers: V1 });
      await new ContainerClient(w.body._links.containerUrl.href).getBlockBlobClient("generated.las").uploadFile(file, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
      slowInput = rd.body.realityData.id as string;
    }
    const options = { outputFormat: "LAS", inputCrs: "EPSG:32631", outputCrs: "EPSG:4326" };
    const r = await api(url, "POST", "/reality-conversion/jobs", {
      token,
      body: { iTwinId: iTwin, name, type: "PointCloudConversion", specifications: { inputs: { pointCloud: slowInput }, options } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.job.id as string;
  }

  /** Records, in the page, what a job's row of the jobs list shows every 100 ms. */
  async function watchRow(id: string): Promise<void> {
    await page.evaluate(`(() => {
      window.__realconvSeen = [];
      setInterval(() => {
        const row = document.querySelector('table[aria-label="Jobs"] tr[data-id="${id}"]');
        if (!row) return;
        const bar = row.querySelector("progress");
        window.__realconvSeen.push({ state: row.querySelector(".state")?.textContent, value: bar ? Number(bar.getAttribute("value")) : null, text: row.children[3].textContent });
      }, 100);
    })()`);
  }
  const seen = async () => (await page.evaluate(`window.__realconvSeen`)) as { state: string; value: number | null; text: string }[];

  it("the jobs list shows a running job's progress rising without a reload, to 100 % and Success", async (t) => {
    if (skip) return t.skip(skip);
    const id = await slowJob("Reprojection followed");
    await page.goto(`${url}/#/itwins/${iTwin}/jobs`);
    const row = page.locator(`table[aria-label='Jobs'] tr[data-id='${id}']`);
    await row.waitFor();
    await watchRow(id);
    await row.locator(".state", { hasText: /^(Success|Failed|Cancelled)$/ }).waitFor({ timeout: 150_000 });
    assert.equal((await row.locator(".state").innerText()).trim(), "Success");
    assert.match(await row.innerText(), /100%/);
    // The recorder set up after the list loaded is still there: the page was not reloaded.
    const values = await seen();
    const running = values.filter((v) => v.value !== null && v.value > 0 && v.value < 100).map((v) => v.value!);
    const distinct = [...new Set(running)];
    assert.ok(distinct.length >= 2, `progress values shown while running: ${distinct.join(", ")} (${values.length} samples)`);
    for (let i = 1; i < running.length; i++) assert.ok(running[i] >= running[i - 1], `progress went back: ${running.join(", ")}`);
    assert.ok(values.some((v) => v.state === "Active"), "the row showed the job Active");
  });

  it("cancels a running job from the jobs list: it ends Cancelled, in the list and through the API", async (t) => {
    if (skip) return t.skip(skip);
    const id = await slowJob("Reprojection cancelled");
    // To the list from the job's page (the list is where the previous test left the page).
    await page.goto(`${url}/#/jobs/${id}`);
    await page.locator(".crumbs").getByRole("link", { name: "Jobs" }).click();
    const row = page.locator(`table[aria-label='Jobs'] tr[data-id='${id}']`);
    await row.waitFor();
    // Caught running: Active, its progress above 0.
    await row.locator(".state", { hasText: /^Active$/ }).waitFor({ timeout: 60_000 });
    const start = Date.now();
    while (Number((await row.locator("progress").getAttribute("value").catch(() => "0")) ?? 0) <= 0) {
      assert.ok(Date.now() - start < 60_000, "the job's progress stayed at 0 for a minute");
      await page.waitForTimeout(100);
    }
    await row.getByRole("button", { name: "Cancel" }).click();
    await row.locator(".state", { hasText: /^(Success|Failed|Cancelled)$/ }).waitFor({ timeout: 30_000 });
    assert.equal((await row.locator(".state").innerText()).trim(), "Cancelled");
    assert.equal(await row.getByRole("button", { name: "Cancel" }).count(), 0);
    const token = await sessionToken();
    const progress = await api(url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
    assert.equal(progress.body.progress.state, "Cancelled");
    const job = await api(url, "GET", `/reality-conversion/jobs/${id}`, { token });
    assert.equal(job.body.job.state, "Cancelled");
    // Its own page says so too.
    await page.goto(`${url}/#/jobs/${id}`);
    assert.equal((await finished()).state, "Cancelled");
  });

  it("tiles a ContextScene's cameras and the 3D viewer draws them; a share link opens them without signing in", async (t) => {
    if (skip) return t.skip(skip);
    await upload([sharedData("contextscene", "OrientedPhotos/ContextScene.xml")], "ContextScene.xml");
    await createJob("ContextSceneTiler", { objectToTile: "Cameras" });
    assert.deepEqual(await finished(), { state: "Success", percentage: "100%" });
    await page.getByTestId("output-link").click();
    const viewer = page.getByTestId("tiles-viewer");
    await page.locator("[data-testid='tiles-viewer']:not([data-tiles-loaded='0'])").waitFor({ timeout: 60_000 });
    // Local coordinates: not on the globe.
    assert.equal(await viewer.getAttribute("data-frame"), "local");
    await page.waitForTimeout(1000);
    const stats = await screenshotStats(viewer, "context-scene-cameras.png", VIEWER_BG);
    assert.ok(stats.foreground > 0.002, `cameras cover ${(stats.foreground * 100).toFixed(3)} % of the view`);

    await page.getByRole("button", { name: "Share a read-only link…" }).click();
    const shareUrl = await page.getByTestId("share-url").inputValue();
    assert.match(shareUrl, /#\/share\//);

    // A new browser context: no session storage, no token.
    const anonymous = await browser.newContext({ viewport: { width: 900, height: 700 } });
    try {
      const shared = await anonymous.newPage();
      await shared.goto(shareUrl);
      await shared.locator("[data-testid='tiles-viewer']:not([data-tiles-loaded='0'])").waitFor({ timeout: 60_000 });
      assert.equal(await shared.evaluate(`sessionStorage.getItem("realconv.session")`), null);
      await shared.waitForTimeout(1000);
      const sharedStats = await screenshotStats(shared.getByTestId("tiles-viewer"), "shared-cameras.png", VIEWER_BG);
      assert.ok(sharedStats.foreground > 0.002, `shared view: ${(sharedStats.foreground * 100).toFixed(3)} %`);

      // One character of the token changed: refused, nothing shown.
      const token = shareUrl.split("#/share/")[1];
      const i = Math.floor(token.length / 2);
      const bad = `${shareUrl.split("#/share/")[0]}#/share/${token.slice(0, i)}${token[i] === "A" ? "B" : "A"}${token.slice(i + 1)}`;
      const refused = await anonymous.newPage();
      await refused.goto(bad);
      await refused.getByText("This link cannot be opened").waitFor();
      assert.match(await refused.locator(".error").innerText(), /InvalidShareLink/);
      assert.equal(await refused.getByTestId("tiles-viewer").count(), 0);
    } finally {
      await anonymous.close();
    }
  });

  it("a failed job shows its message", async (t) => {
    if (skip) return t.skip(skip);
    await upload([sharedData("contextscene", "MeshScene/ContextScene.xml")], "ContextScene.xml");
    await createJob("ContextSceneTiler", {});
    assert.equal((await finished()).state, "Failed");
    const message = page.getByTestId("job-error").first();
    await message.waitFor();
    assert.match(await message.innerText(), /ContextScene\.xml/);
  });

  it("tiles a raster into an XYZ map and the map viewer shows it", async (t) => {
    if (skip) return t.skip(skip);
    await upload([sharedData("raster", "cogeo.tif")], "cogeo.tif");
    await createJob("TileMapOptimization", { outputFormat: "XYZTileMap", imageFormat: "PNG" });
    assert.deepEqual(await finished(), { state: "Success", percentage: "100%" });
    await page.getByTestId("output-link").click();
    const map = page.getByTestId("map-viewer");
    await page.locator("[data-testid='map-viewer'][data-idle='true']").waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1500);
    const stats = await screenshotStats(map, "tile-map.png", MAP_BG);
    assert.ok(stats.foreground > 0.1, `the tiles cover ${(stats.foreground * 100).toFixed(1)} % of the map`);
    assert.ok(stats.colours > 20, `${stats.colours} colours`);
  });

  it("consolidates vectors to GeoJSON (drawn in the map viewer) and to FeatureDB (queried by the map's view)", async (t) => {
    if (skip) return t.skip(skip);
    await upload([sharedData("vector", "grenada.geojson")], "grenada.geojson");
    await createJob("VectorOptimization", { outputFormat: "GeoJSON" });
    assert.deepEqual(await finished(), { state: "Success", percentage: "100%" });
    await page.getByTestId("output-link").click();
    await page.locator("[data-testid='map-viewer'][data-idle='true']").waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000);
    const stats = await screenshotStats(page.getByTestId("map-viewer"), "geojson.png", MAP_BG);
    assert.ok(stats.foreground > 0.02, `the features cover ${(stats.foreground * 100).toFixed(2)} % of the map`);

    await page.goto(`${url}/#/itwins/${iTwin}`);
    await page.locator("table[aria-label='Reality data'] tbody tr", { hasText: "grenada.geojson" }).getByRole("link", { name: "New job…" }).click();
    await page.getByRole("button", { name: "Create job" }).waitFor();
    await page.locator("select[name='type']").selectOption("VectorOptimization");
    await page.locator("[name='option-outputFormat']").selectOption("FeatureDB");
    await page.getByRole("button", { name: "Create job" }).click();
    await page.waitForURL(/#\/jobs\//);
    assert.deepEqual(await finished(), { state: "Success", percentage: "100%" });
    await page.getByTestId("output-link").click();
    await page.locator("[data-testid='feature-viewer']:not([data-features='0'])").waitFor({ timeout: 60_000 });
    assert.match(await page.getByRole("status").filter({ hasText: "features in view" }).innerText(), /^\d+ features in view of \d+ matching/);
    assert.ok((await page.locator("table[aria-label='Features'] tbody tr").count()) > 0);
  });

  it("lists the jobs with filters built into $filter, and the page threw no error", async (t) => {
    if (skip) return t.skip(skip);
    await page.goto(`${url}/#/itwins/${iTwin}/jobs`);
    const rows = page.locator("table[aria-label='Jobs'] tbody tr");
    await rows.first().waitFor();
    const all = await rows.count();
    assert.ok(all >= 4, `${all} jobs listed`);
    await page.locator("select[name='state']").selectOption("Failed");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByTestId("filter").getByText(`$filter=iTwinId eq ${iTwin} and state eq 'Failed'`).waitFor();
    await page.waitForFunction(`document.querySelectorAll("table[aria-label='Jobs'] tbody tr").length === 1`);
    assert.match(await rows.first().innerText(), /Failed/);

    // Name (quotes doubled) and creation dates: the service takes the filter, nothing matches.
    await page.locator("select[name='state']").selectOption("");
    await page.locator("input[name='name']").fill("Bob's scan");
    await page.locator("input[name='from']").fill("2020-01-02T03:04");
    await page.getByRole("button", { name: "Filter" }).click();
    const filter = page.getByTestId("filter");
    await filter.getByText("name eq 'Bob''s scan'").waitFor();
    assert.match(await filter.innerText(), /createdDateTime ge 2020-01-0[12]T\d\d:04:00\.000Z/);
    await page.getByText("No job matches.").waitFor();
    assert.equal(await page.locator(".error").count(), 0);

    // A narrow window: the page reflows instead of scrolling sideways, and every control stays reachable by Tab.
    await page.setViewportSize({ width: 380, height: 760 });
    await page.goto(`${url}/#/itwins/${iTwin}`);
    await page.locator("table[aria-label='Reality data'] tbody tr").first().waitFor();
    const overflow = (await page.evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`)) as number;
    assert.ok(overflow <= 1, `the page is ${overflow} px wider than a 380 px window`);
    await page.goto(`${url}/#/itwins/${iTwin}/jobs/new`);
    await page.getByRole("button", { name: "Create job" }).waitFor();
    const formOverflow = (await page.evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`)) as number;
    assert.ok(formOverflow <= 1, `the job form is ${formOverflow} px wider than a 380 px window`);
    await page.goto(`${url}/#/itwins/${iTwin}`);
    await page.locator("table[aria-label='Reality data'] tbody tr").first().waitFor();
    const focused = new Set<string>();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      focused.add((await page.evaluate(`document.activeElement?.textContent?.trim() || document.activeElement?.tagName`)) as string);
    }
    assert.ok(focused.has("Choose files…"), `Tab reaches the upload buttons (${[...focused].join(", ")})`);
    assert.deepEqual(pageErrors, []);
  });
});
