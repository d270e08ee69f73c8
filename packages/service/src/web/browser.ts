/**
 * Test-only: Debian's Chromium driven by playwright-core (no browser download), headless with WebGL on
 * SwiftShader, and what the browser tests measure in screenshots.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { Browser, Locator } from "playwright-core";

export const CHROMIUM = process.env.REALCONV_CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots are kept after a run (gitignored): `packages/service/test-artifacts/web`. */
export const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../test-artifacts/web");

/** Undefined when Chromium is there; else the reason, for `t.skip()` (CI sets REALCONV_REQUIRE_BROWSER=1 to fail instead). */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env.REALCONV_REQUIRE_BROWSER === "1") throw new Error(why);
  return why;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives every launch a fresh profile directory of its own.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-gl=angle",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
    ],
  });
}

export interface PixelStats {
  /** Share of pixels farther than the threshold from the background colour. */
  foreground: number;
  /** Distinct colours among them, each channel quantised to 16 levels. */
  colours: number;
  /** Mean colour of the foreground pixels. */
  mean: [number, number, number];
}

/**
 * Screenshots an element into the artefacts folder and measures what is drawn over the background: a colour
 * (pixels within 24 of it, summed over the channels), or a test of the background's pixels.
 */
export async function screenshotStats(
  element: Locator,
  name: string,
  background: [number, number, number] | ((r: number, g: number, b: number) => boolean),
): Promise<PixelStats> {
  const png = await element.screenshot();
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, name), png);
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let fg = 0;
  const sum = [0, 0, 0];
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += info.channels) {
    const r = data[i], g = data[i + 1], b = data[i + 2];
    if (typeof background === "function" ? background(r, g, b) : Math.abs(r - background[0]) + Math.abs(g - background[1]) + Math.abs(b - background[2]) <= 24) continue;
    fg++;
    sum[0] += r;
    sum[1] += g;
    sum[2] += b;
    colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
  }
  const total = info.width * info.height;
  return { foreground: fg / total, colours: colours.size, mean: fg ? [sum[0] / fg, sum[1] / fg, sum[2] / fg] : [0, 0, 0] };
}

/** Screenshots an element into the artefacts folder; the share of its pixels that `test` accepts. */
export async function screenshotShare(element: Locator, name: string, test: (r: number, g: number, b: number) => boolean): Promise<number> {
  const png = await element.screenshot();
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, name), png);
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (test(data[i], data[i + 1], data[i + 2])) n++;
  return n / (info.width * info.height);
}
