/**
 * `realconv convert --work-dir`: the real binary killed (SIGKILL) in the middle of the chunk phase of a
 * 3DTilesGlbc conversion, then run again with the same command, resumes from the chunks it had finished
 * and writes the bytes of an uninterrupted run; the work folder is removed on success, and a folder holding
 * other files is refused rather than cleared.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { writeLasStream } from "@realconv/formats";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { CLI_PATH } from "../testing/harness.js";

/** A small budget: many chunks, so the chunk phase lasts long enough to be interrupted. */
// Two threads: chunks finish concurrently, and so do their records in the work folder.
const ENV = { REALCONV_DATABASE_URL: "", REALCONV_MEMORY_MB: "64", REALCONV_THREADS: "2" };

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** The binary as a child process with a time limit; `killWhen` is polled and SIGKILLs it once true. */
function convert(args: string[], killWhen?: () => boolean, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, "convert", ...args], { env: { ...process.env, ...ENV }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const poll = killWhen
      ? setInterval(() => {
          if (killWhen()) child.kill("SIGKILL");
        }, 20)
      : undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`realconv convert ${args.join(" ")} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ code, signal, out, err });
    });
  });
}

/** sha256 of every file under `dir`, by relative path. */
function digest(dir: string): Map<string, string> {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
  const out = new Map<string, string>();
  for (const f of files) {
    const p = join(dir, f);
    try {
      out.set(f, createHash("sha256").update(readFileSync(p)).digest("hex"));
    } catch {
      // a folder
    }
  }
  return out;
}

/** Chunks recorded finished in the work folder's state. */
function finishedChunks(workDir: string): number {
  try {
    const state = JSON.parse(readFileSync(join(workDir, "run.json"), "utf8")) as { parts: Record<string, unknown> };
    return Object.keys(state.parts).filter((id) => id.includes("chunk")).length;
  } catch {
    return 0;
  }
}

it("a conversion killed mid chunk phase resumes from its work folder with the same bytes", { timeout: 420_000 }, async () => {
  const home = mkdtempSync(join(tmpdir(), "realconv-convert-resume-"));
  try {
    const input = join(home, "big.las");
    await pipeline(Readable.from(writeLasStream({ schema: SYNTHETIC_SCHEMA }, () => syntheticCloud(1_500_000))), createWriteStream(input));

    const reference = join(home, "reference");
    const whole = await convert(["PointCloudConversion", input, "-f", "3DTilesGlbc", "-o", reference]);
    assert.equal(whole.code, 0, whole.err);

    const workDir = join(home, "work");
    const out = join(home, "out");
    const args = ["PointCloudConversion", input, "-f", "3DTilesGlbc", "-o", out, "--work-dir", workDir];
    const killed = await convert(args, () => finishedChunks(workDir) >= 2);
    assert.equal(killed.signal, "SIGKILL", `the run ended before it could be killed: ${killed.err}`);
    const before = finishedChunks(workDir);
    assert.ok(before >= 2, "finished chunks are recorded in the work folder");

    let most = 0;
    const resumed = await convert(args, () => ((most = Math.max(most, finishedChunks(workDir))), false));
    assert.equal(resumed.code, 0, resumed.err);
    const m = /resuming from (\d+) finished part\(s\)/.exec(resumed.out);
    assert.ok(m, `the second run says it resumes: ${resumed.out}`);
    assert.ok(Number(m[1]) >= before, "every part finished before the kill is reused (the distribution and the chunks)");
    assert.ok(most > before, `chunks were left to build after the kill (${before} before it, ${most} seen after)`);
    assert.ok(!existsSync(workDir), "the work folder is removed on success");
    assert.deepEqual(digest(out), digest(reference), "the resumed run wrote the bytes of an uninterrupted one");

    // State left by a run of other options is not resumed: the folder is cleared and the run starts afresh.
    const killedAgain = await convert(args, () => finishedChunks(workDir) >= 1);
    assert.equal(killedAgain.signal, "SIGKILL", killedAgain.err);
    const other = await convert(["PointCloudConversion", input, "-f", "3DTilesPnts", "-o", join(home, "pnts"), "--work-dir", workDir]);
    assert.equal(other.code, 0, other.err);
    assert.ok(!/resuming/.test(other.out), `another format does not take the parts of the first: ${other.out}`);
    assert.ok(!existsSync(workDir));

    // A folder with the user's own files is never cleared.
    const busy = join(home, "busy");
    mkdirSync(busy);
    writeFileSync(join(busy, "mine.txt"), "keep me");
    const refused = await convert(["PointCloudConversion", input, "-f", "3DTilesGlbc", "-o", join(home, "third"), "--work-dir", busy]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /holds other files \(mine\.txt\)/);
    assert.equal(readFileSync(join(busy, "mine.txt"), "utf8"), "keep me");
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
