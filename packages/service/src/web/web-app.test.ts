/**
 * The web app in Chromium against a real `realconv serve` (child process, one worker): sign in with a
 * `realconv login-link` link, upload by drag and drop, create jobs through the forms, watch their progress,
 * look at the outputs in the 3D and map viewers (screenshots measured: a share of pixels over the background,
 * colours from the data), a failed job's message, and share links (opened without signing in; a tampered one
 * refused). Screenshots go to packages/service/test-artifacts/web (gitignored).
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ChildProcess } from "node:child_process";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { CLI_PATH } from "../testing/harness.js";
import { startServe } from "../testing/serve.js";
import { ARTIFACTS, browserUnavailable, launchChromium, screenshotStats } from "./browser.js";

const run = promisify(execFile);
const EMAIL = "ada@example.com";
const WEB_DIST = resolve(fileURLToPath(import.meta.url), "../../../../web/dist/index.html");
/** The 3D viewer's clear colour and the map's background (packages/web). */
const VIEWER_BG: [number, number, number] = [0x1d, 0x23, 0x2a];
const MAP_BG: [number, number, number] = [0xe4, 0xe9, 0xec];

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
    ({ child, url } = await startServe(home, ["--workers", "1", "--api-processes", "1"]));
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

  it(
    "converts the point cloud to 3DTilesPnts and the 3D viewer shows it in the data's colours",
    async (t) => {
      if (skip) return t.skip(skip);
      await page.goto(`${url}/#/itwins/${iTwin}`);
      await page.locator("table[aria-label='Reality data'] tbody tr", { hasText: "autzen_trim.laz" }).getByRole("link", { name: "New job…" }).click();
      await page.getByRole("button", { name: "Create job" }).waitFor();
      await page.locator("select[name='type']").selectOption("PointCloudConversion");
      await page.locator("[name='option-outputFormat']").selectOption("3DTilesPnts");
      await page.getByRole("button", { name: "Create job" }).click();
      await Promise.race([page.waitForURL(/#\/jobs\//), page.locator(".error").first().waitFor()]);
      if (!/#\/jobs\//.test(page.url())) assert.fail(`the job was refused: ${await page.locator(".error").first().innerText()}`);
      assert.deepEqual(await finished(), { state: "Success", percentage: "100%" });
      await page.getByTestId("output-link").click();
      const viewer = page.getByTestId("tiles-viewer");
      await page.locator("[data-testid='tiles-viewer']:not([data-tiles-loaded='0'])").waitFor({ timeout: 60_000 });
      await page.waitForTimeout(1500);
      const stats = await screenshotStats(viewer, "pointcloud-3dtiles.png", VIEWER_BG);
      assert.ok(stats.foreground > 0.05, `points cover ${(stats.foreground * 100).toFixed(2)} % of the view`);
      // autzen carries RGB: many colours, not the uniform white of points without colours.
      assert.ok(stats.colours > 50, `${stats.colours} colours`);
      assert.ok(stats.mean.some((c) => c < 200), `mean colour ${stats.mean.map(Math.round)}`);
    },
  );

  it("tiles a ContextScene's cameras and the 3D viewer draws them; a share link opens them without signing in", async (t) => {
    if (skip) return t.skip(skip);
    await upload([sharedData("contextscene", "OrientedPhotos/ContextScene.xml")], "ContextScene.xml");
    await createJob("ContextSceneTiler", { objectToTile: "Cameras" });
    assert.deepEqual(await finished(), { state: "Success", percentage: "100%" });
    await page.getByTestId("output-link").click();
    const viewer = page.getByTestId("tiles-viewer");
    await page.locator("[data-testid='tiles-viewer']:not([data-tiles-loaded='0'])").waitFor({ timeout: 60_000 });
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
