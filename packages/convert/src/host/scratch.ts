/**
 * Scratch folders for runs. Each process keeps its runs under `<root>/<pid>-<random>/`; a run's folder is
 * removed when the run ends, whatever its end, and a starting host sweeps the folders of processes that
 * are gone (a worker killed mid-run leaves its temporary files behind).
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ScratchSpace } from "../contract/runner.js";

export interface OwnedScratch extends ScratchSpace {
  /** Removes the folder and everything in it. */
  dispose(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes what processes that no longer run left under `root`; returns the folders removed. */
export async function sweepScratch(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /^(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** A fresh folder for one run under `root`. */
export async function createScratch(root: string, budgetBytes: number): Promise<OwnedScratch> {
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, `${process.pid}-`));
  return { dir, budgetBytes, dispose: () => rm(dir, { recursive: true, force: true }) };
}
